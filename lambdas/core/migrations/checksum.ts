/**
 * Prisma's migration checksum: lowercase hex SHA-256 of migration.sql exactly as stored (BOM and
 * CRLF included). Status also accepts the hash of the text with CRLF->LF or LF->CRLF, and the legacy
 * format that printed each byte in hex without zero padding.
 */
import { createHash } from 'node:crypto';

export function checksumOf(content: Buffer | string): string {
  return createHash('sha256').update(content).digest('hex');
}

/** Prisma < 2.x formatted digests per byte without padding ("0a" became "a"). */
function legacyFormat(hex: string): string {
  return (hex.match(/../g) ?? []).map((byte) => parseInt(byte, 16).toString(16)).join('');
}

/** True when a stored checksum is one Prisma would accept for this file content. */
export function checksumMatches(stored: string, content: Buffer | string): boolean {
  const text = Buffer.isBuffer(content) ? content.toString('utf8') : content;
  const lf = text.replace(/\r\n/g, '\n');
  const candidates = [checksumOf(content), checksumOf(lf), checksumOf(lf.replace(/\n/g, '\r\n'))];
  const normalized = stored.toLowerCase();
  if (normalized.length === 64) return candidates.includes(normalized);
  return candidates.some((candidate) => legacyFormat(candidate) === normalized);
}
