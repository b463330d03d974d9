import { typeText } from '../ast';
import { coercibleReason, columnTypeChanges, defineRule } from '../rule-helpers';

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
    return columnTypeChanges(ctx).flatMap(({ column, def, to, from }) => {
      const reason = !def.raw_default && !def.collClause && to ? coercibleReason(from, to) : undefined;
      if (!reason) return [];
      return [{ message: `ALTER COLUMN ${column} TYPE ${typeText(to)}: ${reason}, binary-coercible, no rewrite` }];
    });
  },
});
