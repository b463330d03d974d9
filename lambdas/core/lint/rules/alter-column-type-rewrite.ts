import { typeText } from '../ast';
import { coercibleReason, columnTypeChanges, defineRule } from '../rule-helpers';

/** LK206: a type change that is not provably binary-coercible rewrites the table and its indexes. */
export const alterColumnTypeRewrite = defineRule({
  id: 'LK206',
  name: 'alter-column-type-rewrite',
  on: ['AlterTableStmt'],
  severity: 'dangerous',
  lock: 'ACCESS EXCLUSIVE for a table and index rewrite',
  blocks: 'everything, including SELECT, for the whole rewrite',
  rewrites: 'rewrite',
  sizeSensitive: 'duration',
  fix: 'Expand and contract: add a new column of the new type, dual-write (trigger), backfill in batches, switch reads, drop the old column later',
  check(ctx) {
    return columnTypeChanges(ctx).flatMap(({ table, column, def, to, from }) => {
      let why: string | undefined;
      if (def.raw_default) why = 'a USING expression forces a rewrite';
      else if (def.collClause) why = 'a collation change rebuilds the indexes on the column (and is not provably safe)';
      else if (!from) why = `the old type of ${column} is unknown to the migration history`;
      else if (to && isTimeZoneChange(from.name, to.name)) why = `${from.name} to ${to.name} rewrites unless the session TimeZone is UTC (PostgreSQL 12+), which a migration cannot promise`;
      else if (to && !coercibleReason(from, to)) why = `${typeText(from)} to ${typeText(to)} is not binary-coercible`;
      if (!why) return [];
      return [{ table, message: `ALTER COLUMN ${column} TYPE ${typeText(to)} rewrites ${table}: ${why}` }];
    });
  },
});

function isTimeZoneChange(from: string, to: string): boolean {
  return (from === 'timestamp' && to === 'timestamptz') || (from === 'timestamptz' && to === 'timestamp');
}
