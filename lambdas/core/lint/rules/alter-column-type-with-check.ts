import { alterTableOf, defineRule } from '../rule-helpers';

/** LK208: changing the type of a column that CHECK constraints use re-verifies them: a full scan. */
export const alterColumnTypeWithCheck = defineRule({
  id: 'LK208',
  name: 'alter-column-type-with-check',
  on: ['AlterTableStmt'],
  severity: 'dangerous',
  lock: 'ACCESS EXCLUSIVE for a constraint re-verification scan',
  blocks: 'everything, including SELECT, for the whole scan',
  rewrites: 'scan',
  sizeSensitive: 'duration',
  fix: 'Drop the CHECK, change the type, re-add the CHECK as NOT VALID and VALIDATE it in a later migration',
  check(ctx) {
    const at = alterTableOf(ctx);
    if (!at || ctx.isNewTable(at.table)) return [];
    const table = ctx.table(at.table);
    if (!table) return [];
    return at.cmds.filter((c) => c.subtype === 'AT_AlterColumnType').flatMap((cmd) => {
      const column = cmd.name as string;
      const checks = [...table.checks].filter(([, c]) => c.kind === 'check' && c.columns.includes(column)).map(([n]) => n);
      if (!checks.length) return [];
      return [{ table: at.table, message: `ALTER COLUMN ${column} TYPE re-verifies CHECK ${checks.join(', ')} against every row of ${at.table}` }];
    });
  },
});
