/**
 * A TLS-only Redis with an ACL user, for the security tests: certificates made with `openssl` in a temp dir
 * (a CA, a server certificate for 127.0.0.1 and localhost, and a second CA that signed nothing).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, spawnRedis, type RedisProcess } from './redis-process.js';

const run = promisify(execFile);

/** A running TLS Redis and the material to reach it. */
export interface TlsRedis {
  readonly port: number;
  /** PEM of the CA that signed the server certificate. */
  readonly ca: Buffer;
  /** PEM of a CA that did not sign it. */
  readonly otherCa: Buffer;
  readonly user: string;
  readonly password: string;
  /** `rediss://user:password@127.0.0.1:port` (or with the given password). */
  url(password?: string): string;
  readonly server: RedisProcess;
  stop(): Promise<void>;
}

async function openssl(dir: string, ...args: string[]): Promise<void> {
  await run('openssl', args, { cwd: dir });
}

/** Generates certificates and starts `redis-server --port 0 --tls-port <free>` with user `app`. */
export async function startTlsRedis(password = 'tls-test-pw-7f3a'): Promise<TlsRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'infercache-tls-'));
  try {
    const ca = (name: string) => [
      ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${name}`],
      ...['-keyout', `${name}.key`, '-out', `${name}.crt`],
    ];
    await Promise.all([openssl(dir, ...ca('test-ca')), openssl(dir, ...ca('other-ca'))]);
    writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    await openssl(
      dir,
      ...['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', 'server.key'],
      ...['-out', 'server.csr'],
    );
    await openssl(
      dir,
      ...['x509', '-req', '-in', 'server.csr', '-CA', 'test-ca.crt', '-CAkey', 'test-ca.key', '-CAcreateserial'],
      ...['-days', '2', '-extfile', 'san.ext', '-out', 'server.crt'],
    );
    const port = await freePort();
    const server = await spawnRedis({
      port: 0,
      dir,
      args: [
        ...['--tls-port', String(port), '--tls-cert-file', 'server.crt', '--tls-key-file', 'server.key'],
        ...['--tls-ca-cert-file', 'test-ca.crt', '--tls-auth-clients', 'no'],
        ...['--user', 'default', 'off'],
        ...['--user', 'app', 'on', `>${password}`, '~*', '&*', '+@all'],
      ],
    });
    return {
      port,
      ca: readFileSync(join(dir, 'test-ca.crt')),
      otherCa: readFileSync(join(dir, 'other-ca.crt')),
      user: 'app',
      password,
      url: (pw = password) => `rediss://app:${pw}@127.0.0.1:${port}`,
      server,
      async stop() {
        await server.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
