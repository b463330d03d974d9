import { list, qualifiedFromList, unwrap } from '../ast';
import { defineRule } from '../rule-helpers';

/** LK310: ALTER DOMAIN ADD CONSTRAINT scans every column of the domain; CREATE DOMAIN ... CHECK makes later ADD COLUMNs rewrite. */
export const domainConstraint = defineRule({
  id: 'LK310',
  name: 'domain-constraint',
  on: ['AlterDomainStmt', 'CreateDomainStmt'],
  severity: 'dangerous',
  lock: 'SHARE on every table with a column of the domain, for the scan',
  blocks: 'writes to every table using the domain',
  rewrites: 'scan',
  fix: 'ALTER DOMAIN ... ADD CONSTRAINT ... NOT VALID; then ALTER DOMAIN ... VALIDATE CONSTRAINT in a later migration; prefer CHECK constraints on tables',
  check(ctx) {
    if (ctx.stmt.nodeType === 'AlterDomainStmt' && ctx.node.subtype === 'C') {
      const con = unwrap(ctx.node.def, 'Constraint');
      if (con?.skip_validation) return [];
      return [{ message: `ALTER DOMAIN ${qualifiedFromList(ctx.node.typeName)} ADD CONSTRAINT scans every column that uses the domain` }];
    }
    if (ctx.stmt.nodeType === 'CreateDomainStmt' && list(ctx.node, 'constraints').some((c) => unwrap(c, 'Constraint')?.contype === 'CONSTR_CHECK')) {
      return [{ severity: 'careful', rewrites: 'none', lock: 'none', message: `CREATE DOMAIN ${qualifiedFromList(ctx.node.domainname)} with a CHECK: adding a column of this domain to an existing table later rewrites it`, fix: 'Prefer a base type with a table CHECK constraint (which can be added NOT VALID)' }];
    }
    return [];
  },
});
