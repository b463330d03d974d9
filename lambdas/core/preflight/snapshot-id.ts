/**
 * Manual snapshot identifiers derived from the execution name, so a retried or re-driven execution
 * asks for the same snapshot (and catches DBSnapshotAlreadyExists) instead of taking a second one.
 * RDS rules: letters, digits and hyphens, a letter first, no "--", no trailing hyphen, <= 255.
 */
import { createHash } from 'node:crypto';

export function snapshotIdentifier(prefix: string, executionName: string | undefined, now: Date): string {
  const source = executionName ?? now.toISOString();
  // The hash keeps two names that sanitize alike (a_b vs a.b) apart.
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 8);
  const readable = source
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60)
    .replace(/-+$/, '');
  const cleanPrefix = prefix.replace(/[^A-Za-z0-9]+/g, '-').replace(/^[^A-Za-z]+|-+$/g, '') || 'mr';
  return [cleanPrefix, readable, hash].filter(Boolean).join('-').replace(/-{2,}/g, '-').slice(0, 255);
}
