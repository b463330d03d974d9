import { hasOption, list, relationName, unwrap } from '../ast';
import { defineRule } from '../rule-helpers';

/** LK401: VACUUM FULL rewrites the table under ACCESS EXCLUSIVE. */
export const vacuumFull = defineRule({
  id: 'LK401',
  name: 'vacuum-full',
  on: ['VacuumStmt'],
  severity: 'dangerous',
  lock: 'ACCESS EXCLUSIVE for a full rewrite',
  blocks: 'everything, including SELECT, for the whole rewrite',
  rewrites: 'rewrite',
  sizeSensitive: 'duration',
  fix: 'Use pg_repack (or pg_squeeze) to reclaim space online; plain VACUUM does not block',
  check(ctx) {
    if (ctx.stmt.nodeType !== 'VacuumStmt' || !hasOption(ctx.node, 'options', 'full')) return [];
    const tables = list(ctx.node, 'rels').map((r) => relationName(unwrap(r, 'VacuumRelation')?.relation));
    if (tables.length && tables.every((t) => ctx.isNewTable(t))) return [];
    return [{ table: tables.length === 1 ? tables[0] : undefined, message: `VACUUM FULL ${tables.join(', ') || '(every table)'} rewrites under ACCESS EXCLUSIVE` }];
  },
});
