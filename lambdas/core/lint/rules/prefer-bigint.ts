import { declaredColumns, hygieneRule } from '../rule-helpers';

const SMALL_INTS = new Set(['int2', 'int4', 'serial', 'serial4', 'smallserial', 'serial2']);

/** TY601: 32-bit (and 16-bit) integer keys run out; changing them later is a full rewrite. */
export const preferBigint = hygieneRule({
  id: 'TY601',
  name: 'prefer-bigint',
  on: ['CreateStmt', 'AlterTableStmt'],
  fix: 'Use bigint (Prisma: BigInt) for ids and counters',
  check(ctx) {
    return declaredColumns(ctx)
      .filter((c) => c.type && SMALL_INTS.has(c.type.name))
      .map((c) => ({ message: `${c.table}.${c.name} is ${c.type?.name}: prefer bigint, widening later rewrites the table` }));
  },
});
