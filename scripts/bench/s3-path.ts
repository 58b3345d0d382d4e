/**
 * The data path on object storage: the registry-example-s3 stack as synthesized (as the e2e test runs it: Ceph RGW on
 * memstore, Redis, distribution 2.8.2 replicas sharing the http secret, nginx stream in front of two of them), timing
 * 256 MiB pushes and pulls by registry-check (the library, in a child process) through one replica and through two,
 * and the registries' own CPU per pulled GiB with redirects to presigned URLs on and off.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Cleanup, freePort, startCeph, startNginxStream, startRedis, tempDir } from '../../harness/programs';
import { evaluateStackValues } from '../../harness/programs/stack-values';
import { type LoadUser, stackSecrets, startStackRegistry } from '../../harness/programs/stack-registry';
import { synthesized } from '../../harness/json';
import { randomBytes } from 'node:crypto';
import { LAYER_MIB, randomLayer, renewLayer } from './data-path';
import { processTreeCpuMs, runMany, Sample } from './measure';

export interface S3Row {
  readonly name: string;
  readonly samples: Sample[];
  /** Pulls: CPU the registry processes used during each run. */
  readonly registryCpuMs?: number[];
}

export const S3_PULL_REDIRECT = `pull ${LAYER_MIB} MiB, S3 (redirect), one replica`;
export const S3_PULL_STREAMED = `pull ${LAYER_MIB} MiB, S3 (redirect off), one replica`;

