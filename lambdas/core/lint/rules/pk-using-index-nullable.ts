import { unwrap } from '../ast';
import { alterTableOf, defineRule, notNullRecipe } from '../rule-helpers';

/** LK308: PRIMARY KEY USING INDEX implies SET NOT NULL on its columns: a full scan unless proven. */
export const pkUsingIndexNullable = defineRule({
  id: 'LK308',
  name: 'pk-using-index-nullable',
  on: ['AlterTableStmt'],
  severity: 'dangerous',
  lock: 'ACCESS EXCLUSIVE for an implicit SET NOT NULL scan',
  blocks: 'everything, including SELECT, for the whole scan',
  rewrites: 'scan',
  sizeSensitive: 'duration',
  fix: 'Make every key column NOT NULL first (CHECK (col IS NOT NULL) NOT VALID, VALIDATE, SET NOT NULL), then ADD PRIMARY KEY USING INDEX',
  check(ctx) {
    const at = alterTableOf(ctx);
    if (!at || ctx.isNewTable(at.table)) return [];
    return at.cmds.flatMap((cmd) => {
      const con = unwrap(cmd.def, 'Constraint');
      if (cmd.subtype !== 'AT_AddConstraint' || con?.contype !== 'CONSTR_PRIMARY' || !con.indexname) return [];
      const index = ctx.schema.indexes.get(`${at.table.split('.')[0]}.${con.indexname as string}`);
      if (!index) return [{ table: at.table, message: `PRIMARY KEY USING INDEX ${con.indexname as string}: the index is unknown to the history, so its columns may be nullable (implicit SET NOT NULL scan)` }];
      const table = ctx.table(at.table);
      const nullable = index.columns.filter((c) => {
        if (table?.columns.get(c)?.notNull) return false;
        return ![...(table?.checks.values() ?? [])].some((k) => k.notNullColumn === c && k.validated && k.validatedIn !== ctx.txn.key && ctx.target.major >= 12);
      });
      if (!nullable.length) return [];
      return [{ table: at.table, message: `PRIMARY KEY USING INDEX ${con.indexname as string}: ${nullable.join(', ')} not known NOT NULL, so PostgreSQL scans ${at.table} under ACCESS EXCLUSIVE`, fix: notNullRecipe(at.table, nullable[0]) }];
    });
  },
});
