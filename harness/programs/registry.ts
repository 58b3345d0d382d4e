import * as fs from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { Cleanup } from './cleanup';
import { execFileAsync, spawnLogged, waitUntilReady } from './process';
import type { TlsMaterial } from './tls';

export interface RegistryProcess {
  readonly pid: number;
  readonly port: number;
  /** `127.0.0.1:<port>` */
  readonly address: string;
  readonly logPath: string;
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

export interface StartRegistryOptions {
  /** Working directory: the config and the log are written here. */
  readonly dir: string;
  /** The registry's config.yml text; it (or a REGISTRY_HTTP_ADDR override) must listen on 127.0.0.1:`port`. */
  readonly config: string;
  /** Where to write `config` (for example a directory standing in for a mounted volume). @default `<dir>/config.yml` */
  readonly configPath?: string;
  readonly port: number;
  /** CA PEM to verify the registry's TLS certificate while waiting for it; omit for a plain HTTP registry. */
  readonly caPem?: string;
  /** Extra environment, e.g. REGISTRY_* overrides. */
  readonly env?: Record<string, string>;
  /** @default '/usr/bin/docker-registry' */
  readonly binary?: string;
  /** @default 15000 */
  readonly readyTimeoutMs?: number;
}

/**
 * Answers true when `GET /` on the port returns any HTTP status (the registry is serving). The chain is verified
 * against the CA; the host name is not, so registries with deliberately mismatched SANs can start too.
 */
export function rootAnswers(port: number, caPem?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const onResponse = (res: http.IncomingMessage) => {
      res.resume();
      resolve(res.statusCode !== undefined);
    };
    const req = caPem
      ? https.get({ host: '127.0.0.1', port, path: '/', ca: caPem, checkServerIdentity: () => undefined, agent: false }, onResponse)
      : http.get({ host: '127.0.0.1', port, path: '/', agent: false }, onResponse);
    req.on('error', () => resolve(false));
    req.setTimeout(2_000, () => req.destroy());
  });
}

/**
 * Starts the real registry (`docker-registry serve <config.yml>`), waits until `GET /` answers, and registers its
 * stop with the cleanup scope. Fails with the registry's log tail when it exits or never answers.
 */
export async function startRegistry(cleanup: Cleanup, options: StartRegistryOptions): Promise<RegistryProcess> {
  const configPath = options.configPath ?? path.join(options.dir, 'config.yml');
  await fs.writeFile(configPath, options.config);
  const proc = spawnLogged(cleanup, options.binary ?? '/usr/bin/docker-registry', ['serve', configPath], {
    logPath: path.join(options.dir, 'registry.log'),
    env: { OTEL_TRACES_EXPORTER: 'none', ...options.env },
  });
  await waitUntilReady(proc, `registry on port ${options.port}`, () => rootAnswers(options.port, options.caPem),
    options.readyTimeoutMs);
  return {
    pid: proc.pid,
    port: options.port,
    address: `127.0.0.1:${options.port}`,
    logPath: proc.logPath,
    logTail: proc.logTail,
    stop: () => proc.stop(),
  };
}

/**
 * Runs `docker-registry garbage-collect [--dry-run] <config>` (the registry must be stopped or read-only) with the
 * same environment overrides the server got; returns its output (one line per blob marked, then the blobs eligible
 * for deletion).
 */
export async function garbageCollect(
  configPath: string,
  { dryRun = false, env = {}, binary = '/usr/bin/docker-registry' }: { dryRun?: boolean; env?: Record<string, string>; binary?: string } = {},
): Promise<string> {
  const args = ['garbage-collect', ...(dryRun ? ['--dry-run'] : []), configPath];
  const { stdout, stderr } = await execFileAsync(binary, args, { env: { ...process.env, OTEL_TRACES_EXPORTER: 'none', ...env } });
  return stdout + stderr;
}

/** A hand-written minimal distribution config (the subset 2.8 and 3.x share): filesystem storage in `dir`. */
export function minimalConfig(dir: string, port: number, opts: { tls?: TlsMaterial; htpasswdPath?: string; deletes: boolean }): string {
  const lines = [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${path.join(dir, 'data')}`,
    '  delete:',
    `    enabled: ${opts.deletes}`,
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    `  secret: ${randomBytes(16).toString('hex')}`,
  ];
  if (opts.tls) lines.push('  tls:', `    certificate: ${opts.tls.certPath}`, `    key: ${opts.tls.keyPath}`);
  if (opts.htpasswdPath) lines.push('auth:', '  htpasswd:', '    realm: registry-check-test', `    path: ${opts.htpasswdPath}`);
  return lines.join('\n') + '\n';
}
