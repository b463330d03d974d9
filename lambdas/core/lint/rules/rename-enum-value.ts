import { qualifiedFromList } from '../ast';
import { defineRule } from '../rule-helpers';

/** BC407: renaming an enum value breaks clients that send or compare the old value. */
export const renameEnumValue = defineRule({
  id: 'BC407',
  name: 'rename-enum-value',
  on: ['AlterEnumStmt'],
  severity: 'careful',
  lock: 'catalog only',
  blocks: 'nothing; clients sending the old value fail',
  rewrites: 'none',
  fix: 'Add the new value, migrate rows and code to it, stop using the old one (enum values cannot be dropped)',
  check(ctx) {
    if (ctx.stmt.nodeType !== 'AlterEnumStmt' || !ctx.node.oldVal) return [];
    return [{ message: `ALTER TYPE ${qualifiedFromList(ctx.node.typeName)} RENAME VALUE '${ctx.node.oldVal as string}': clients using the old value break` }];
  },
});
