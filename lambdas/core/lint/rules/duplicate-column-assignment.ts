import { list, unwrap } from '../ast';
import { hygieneRule } from '../rule-helpers';

/** TY610: UPDATE ... SET a = 1, a = 2 is an error in PostgreSQL ("multiple assignments to same column"). */
export const duplicateColumnAssignment = hygieneRule({
  id: 'TY610',
  name: 'duplicate-column-assignment',
  on: ['UpdateStmt'],
  fix: 'Assign each column once',
  check(ctx) {
    const names = list(ctx.node, 'targetList').map((t) => unwrap(t, 'ResTarget')?.name as string);
    const dup = names.filter((n, i) => names.indexOf(n) !== i);
    return [...new Set(dup)].map((n) => ({ message: `column ${n} is assigned more than once` }));
  },
});
