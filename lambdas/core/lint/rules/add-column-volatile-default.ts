import { columnsAddedToExistingTable, constraintOf, defineRule, quoteIdent, sqlName, volatileCalls } from '../rule-helpers';

/** LK201: a volatile DEFAULT is evaluated per row, so PostgreSQL rewrites the table under ACCESS EXCLUSIVE. */
export const addColumnVolatileDefault = defineRule({
  id: 'LK201',
  name: 'add-column-volatile-default',
  on: ['AlterTableStmt'],
  severity: 'dangerous',
  lock: 'ACCESS EXCLUSIVE for a table and index rewrite',
  blocks: 'everything, including SELECT, for the whole rewrite',
  rewrites: 'rewrite',
  sizeSensitive: 'duration',
  fix: 'Add the column without a default (or with a constant one), SET DEFAULT in a later statement for new rows, and backfill existing rows in batches (backfill.json)',
  check(ctx) {
    if (ctx.target.major < 11) return []; // add-column-default-pre-pg11 covers every default there
    return columnsAddedToExistingTable(ctx).flatMap((col) => {
      const def = constraintOf(col, 'CONSTR_DEFAULT');
      const calls = def ? volatileCalls(def.raw_expr) : [];
      if (!calls.length) return [];
      return [{
        table: col.table,
        message: `ADD COLUMN ${col.name} with volatile DEFAULT ${calls[0]}() rewrites ${col.table} (every row gets its own value)`,
        fix: `ALTER TABLE ${sqlName(col.table)} ADD COLUMN ${quoteIdent(col.name)} <type>; ALTER TABLE ${sqlName(col.table)} ALTER COLUMN ${quoteIdent(col.name)} SET DEFAULT ${calls[0]}(); then backfill existing rows in batches`,
      }];
    });
  },
});
