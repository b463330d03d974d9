import { hygieneRule } from '../rule-helpers';

const MAX_COLUMNS = 3;

/** TY607: a non-unique index over more than three columns is rarely used past its leading columns. */
export const indexTooManyColumns = hygieneRule({
  id: 'TY607',
  name: 'index-too-many-columns',
  on: ['IndexStmt'],
  fix: 'Index the leading columns the queries filter on (check with EXPLAIN), or use INCLUDE for covering columns',
  check(ctx) {
    const n = ((ctx.node.indexParams as unknown[] | undefined) ?? []).length;
    if (ctx.node.unique || n <= MAX_COLUMNS) return [];
    return [{ message: `non-unique index over ${n} columns (more than ${MAX_COLUMNS})` }];
  },
});
