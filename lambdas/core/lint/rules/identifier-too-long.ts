import { scanLatestSync } from '../../sql/parser';
import { hygieneRule } from '../rule-helpers';

const MAX_BYTES = 63;

/**
 * TY608: PostgreSQL truncates identifiers to 63 bytes (the parse tree already holds the truncated
 * name), so two long names can collide silently. Read from the scanner's tokens, as written.
 */
export const identifierTooLong = hygieneRule({
  id: 'TY608',
  name: 'identifier-too-long',
  fix: 'Shorten the name to 63 bytes (Prisma: map: "..." on the index or constraint)',
  check(ctx) {
    const long = new Set<string>();
    for (const token of scanLatestSync(ctx.stmt.text).tokens) {
      if (token.tokenName !== 'IDENT') continue;
      const name = token.text.startsWith('"') ? token.text.slice(1, -1).replace(/""/g, '"') : token.text;
      if (Buffer.byteLength(name, 'utf8') > MAX_BYTES) long.add(name);
    }
    return [...long].map((name) => ({ message: `identifier "${name.slice(0, 40)}..." is ${Buffer.byteLength(name, 'utf8')} bytes; PostgreSQL truncates it to ${MAX_BYTES}` }));
  },
});
