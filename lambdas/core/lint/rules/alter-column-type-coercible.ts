import { typeRef, typeText, unwrap, type Node } from '../ast';
import { alterTableOf, coercibleReason, defineRule } from '../rule-helpers';

/** LK207: a binary-coercible type change (known from the replayed schema) is a catalog update. */
export const alterColumnTypeCoercible = defineRule({
  id: 'LK207',
  name: 'alter-column-type-coercible',
  on: ['AlterTableStmt'],
  severity: 'safe',
  lock: 'ACCESS EXCLUSIVE, brief (catalog only)',
  blocks: 'everything for a moment (runs under lock_timeout)',
  rewrites: 'none',
  fix: 'Nothing to change: no rewrite, no scan',
  check(ctx) {
    const at = alterTableOf(ctx);
    if (!at || ctx.isNewTable(at.table)) return [];
    return at.cmds.filter((c) => c.subtype === 'AT_AlterColumnType').flatMap((cmd) => {
      const column = cmd.name as string;
      const def = unwrap(cmd.def, 'ColumnDef') as Node;
      const to = typeRef(def.typeName);
      const from = ctx.table(at.table)?.columns.get(column)?.type;
      const reason = !def.raw_default && !def.collClause && to ? coercibleReason(from, to) : undefined;
      if (!reason) return [];
      return [{ message: `ALTER COLUMN ${column} TYPE ${typeText(to)}: ${reason}, binary-coercible, no rewrite` }];
    });
  },
});
