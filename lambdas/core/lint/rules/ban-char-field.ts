import { declaredColumns, hygieneRule } from '../rule-helpers';

/** TY605: char(n) pads with spaces and is never faster than text. */
export const banCharField = hygieneRule({
  id: 'TY605',
  name: 'ban-char-field',
  on: ['CreateStmt', 'AlterTableStmt'],
  fix: 'text (with a CHECK on the length if it matters)',
  check(ctx) {
    return declaredColumns(ctx)
      .filter((c) => c.type?.name === 'bpchar')
      .map((c) => ({ message: `${c.table}.${c.name} is char(n): it pads with spaces; prefer text` }));
  },
});
