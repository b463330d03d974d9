import { strings, unwrap } from '../ast';
import { alterTableOf, defineRule, notNullRecipe } from '../rule-helpers';
import type { RuleContext } from '../types';

/**
 * LK209: SET NOT NULL scans the whole table under ACCESS EXCLUSIVE unless a validated
 * CHECK (col IS NOT NULL) proves it (PostgreSQL 12+), or a validated NOT NULL constraint (18+).
 * The proof only counts when it was validated in an earlier transaction, and not dropped by the
 * same statement.
 */
export const setNotNullScan = defineRule({
  id: 'LK209',
  name: 'set-not-null-scan',
  on: ['AlterTableStmt'],
  severity: 'dangerous',
  lock: 'ACCESS EXCLUSIVE for a full table scan',
  blocks: 'everything, including SELECT, for the whole scan',
  rewrites: 'scan',
  sizeSensitive: 'duration',
  fix: 'ADD CONSTRAINT ... CHECK (col IS NOT NULL) NOT VALID; VALIDATE CONSTRAINT in a later migration; then SET NOT NULL (PostgreSQL 12+ skips the scan), or a backfill barrier between the steps',
  check(ctx) {
    const at = alterTableOf(ctx);
    if (!at || ctx.isNewTable(at.table)) return [];
    const dropped = new Set(at.cmds.filter((c) => c.subtype === 'AT_DropConstraint').map((c) => c.name as string));
    const targets: string[] = [];
    for (const cmd of at.cmds) {
      if (cmd.subtype === 'AT_SetNotNull') targets.push(cmd.name as string);
      const con = unwrap(cmd.def, 'Constraint');
      // PostgreSQL 18: ADD CONSTRAINT c NOT NULL col (validating) is a SET NOT NULL.
      if (cmd.subtype === 'AT_AddConstraint' && con?.contype === 'CONSTR_NOTNULL' && !con.skip_validation) targets.push(strings(con.keys)[0]);
    }
    return targets.flatMap((column) => {
      const proof = proven(ctx, at.table, column, dropped);
      if (proof === 'proven') return [];
      return [{
        table: at.table,
        message: `SET NOT NULL on ${at.table}.${column} scans every row under ACCESS EXCLUSIVE: ${proof}`,
        fix: notNullRecipe(at.table, column),
      }];
    });
  },
});

function proven(ctx: RuleContext, tableName: string, column: string, droppedNow: Set<string>): string {
  const table = ctx.table(tableName);
  if (table?.columns.get(column)?.notNull) return 'proven';
  const candidates = [...(table?.checks ?? [])].filter(([, c]) => c.notNullColumn === column && (c.kind === 'check' ? ctx.target.major >= 12 : ctx.target.major >= 18));
  if (!candidates.length) {
    if (ctx.target.major < 12 && table && [...table.checks.values()].some((c) => c.notNullColumn === column)) {
      return `PostgreSQL ${ctx.target.major} cannot use a CHECK to skip the scan (needs 12+)`;
    }
    return `no validated CHECK (${column} IS NOT NULL) proves it`;
  }
  const usable = candidates.filter(([, c]) => c.validated && c.validatedIn !== ctx.txn.key);
  if (!usable.length) {
    return candidates.some(([, c]) => c.validated)
      ? 'the proving constraint is added or validated in this same transaction, so the scan runs while ACCESS EXCLUSIVE is held'
      : `the CHECK (${column} IS NOT NULL) is still NOT VALID: VALIDATE it in an earlier migration`;
  }
  if (usable.every(([name]) => droppedNow.has(name))) return 'the same statement drops the CHECK that would prove it';
  return 'proven';
}
