import { qualifiedFromList } from '../ast';
import { defineRule } from '../rule-helpers';

/** BC408: ADD VALUE without BEFORE/AFTER appends, which changes what ORDER BY and < mean if order matters. */
export const enumValueUnordered = defineRule({
  id: 'BC408',
  name: 'enum-value-unordered',
  on: ['AlterEnumStmt'],
  severity: 'careful',
  lock: 'catalog only',
  blocks: 'nothing',
  rewrites: 'none',
  fix: "ALTER TYPE <enum> ADD VALUE '<v>' BEFORE|AFTER '<existing>';  (if the order does not matter, suppress with a reason)",
  check(ctx) {
    if (ctx.stmt.nodeType !== 'AlterEnumStmt' || ctx.node.oldVal || ctx.node.newValNeighbor) return [];
    return [{ message: `ALTER TYPE ${qualifiedFromList(ctx.node.typeName)} ADD VALUE '${ctx.node.newVal as string}' without BEFORE/AFTER appends it at the end of the sort order` }];
  },
});
