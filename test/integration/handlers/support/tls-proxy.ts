/**
 * A TLS front for the embedded PostgreSQL (which runs without TLS): answers PostgreSQL's
 * SSLRequest, terminates TLS with a certificate from a throw-away CA, and relays the plain
 * protocol to the server. This lets the handlers' verify-full TLS path run for real in tests.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext, TLSSocket } from 'node:tls';

const SSL_REQUEST_CODE = 80877103;

export interface TestCa {
  readonly dir: string;
  /** PEM of the CA (what DB_CA_FILE points to). */
  readonly caFile: string;
  readonly key: string;
  readonly cert: string;
  remove(): void;
}

/** A CA and a server certificate for localhost / 127.0.0.1, made with the openssl CLI. */
export function makeTestCa(): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'mr-tls-'));
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=migration-runner test CA');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  run('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext');
  return {
    dir,
    caFile: join(dir, 'ca.pem'),
    key: readFileSync(join(dir, 'server.key'), 'utf8'),
    cert: readFileSync(join(dir, 'server.pem'), 'utf8'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface TlsProxy {
  readonly port: number;
  close(): Promise<void>;
}

export async function startTlsProxy(target: { host: string; port: number }, ca: TestCa): Promise<TlsProxy> {
  const secureContext = createSecureContext({ key: ca.key, cert: ca.cert });
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    client.once('data', (first: Buffer) => {
      if (first.length < 8 || first.readInt32BE(4) !== SSL_REQUEST_CODE) {
        client.destroy(); // plain connections are refused: this endpoint is TLS-only, like rds.force_ssl
        return;
      }
      client.write('S');
      const secure = new TLSSocket(client, { isServer: true, secureContext });
      const upstream = connect(target.port, target.host);
      sockets.add(upstream);
      upstream.on('close', () => sockets.delete(upstream));
      const end = () => {
        secure.destroy();
        upstream.destroy();
      };
      secure.on('error', end);
      upstream.on('error', end);
      secure.on('close', end);
      upstream.on('close', end);
      secure.pipe(upstream);
      upstream.pipe(secure);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
