import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { main } from '../../lib/check/cli';
import { Cleanup, freePort, makeTlsMaterial, minimalConfig, RegistryProcess, startRegistry, tempDir, TlsMaterial, TlsOptions, writeHtpasswd } from '../../harness/programs';

export const USER = 'checker';
/** bcrypt's minimum cost: registry-check's own tests run hundreds of authenticated requests. */
const CLIENT_TEST_BCRYPT_COST = 4;
export const PASSWORD = `pw-${randomBytes(6).toString('hex')}`;

/** Test certificates last a year unless a test asks otherwise: registry-check warns about one ending within 30 days. */
const CERT_VALIDITY_DAYS = 365;

export interface ScenarioOptions {
  /** Serve TLS with a leaf from `tls` options (valid CERT_VALIDITY_DAYS unless they say). @default true */
  readonly tls?: boolean | TlsOptions;
  /** htpasswd auth with USER/PASSWORD. @default true */
  readonly auth?: boolean;
  /** storage.delete.enabled @default true */
  readonly deletes?: boolean;
}

export interface Scenario {
  readonly registry: RegistryProcess;
  readonly tls?: TlsMaterial;
  readonly dir: string;
}

/** Starts a real docker-registry for a test file; everything stops in the scope's cleanup. */
export async function startScenario(cleanup: Cleanup, options: ScenarioOptions = {}): Promise<Scenario> {
  const dir = await tempDir(cleanup, 'registry-check-');
  const port = await freePort();
  const tlsOptions = { validityDays: CERT_VALIDITY_DAYS, ...(typeof options.tls === 'object' ? options.tls : {}) };
  const tls = options.tls === false ? undefined : await makeTlsMaterial(path.join(dir, 'tls'), tlsOptions);
  let htpasswdPath: string | undefined;
  if (options.auth !== false) {
    htpasswdPath = path.join(dir, 'htpasswd');
    // The client's behaviour does not depend on the hash cost; the stack-equivalent cost 10 is proven in e2e.
    await writeHtpasswd(htpasswdPath, { [USER]: PASSWORD }, CLIENT_TEST_BCRYPT_COST);
  }
  const config = minimalConfig(dir, port, { tls, htpasswdPath, deletes: options.deletes ?? true });
  const registry = await startRegistry(cleanup, { dir, config, port, caPem: tls?.caPem });
  return { registry, tls, dir };
}

/** Runs the CLI in-process with the given stdin/env; captures stdout and stderr. */
export async function runCli(argv: string[], { stdin = '', env = {} }: { stdin?: string; env?: Record<string, string> } = {}) {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const sink = (into: Buffer[]) => new Writable({ write: (chunk, _enc, done) => { into.push(Buffer.from(chunk)); done(); } });
  const code = await main(argv, { stdin: Readable.from([stdin]), stdout: sink(out), stderr: sink(err), env });
  return { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}
