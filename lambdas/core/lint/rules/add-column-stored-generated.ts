import { columnsAddedToExistingTable, constraintOf, defineRule } from '../rule-helpers';

/** LK204: a STORED generated column is computed and written for every row; VIRTUAL (PG 18+) is not. */
export const addColumnStoredGenerated = defineRule({
  id: 'LK204',
  name: 'add-column-stored-generated',
  on: ['AlterTableStmt'],
  severity: 'dangerous',
  lock: 'ACCESS EXCLUSIVE for a table rewrite',
  blocks: 'everything, including SELECT, for the whole rewrite',
  rewrites: 'rewrite',
  sizeSensitive: 'duration',
  fix: 'On PostgreSQL 18+ use a VIRTUAL generated column; otherwise add a plain column, keep it filled with a trigger, backfill in batches',
  check(ctx) {
    return columnsAddedToExistingTable(ctx).flatMap((col) => {
      const gen = constraintOf(col, 'CONSTR_GENERATED');
      if (!gen) return [];
      const virtual = gen.generated_kind === 'v';
      if (virtual && ctx.target.major >= 18) return [];
      const why = virtual ? `VIRTUAL generated columns need PostgreSQL 18 (target ${ctx.target.major})` : 'a STORED generated column is computed for every row';
      return [{ table: col.table, message: `ADD COLUMN ${col.name} GENERATED on ${col.table}: ${why} (rewrite)` }];
    });
  },
});
