/** SQL text quoting for identifiers and literals we build ourselves (never for user SQL). */

/** Quotes an identifier as PostgreSQL's quote_ident does, always (so case and keywords are kept). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Quotes a schema-qualified name: ["public", "users"] -> "public"."users". */
export function quoteQualified(...parts: string[]): string {
  return parts.map(quoteIdent).join('.');
}

/** Quotes a string literal (standard_conforming_strings on, the default since PostgreSQL 9.1). */
export function quoteLiteral(value: string): string {
  if (value.includes('\0')) throw new Error('a SQL literal cannot contain a NUL character');
  return `'${value.replace(/'/g, "''")}'`;
}
