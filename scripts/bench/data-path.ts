import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { imageConfig, imageManifest, MEDIA_TYPES, sha256Digest } from '../../lib/check/oci';
import { minimalConfig } from '../../harness/programs';
import { Cleanup, freePort, makeTlsMaterial, startNginxStream, startRegistry, tempDir, writeHtpasswd } from '../../harness/programs';
import { processTreeCpuMs, runMany, Sample } from './measure';

export const LAYER_MIB = 256;

export interface DataRow {
  readonly name: string;
  readonly samples: Sample[];
  /** Proxied runs: the CPU time nginx (master and worker) used during each run. */
  readonly proxyCpuMs?: number[];
}

/** Writes `mib` MiB of random bytes to `file`, 1 MiB at a time. */
export function randomLayer(file: string, mib: number): void {
  const fd = fs.openSync(file, 'w');
  try {
    for (let i = 0; i < mib; i++) fs.writeSync(fd, randomBytes(1 << 20));
  } finally {
    fs.closeSync(fd);
  }
}

/** Overwrites the first bytes of `file` (a new blob for the registry) and returns its sha256 digest. */
export function renewLayer(file: string): string {
  const fd = fs.openSync(file, 'r+');
  const hash = createHash('sha256');
  try {
    fs.writeSync(fd, randomBytes(32), 0, 32, 0);
    const block = Buffer.allocUnsafe(1 << 20);
    for (let n; (n = fs.readSync(fd, block, 0, block.length, null)) > 0;) hash.update(block.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return `sha256:${hash.digest('hex')}`;
}

/** The same one-layer image as registry-check pushes, in skopeo's `dir:` layout (blobs named by hex digest). */
function skopeoDirImage(dir: string, layerFile: string, layerDigest: string, size: number): void {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const config = imageConfig([layerDigest]);
  const configDescriptor = { mediaType: MEDIA_TYPES.config, digest: sha256Digest(config), size: config.length };
  const hex = (digest: string) => digest.slice('sha256:'.length);
  fs.writeFileSync(path.join(dir, 'version'), 'Directory Transport Version: 1.1\n');
  fs.writeFileSync(path.join(dir, hex(configDescriptor.digest)), config);
  fs.linkSync(layerFile, path.join(dir, hex(layerDigest)));
  fs.writeFileSync(path.join(dir, 'manifest.json'), imageManifest(configDescriptor, [{ mediaType: MEDIA_TYPES.layerTar, digest: layerDigest, size }]));
}

/**
 * Starts a real registry (TLS + htpasswd, filesystem storage, access log off) and an nginx stream proxy in front of
 * it, then times pushes and pulls of one 256 MiB random layer, direct and through the proxy, by registry-check (the
 * library, in a child process) and by skopeo. Every push sends a layer the registry has never seen (its first bytes
 * renewed, untimed) to a new repository: skopeo would otherwise skip the upload or mount the blob from another
 * repository (it remembers where it pushed blobs). Pulls write the blobs to disk, emptied after each run.
 */
export async function measureDataPath(cleanup: Cleanup, projectRoot: string, runs: number, log: (line: string) => void): Promise<DataRow[]> {
  const dir = await tempDir(cleanup, 'registry-bench-');
  const user = 'bench';
  const password = randomBytes(12).toString('hex');
  const tls = await makeTlsMaterial(path.join(dir, 'tls'));
  const htpasswdPath = path.join(dir, 'htpasswd');
  await writeHtpasswd(htpasswdPath, { [user]: password });
  const registryPort = await freePort();
  const registry = await startRegistry(cleanup, {
    dir, port: registryPort, caPem: tls.caPem,
    config: minimalConfig(dir, registryPort, { tls, htpasswdPath, deletes: true }),
  });
  const proxyPort = await freePort();
  const proxy = await startNginxStream(cleanup, { dir: path.join(dir, 'nginx'), port: proxyPort, upstreamPort: registryPort });
  log(`registry pid ${registry.pid} on ${registry.address}, nginx stream pid ${proxy.pid} on ${proxy.address}`);

  const layerFile = path.join(dir, 'layer.tar');
  randomLayer(layerFile, LAYER_MIB);
  const imageDir = path.join(dir, 'skopeo-image');
  const storage = path.join(dir, 'data', 'docker', 'registry', 'v2');
  let pushed: { repo: string; digest: string } | undefined;
  let repoCounter = 0;
  /** Before each push: drop the previous push's repository and blob from storage (disk use stays flat), renew the layer. */
  const nextPush = () => {
    if (pushed) {
      fs.rmSync(path.join(storage, 'repositories', pushed.repo), { recursive: true, force: true });
      const hex = pushed.digest.slice('sha256:'.length);
      fs.rmSync(path.join(storage, 'blobs', 'sha256', hex.slice(0, 2), hex), { recursive: true, force: true });
    }
    const digest = renewLayer(layerFile);
    skopeoDirImage(imageDir, layerFile, digest, LAYER_MIB << 20);
    pushed = { repo: `bench/push-${++repoCounter}`, digest };
    return pushed.repo;
  };
  const pullDir = path.join(dir, 'pulled');
  const emptyPullDir = () => {
    fs.rmSync(pullDir, { recursive: true, force: true });
    fs.mkdirSync(pullDir);
  };

  const env = { BENCH_CA_FILE: tls.caCertPath, BENCH_USER: user, BENCH_PASSWORD: password };
  const child = (action: string, port: number, repo: string, target: string) =>
    ['--require', path.join(projectRoot, 'scripts/register-ts.js'), path.join(projectRoot, 'scripts/bench/registry-check-child.ts'), action, String(port), repo, target];
  const skopeo = (from: string, to: string) =>
    ['copy', '--quiet', '--insecure-policy', '--src-cert-dir', tls.certDir, '--dest-cert-dir', tls.certDir,
      '--src-creds', `${user}:${password}`, '--dest-creds', `${user}:${password}`, from, to];

  // The image every pull reads.
  await runMany(1, 'node', child('push', registryPort, 'bench/pull', layerFile), { cwd: projectRoot, env });

  // Runs are interleaved (each round runs every case once), so a change in the machine's load hits all alike.
  interface Case { readonly name: string; readonly proxied: boolean; readonly command: string; readonly args: () => string[]; readonly before: () => void }
  const cases: Case[] = [];
  for (const action of ['push', 'pull'] as const) {
    for (const client of ['registry-check', 'skopeo'] as const) {
      for (const [via, port] of [['direct', registryPort], ['nginx stream', proxyPort]] as const) {
        const name = `${action} ${LAYER_MIB} MiB, ${client}, ${via}`;
        const proxied = port === proxyPort;
        if (action === 'push') {
          cases.push(client === 'registry-check'
            ? { name, proxied, command: 'node', args: () => child('push', port, nextPush(), layerFile), before: () => undefined }
            : { name, proxied, command: 'skopeo', args: () => skopeo(`dir:${imageDir}`, `docker://127.0.0.1:${port}/${nextPush()}:bench`), before: () => undefined });
        } else {
          cases.push(client === 'registry-check'
            ? { name, proxied, command: 'node', args: () => child('pull', port, 'bench/pull', pullDir), before: emptyPullDir }
            : { name, proxied, command: 'skopeo', args: () => skopeo(`docker://127.0.0.1:${port}/bench/pull:bench`, `dir:${pullDir}`), before: emptyPullDir });
        }
      }
    }
  }
  const samples = new Map<string, Sample[]>(cases.map((c) => [c.name, []]));
  const proxyCpu = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  for (let round = 0; round < runs; round++) {
    for (const c of cases) {
      c.before();
      const args = c.args();
      const nginxBefore = processTreeCpuMs(proxy.pid);
      samples.get(c.name)!.push(...await runMany(1, c.command, args, { cwd: projectRoot, env }));
      proxyCpu.get(c.name)!.push(processTreeCpuMs(proxy.pid) - nginxBefore);
    }
    log(`  round ${round + 1}/${runs} done`);
  }
  return cases.map((c) => ({
    name: c.name,
    samples: samples.get(c.name)!,
    ...(c.proxied ? { proxyCpuMs: proxyCpu.get(c.name)! } : {}),
  }));
}
