/**
 * registry-check's start-up, beside the old way, in one run: `--help` and a whole check (all 8 steps against a real
 * registry) by the shipped CLI (bin/registry-check.js running dist/, built first by `npm run build:check`) and by
 * the old way (scripts/bench/registry-check-ts.js: the TypeScript sources through the swc require hook), plus
 * `--help` through the two launchers docs/verify-and-check.md names (npx, npm run -s). Runs are interleaved, one of each case per
 * round. The registry (docker-registry, TLS, htpasswd) is started here with openssl and htpasswd, without the test
 * helpers; its bcrypt cost is 4, so the steps take ~0.2 s and start-up is not lost in bcrypt time.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { runMany, Sample } from './measure';

export interface StartupRow {
  readonly name: string;
  readonly samples: Sample[];
}

/** What the bench's cleanup scope offers. */
interface CleanupScope {
  add(fn: () => Promise<void> | void): void;
}

export const HELP_SHIPPED = 'registry-check --help, shipped (dist/)';
export const HELP_OLD = 'registry-check --help, old way (TypeScript through the swc hook, hook cache warm)';
export const HELP_OLD_COLD = 'registry-check --help, old way, empty hook cache';
export const HELP_NPX = 'npx registry-check --help (shipped)';
export const HELP_NPM_RUN = 'npm run -s check -- --help (shipped)';
export const CHECK_SHIPPED = 'registry-check whole check (8 steps), shipped (dist/)';
export const CHECK_OLD = 'registry-check whole check (8 steps), old way (hook cache warm)';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** An ECDSA P-256 CA and a leaf for 127.0.0.1 signed by it, valid a year (no expiry warning). */
function makeTls(dir: string): { ca: string; cert: string; key: string } {
  const p = (name: string) => path.join(dir, name);
  fs.writeFileSync(p('openssl.cnf'), [
    '[req]', 'distinguished_name = dn', 'prompt = no', '[dn]', 'CN = registry-check bench',
    '[ca_ext]', 'basicConstraints = critical,CA:true', 'keyUsage = critical,keyCertSign,cRLSign',
    '[leaf_ext]', 'basicConstraints = critical,CA:false', 'keyUsage = critical,digitalSignature', 'extendedKeyUsage = serverAuth',
    'subjectAltName = IP:127.0.0.1', '',
  ].join('\n'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key');
  openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'tls.key');
  openssl('req', '-x509', '-new', '-config', 'openssl.cnf', '-extensions', 'ca_ext', '-subj', '/CN=registry-check bench CA', '-key', 'ca.key', '-days', '365', '-out', 'ca.crt');
  openssl('req', '-new', '-config', 'openssl.cnf', '-key', 'tls.key', '-out', 'tls.csr');
  openssl('x509', '-req', '-in', 'tls.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', '1', '-days', '365',
    '-extfile', 'openssl.cnf', '-extensions', 'leaf_ext', '-out', 'tls.crt');
  return { ca: p('ca.crt'), cert: p('tls.crt'), key: p('tls.key') };
}

function answers(port: number, ca: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = https.get({ host: '127.0.0.1', port, path: '/', ca, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.once('error', () => resolve(false));
    req.setTimeout(2_000, () => req.destroy());
  });
}

/** Starts docker-registry on a free loopback port; its stop (by PID) goes to the cleanup scope. */
async function startRegistry(cleanup: CleanupScope, dir: string, user: string, password: string): Promise<{ target: string; ca: string }> {
  const tls = makeTls(dir);
  const hash = execFileSync('htpasswd', ['-niB', '-C', '4', user], { input: password, encoding: 'utf8' }).trim();
  fs.writeFileSync(path.join(dir, 'htpasswd'), `${hash}\n`, { mode: 0o600 });
  const port = await freePort();
  const config = path.join(dir, 'config.yml');
  fs.writeFileSync(config, [
    'version: 0.1', 'log:', '  level: warn', '  accesslog:', '    disabled: true',
    'storage:', '  filesystem:', `    rootdirectory: ${path.join(dir, 'data')}`, '  delete:', '    enabled: true',
    'http:', `  addr: 127.0.0.1:${port}`, '  secret: registry-check-bench', '  tls:', `    certificate: ${tls.cert}`, `    key: ${tls.key}`,
    'auth:', '  htpasswd:', '    realm: registry-check-bench', `    path: ${path.join(dir, 'htpasswd')}`, '',
  ].join('\n'));
  const log = fs.openSync(path.join(dir, 'registry.log'), 'a');
  const child = spawn('/usr/bin/docker-registry', ['serve', config], { stdio: ['ignore', log, log], env: { ...process.env, OTEL_TRACES_EXPORTER: 'none' } });
  fs.closeSync(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  cleanup.add(async () => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGTERM');
    await exited;
  });
  const deadline = Date.now() + 15_000;
  while (!(await answers(port, fs.readFileSync(tls.ca, 'utf8')))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`docker-registry did not come up on ${port}:\n${fs.readFileSync(path.join(dir, 'registry.log'), 'utf8').slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { target: `127.0.0.1:${port}`, ca: tls.ca };
}

export async function measureCheckStartup(cleanup: CleanupScope, root: string, runs: number, log: (line: string) => void): Promise<StartupRow[]> {
  // The shipped rows must run dist/, not the bin's fallback to the sources for a dist/ older than them.
  execFileSync('npm', ['run', '-s', 'build:check'], { cwd: root, stdio: 'inherit' });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'registry-bench-check-'));
  cleanup.add(() => fs.rmSync(dir, { recursive: true, force: true }));
  const user = 'bench';
  const password = `pw-${process.pid}-${Date.now()}`;
  const registry = await startRegistry(cleanup, dir, user, password);
  log(`  registry on ${registry.target}`);

  const shipped = path.join(root, 'bin/registry-check.js');
  const old = path.join(root, 'scripts/bench/registry-check-ts.js');
  const warmCache = path.join(dir, 'hook-cache-warm');
  const coldCache = path.join(dir, 'hook-cache-cold');
  const check = [registry.target, '--user', user, '--ca-file', registry.ca];
  interface Case { readonly name: string; readonly command: string; readonly args: string[]; readonly env?: Record<string, string>; readonly before?: () => void }
  const cases: Case[] = [
    { name: HELP_SHIPPED, command: 'node', args: [shipped, '--help'] },
    { name: HELP_OLD, command: 'node', args: [old, '--help'], env: { REGISTER_TS_CACHE_DIR: warmCache } },
    { name: HELP_OLD_COLD, command: 'node', args: [old, '--help'], env: { REGISTER_TS_CACHE_DIR: coldCache }, before: () => fs.rmSync(coldCache, { recursive: true, force: true }) },
    { name: HELP_NPX, command: 'npx', args: ['registry-check', '--help'] },
    { name: HELP_NPM_RUN, command: 'npm', args: ['run', '-s', 'check', '--', '--help'] },
    { name: CHECK_SHIPPED, command: 'node', args: [shipped, ...check], env: { REGISTRY_PASSWORD: password } },
    { name: CHECK_OLD, command: 'node', args: [old, ...check], env: { REGISTRY_PASSWORD: password, REGISTER_TS_CACHE_DIR: warmCache } },
  ];
  await runMany(1, 'node', [old, '--help'], { cwd: root, env: { REGISTER_TS_CACHE_DIR: warmCache } }); // fills the warm cache
  const samples = new Map<string, Sample[]>(cases.map((c) => [c.name, []]));
  for (let round = 0; round < runs; round++) {
    for (const c of cases) {
      c.before?.();
      samples.get(c.name)!.push(...await runMany(1, c.command, c.args, { cwd: root, env: c.env }));
    }
    log(`  round ${round + 1}/${runs} done`);
  }
  return cases.map((c) => ({ name: c.name, samples: samples.get(c.name)! }));
}