export async function measureS3Path(cleanup: Cleanup, projectRoot: string, runs: number, log: (line: string) => void): Promise<S3Row[]> {
  const dir = await tempDir(cleanup, 'registry-bench-s3-');
  const json = synthesized('example-s3');
  // bcrypt cost 4: 2.8.2 checks each request's password under one lock, and storage is what is measured here.
  const user: LoadUser = { user: 'bench', password: randomBytes(12).toString('hex'), cost: 4 };
  const [ceph, redis, material] = await Promise.all([
    // Room for the pulled image and one push at a time (upload plus its copy); deleted objects freed within seconds.
    startCeph(cleanup, path.join(dir, 'ceph'), { memstoreMiB: 3072, garbageCollection: true }),
    startRedis(cleanup, path.join(dir, 'redis'), { password: randomBytes(12).toString('hex'), config: ['maxmemory 64mb', 'maxmemory-policy allkeys-lru'] }),
    stackSecrets(json, path.join(dir, 'tls'), user),
  ]);
  const bucket: string = json.variable.s3_bucket.default;
  const root = `${String(json.variable.s3_root_directory.default).replace(/^\//, '')}/`;
  await ceph.createBucket(bucket);
  const base = {
    s3_access_key: ceph.accessKey, s3_secret_key: ceph.secretKey, s3_region: ceph.region, s3_region_endpoint: ceph.endpoint,
    s3_ca_pem: material.tls.caPem, redis_addresses: [redis.address], redis_password: redis.password!,
  };
  const [redirect, streamed] = await Promise.all([
    evaluateStackValues(json, path.join(dir, 'tf-redirect'), base),
    evaluateStackValues(json, path.join(dir, 'tf-streamed'), { ...base, s3_disable_redirect: true }),
  ]);
  // 2.8.2 stand-in only: it reads redis.addr, and panics with AWS_CA_BUNDLE set (see __tests__/e2e/s3.test.ts).
  const env = { AWS_CA_BUNDLE: undefined, REGISTRY_REDIS_ADDR: redis.address };
  const [a, b, c] = await Promise.all([redirect, redirect, streamed].map((values) => startStackRegistry(cleanup, json, { material, values, env })));
  const nginx = await startNginxStream(cleanup, { dir: path.join(dir, 'nginx'), port: await freePort(), upstreamPorts: [a.port, b.port] });
  log(`radosgw ${ceph.endpoint}, replicas ${a.registry.address} ${b.registry.address} (nginx ${nginx.address}), redirect off ${c.registry.address}`);

  const layerFile = path.join(dir, 'layer.tar');
  randomLayer(layerFile, LAYER_MIB);
  const childEnv = { BENCH_CA_FILE: material.tls.caCertPath, BENCH_USER: user.user, BENCH_PASSWORD: user.password };
  const child = (action: string, port: number, repo: string, target: string) =>
    ['--require', path.join(projectRoot, 'scripts/register-ts.js'), path.join(projectRoot, 'scripts/bench/registry-check-child.ts'), action, String(port), repo, target];
  const deleteUnder = async (prefix: string) => {
    for (const object of await ceph.listObjects(bucket, prefix)) await ceph.request('DELETE', `/${bucket}/${object.key}`);
  };
  let pushed: { repo: string; digest: string } | undefined;
  let counter = 0;
  /** Before each push: the previous push's repository and blob leave the bucket (memstore keeps objects in RAM). */
  const nextPush = async () => {
    if (pushed) {
      const hex = pushed.digest.replace(/^sha256:/, '');
      await deleteUnder(`${root}docker/registry/v2/repositories/${pushed.repo}/`);
      await deleteUnder(`${root}docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/`);
    }
    pushed = { repo: `bench/push-${++counter}`, digest: renewLayer(layerFile) };
    return pushed.repo;
  };
  const pullDir = path.join(dir, 'pulled');
  const emptyPullDir = () => {
    fs.rmSync(pullDir, { recursive: true, force: true });
    fs.mkdirSync(pullDir);
  };
  await runMany(1, 'node', child('push', a.port, 'bench/pull', layerFile), { cwd: projectRoot, env: childEnv });

  // the registry side: each replica's registry and its front (which terminates TLS and streams what the registry sends)
  const registries = [a, b, c].flatMap((r) => [r.registry.pid, ...(r.front ? [r.front.pid] : [])]);
  const registryCpu = () => registries.reduce((sum, pid) => sum + processTreeCpuMs(pid), 0);
  interface Case { readonly name: string; readonly pull: boolean; readonly args: () => Promise<string[]> }
  const cases: Case[] = [
    { name: `push ${LAYER_MIB} MiB, S3, one replica`, pull: false, args: async () => child('push', a.port, await nextPush(), layerFile) },
    { name: `push ${LAYER_MIB} MiB, S3, two replicas (nginx stream)`, pull: false, args: async () => child('push', nginx.port, await nextPush(), layerFile) },
    { name: S3_PULL_REDIRECT, pull: true, args: async () => child('pull', a.port, 'bench/pull', pullDir) },
    { name: `pull ${LAYER_MIB} MiB, S3 (redirect), two replicas (nginx stream)`, pull: true, args: async () => child('pull', nginx.port, 'bench/pull', pullDir) },
    { name: S3_PULL_STREAMED, pull: true, args: async () => child('pull', c.port, 'bench/pull', pullDir) },
  ];
  const samples = new Map<string, Sample[]>(cases.map((c) => [c.name, []]));
  const cpu = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  for (let round = 0; round < runs; round++) {
    for (const measured of cases) {
      if (measured.pull) emptyPullDir();
      const args = await measured.args();
      const before = registryCpu();
      try {
        samples.get(measured.name)!.push(...await runMany(1, 'node', args, { cwd: projectRoot, env: childEnv }));
      } catch (err) {
        const tails = [a, b, c].map((r) => `--- ${r.registry.address} ---\n${r.registry.logTail(15)}`).join('\n');
        throw new Error(`${measured.name}: ${(err as Error).message}\n${tails}\n${ceph.logTails(5)}`);
      }
      cpu.get(measured.name)!.push(registryCpu() - before);
    }
    log(`  S3 round ${round + 1}/${runs} done`);
  }
  return cases.map((m) => ({ name: m.name, samples: samples.get(m.name)!, ...(m.pull ? { registryCpuMs: cpu.get(m.name)! } : {}) }));
}
