import { declaredColumns, hygieneRule } from '../rule-helpers';

/** TY604: timestamp without time zone loses the offset; converting later rewrites the table. */
export const preferTimestamptz = hygieneRule({
  id: 'TY604',
  name: 'prefer-timestamptz',
  on: ['CreateStmt', 'AlterTableStmt'],
  fix: 'timestamptz (Prisma: @db.Timestamptz)',
  check(ctx) {
    return declaredColumns(ctx)
      .filter((c) => c.type?.name === 'timestamp')
      .map((c) => ({ message: `${c.table}.${c.name} is timestamp without time zone: prefer timestamptz` }));
  },
});
