/**
 * What authentication costs the registry side, today's scheme against the stack's, in one run on the same machine:
 * - "htpasswd in the registry, cost 10": distribution with TLS and htpasswd auth, every generated user's line at
 *   random_password.bcrypt_hash's cost 10 (the scheme before the front);
 * - "front, cost 4": the dev stack as synthesized (startStackRegistry: the front's nginx.conf and Terraform's grants
 *   file, distribution behind it on loopback), generated users at cost 4;
 * - "no auth": distribution with TLS and no auth, the floor both are measured against.
 * Workloads: 1,000 blob requests (HEAD and GET alternating, 8 connections) by the pull credential, and 32 images
 * pushed at once by the push user. Registry-side CPU is the registry's and nginx's (master and workers) user+system
 * time from /proc over the workload; "auth CPU" is that minus the no-auth floor's.
 */
import * as path from 'node:path';
import { pullBlob, pushBlob, pushImage } from '../../lib/check/blobs';
import { RegistryClient } from '../../lib/check/client';
import { synth, environment } from '../../harness/synth';
import { Cleanup, freePort, makeTlsMaterial, minimalConfig, startRegistry, tempDir, writeHtpasswd } from '../../harness/programs';
import { HUMAN_BCRYPT_COST } from '../../harness/programs/htpasswd';
import { startStackRegistry } from '../../harness/programs/stack-registry';
import { processTreeCpuMs } from './measure';

export const BLOB_REQUESTS = 1000;
export const CONCURRENT_PUSHES = 32;
const CONNECTIONS = 8;

export interface AuthRow {
  readonly scheme: string;
  readonly workload: string;
  readonly wallMs: number;
  /** Registry + nginx CPU over the workload. */
  readonly cpuMs: number;
}

interface Target {
  readonly scheme: string;
  readonly port: number;
  readonly caPem: string;
  /** The registry-side processes whose CPU counts. */
  readonly pids: number[];
  readonly puller: { user: string; password: string };
  readonly pusher: { user: string; password: string };
}

const cpuOf = (pids: number[]) => pids.reduce((sum, pid) => sum + processTreeCpuMs(pid), 0);

async function measure(target: Target, workload: string, run: () => Promise<void>): Promise<AuthRow> {
  const cpu = cpuOf(target.pids);
  const started = performance.now();
  await run();
  return { scheme: target.scheme, workload, wallMs: performance.now() - started, cpuMs: cpuOf(target.pids) - cpu };
}

async function workloads(cleanup: Cleanup, target: Target): Promise<AuthRow[]> {
  const client = (who: { user: string; password: string }) => {
    const c = new RegistryClient({ host: '127.0.0.1', port: target.port, caPem: target.caPem, username: who.user, password: who.password, timeoutMs: 600_000 });
    cleanup.add(() => c.close());
    return c;
  };
  const seeder = client(target.pusher);
  const { digest } = await pushBlob(seeder, 'bench/app', Buffer.alloc(4096, 7), { mode: 'monolithic' });
  const puller = client(target.puller);
  const blobs = await measure(target, `${BLOB_REQUESTS} blob HEAD/GET, pull credential`, async () => {
    let next = 0;
    await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
      for (let i = next++; i < BLOB_REQUESTS; i = next++) {
        if (i % 2 === 0) await (await puller.expect('HEAD', `/v2/bench/app/blobs/${digest}`, [200])).drain();
        else await pullBlob(puller, 'bench/app', digest);
      }
    }));
  });
  const pusher = client(target.pusher);
  const pushes = await measure(target, `${CONCURRENT_PUSHES} images pushed at once, push user`, async () => {
    await Promise.all(Array.from({ length: CONCURRENT_PUSHES }, (_, i) => pushImage(pusher, `bench/image-${i}`, 'v1')));
  });
  return [blobs, pushes];
}

/** Runs every scheme's workloads; logs progress. */
export async function measureAuth(cleanup: Cleanup, log: (line: string) => void): Promise<AuthRow[]> {
  const rows: AuthRow[] = [];
  const users = { puller: { user: 'registry-pull', password: 'p'.repeat(32) }, pusher: { user: 'ci', password: 'c'.repeat(32) } };

  // today's scheme, and the floor: distribution alone, TLS on, htpasswd at cost 10 or no auth
  for (const [scheme, cost] of [['htpasswd in the registry, cost 10', HUMAN_BCRYPT_COST], ['no auth (floor)', undefined]] as const) {
    const dir = await tempDir(cleanup, 'bench-auth-');
    const tls = await makeTlsMaterial(path.join(dir, 'tls'), { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    const htpasswdPath = cost === undefined ? undefined : path.join(dir, 'htpasswd');
    if (htpasswdPath) await writeHtpasswd(htpasswdPath, { [users.puller.user]: users.puller.password, [users.pusher.user]: users.pusher.password }, cost);
    const port = await freePort();
    const registry = await startRegistry(cleanup, { dir, port, caPem: tls.caPem, config: minimalConfig(dir, port, { tls, htpasswdPath, deletes: true }) });
    log(`  ${scheme}`);
    rows.push(...await workloads(cleanup, { scheme, port, caPem: tls.caPem, pids: [registry.pid], ...users }));
    await registry.stop();
  }

  // the stack's scheme: the dev stack's pod as synthesized, with the pull secret's user
  const json = synth(environment('dev', { variables: { pull_secret_namespaces: ['team-a'] } })).json;
  const stack = await startStackRegistry(cleanup, json);
  const scheme = 'front (nginx auth_basic), cost 4';
  log(`  ${scheme}`);
  rows.push(...await workloads(cleanup, {
    scheme, port: stack.port, caPem: stack.tls.caPem, pids: [stack.registry.pid, stack.front!.pid],
    puller: { user: 'registry-pull', password: stack.users['registry-pull'] },
    pusher: { user: 'ci', password: stack.users.ci },
  }));
  return rows;
}

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** The rows side by side, with auth CPU (over the floor) and the old/new ratio per workload. */
export function authTable(rows: AuthRow[]): string[] {
  const floor = (workload: string) => rows.find((r) => r.workload === workload && r.scheme.startsWith('no auth'))!;
  const lines = ['| workload | scheme | wall | registry-side CPU (registry + nginx) | auth CPU (over no auth) |', '| --- | --- | --- | --- | --- |'];
  for (const r of rows) {
    const auth = r.scheme.startsWith('no auth') ? '' : s(Math.max(0, r.cpuMs - floor(r.workload).cpuMs));
    lines.push(`| ${r.workload} | ${r.scheme} | ${s(r.wallMs)} | ${s(r.cpuMs)} | ${auth} |`);
  }
  const ratios = [...new Set(rows.map((r) => r.workload))].map((workload) => {
    const authCpu = (prefix: string) => Math.max(1, rows.find((r) => r.workload === workload && r.scheme.startsWith(prefix))!.cpuMs - floor(workload).cpuMs);
    return `${workload}: ${(authCpu('htpasswd') / authCpu('front')).toFixed(1)}x less auth CPU with the front`;
  });
  return [...lines, '', ...ratios.map((r) => `- ${r}`)];
}
