import { typeText } from '../ast';
import { columnsAddedToExistingTable, defineRule } from '../rule-helpers';

/** LK205: a column of a domain with constraints is checked against every existing row. */
export const addColumnConstrainedDomain = defineRule({
  id: 'LK205',
  name: 'add-column-constrained-domain',
  on: ['AlterTableStmt'],
  severity: 'dangerous',
  lock: 'ACCESS EXCLUSIVE for a table rewrite and constraint check',
  blocks: 'everything, including SELECT, for the whole rewrite',
  rewrites: 'rewrite',
  sizeSensitive: 'duration',
  fix: 'Add the column with the base type, backfill, then add a CHECK ... NOT VALID and VALIDATE it in a later migration',
  check(ctx) {
    return columnsAddedToExistingTable(ctx).flatMap((col) => {
      const name = col.type?.name ?? '';
      const key = name.includes('.') ? name : `public.${name}`;
      if (!ctx.schema.domains.get(key)?.constrained) return [];
      return [{ table: col.table, message: `ADD COLUMN ${col.name} ${typeText(col.type)}: the domain has constraints, so ${col.table} is rewritten and checked` }];
    });
  },
});
