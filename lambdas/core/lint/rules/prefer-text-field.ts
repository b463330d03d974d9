import { declaredColumns, hygieneRule } from '../rule-helpers';

/** TY603: varchar(n) only adds a length check whose change later needs a type change. */
export const preferTextField = hygieneRule({
  id: 'TY603',
  name: 'prefer-text-field',
  on: ['CreateStmt', 'AlterTableStmt'],
  fix: 'text with a CHECK (char_length(col) <= n) constraint (which can be changed NOT VALID)',
  check(ctx) {
    return declaredColumns(ctx)
      .filter((c) => c.type?.name === 'varchar' && c.type.mods.length > 0)
      .map((c) => ({ message: `${c.table}.${c.name} is varchar(${c.type?.mods[0]}): prefer text with a CHECK` }));
  },
});
