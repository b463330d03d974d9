import { declaredColumns, hygieneRule } from '../rule-helpers';

/** TY606: json has no equality operator (breaks DISTINCT, UNION) and no indexing. */
export const preferJsonb = hygieneRule({
  id: 'TY606',
  name: 'prefer-jsonb',
  on: ['CreateStmt', 'AlterTableStmt'],
  fix: 'jsonb (Prisma: Json maps to jsonb by default)',
  check(ctx) {
    return declaredColumns(ctx)
      .filter((c) => c.type?.name === 'json')
      .map((c) => ({ message: `${c.table}.${c.name} is json: prefer jsonb` }));
  },
});
