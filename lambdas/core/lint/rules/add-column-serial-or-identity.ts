import { columnsAddedToExistingTable, constraintOf, defineRule, isSerial } from '../rule-helpers';

/** LK203: serial and identity columns fill every existing row from a sequence: a rewrite. */
export const addColumnSerialOrIdentity = defineRule({
  id: 'LK203',
  name: 'add-column-serial-or-identity',
  on: ['AlterTableStmt'],
  severity: 'dangerous',
  lock: 'ACCESS EXCLUSIVE for a table rewrite',
  blocks: 'everything, including SELECT, for the whole rewrite',
  rewrites: 'rewrite',
  sizeSensitive: 'duration',
  fix: 'Add a plain bigint column, create the sequence, SET DEFAULT nextval(...) for new rows, backfill existing rows in batches',
  check(ctx) {
    return columnsAddedToExistingTable(ctx).flatMap((col) => {
      const identity = constraintOf(col, 'CONSTR_IDENTITY');
      if (!identity && !isSerial(col.type)) return [];
      const what = identity ? 'GENERATED ... AS IDENTITY' : col.type?.name;
      return [{ table: col.table, message: `ADD COLUMN ${col.name} ${what} fills every existing row of ${col.table} from a sequence (rewrite)` }];
    });
  },
});
