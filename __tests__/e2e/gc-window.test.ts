/**
 * The garbage-collection window of registry-example-ops, end to end on the real registry (distribution 2.8.2): the
 * registry runs the synthesized Deployment's config and storage, the GC CronJob's own script (the text in
 * cdk.tf.json) runs under `sh` with the CronJob's environment, and a stand-in API (harness/programs/gc-cluster.ts)
 * answers its kubectl calls by restarting the real registry with the maintenance ConfigMap's keys.
 */
import { existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { pullImage, pullManifest, pushBlob, pushImage, pushManifest } from '../../lib/check/blobs';
import { RegistryClient } from '../../lib/check/client';
import { Descriptor, imageConfig, imageManifest, MEDIA_TYPES, probeLayer, sha256Digest } from '../../lib/check/oci';
import { READ_ONLY_ENV, READ_ONLY_VALUE, renderGcScript, WINDOW_OWNER_KEY } from '../../lib/operations/gc-script';
import { byPath, environment, referencedAddress, resourceAt, resourcesOf, synth, type Synthesized } from '../../harness/synth';
import { skopeoCopy, startRedis, startRegistry, tempDir, useCleanup, freePort, type RedisProcess, type RegistryProcess, type Cleanup } from '../../harness/programs';
import { startGcCluster, type GcCluster } from '../../harness/programs/gc-cluster';
import { templateLiteral } from '../../harness/json';
import { prepareLocalPod, registryWorkload } from '../../harness/programs/pod';
import { stackSecrets } from '../../harness/programs/stack-registry';
import { evaluateStackValues } from '../../harness/programs/stack-values';
import { startFront } from '../../harness/programs/front';

const INDEX_TYPE = 'application/vnd.oci.image.index.v1+json';

/** `${var.x}` and `${<type>.<id>.metadata[0].name}` in a synthesized value, resolved to their local values. */
function resolver(json: Synthesized) {
  const resolve = (value: string): string =>
    value
      .replace(/\$\{format\("%s-([a-z]+)", var\.([a-z_]+)\)\}/g, (_, suffix: string, v: string) => `${json.variable[v].default}-${suffix}`)
      .replace(/\$\{var\.([a-z_]+)\}/g, (_, v: string) => String(json.variable[v].default))
      .replace(/\$\{join\(" ", var\.([a-z_]+)\)\}/g, (_, v: string) => (json.variable[v].default as string[]).join(' '))
      .replace(/\$\{([a-z0-9_]+\.[A-Za-z0-9_-]+)\.metadata\[0\]\.name\}/g, (m: string) => resolve(resourceAt(json, referencedAddress(m)).metadata.name));
  return resolve;
}

function blobFile(root: string, digest: string): string {
  const hex = digest.replace(/^sha256:/, '');
  return path.join(root, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
}

/** The CronJob's pod as synthesized. */
function gcPod(json: Synthesized) {
  const [cronJob] = resourcesOf(json, 'kubernetes_cron_job_v1');
  const pod = cronJob.spec.job_template.spec.template.spec;
  // the script as the pod gets it: Terraform turns the escaped literal ($${ -> ${) back into the text
  const container = { ...pod.container[0], command: pod.container[0].command.map(templateLiteral) };
  return { cronJob, pod, container, role: resourcesOf(json, 'kubernetes_role_v1')[0] };
}

interface Window {
  status: number | null;
  output: string;
  ms: number;
  /** The window's POD_NAME. */
  pod: string;
}

/** Each window's pod name, as a Job's pods get one. */
let windowCount = 0;

describe('GC window of registry-example-ops on the real registry', () => {
  const cleanup = useCleanup();
  let json: Synthesized;
  let resolve: (v: string) => string;
  let dir: string;
  let root: string;
  let client: RegistryClient;
  let registry: RegistryProcess | undefined;
  let cluster: GcCluster & { urlEnv: Record<string, string> };
  let duringWindow: (() => Promise<void>) | undefined;
  let registryBinDir: string;
  const tagged = new Map<string, string>();

  /** Pushes a one-config image with these layers; returns its manifest digest and descriptors. */
  async function pushLayers(repo: string, reference: string, layers: ReturnType<typeof probeLayer>[]) {
    const descriptors: Descriptor[] = [];
    for (const layer of layers) descriptors.push({ ...(await pushBlob(client, repo, layer.bytes, { mode: 'monolithic' })), mediaType: MEDIA_TYPES.layerGzip });
    const config = { ...(await pushBlob(client, repo, imageConfig(layers.map((l) => l.diffId)), { mode: 'monolithic' })), mediaType: MEDIA_TYPES.config };
    const manifest = imageManifest(config, descriptors);
    const digest = await pushManifest(client, repo, reference, manifest);
    return { digest, size: manifest.length, blobs: [config.digest, ...descriptors.map((d) => d.digest)] };
  }

  /**
   * Runs the CronJob's script with the CronJob's environment (resolved), `registry` and `kubectl` on PATH, and the
   * registry pod's REGISTRY_* overrides (local paths). `onOutput` sees the output as it comes.
   */
  function runWindow(
    script: string,
    extraEnv: Record<string, string> = {},
    onOutput?: (output: string, pid: number) => void,
    of: Synthesized = json,
  ): Promise<Window> {
    const started = Date.now();
    const env: Record<string, string> = { PATH: `${cluster.binDir}:${registryBinDir}:${toolsDir}:/usr/bin:/bin`, ...cluster.urlEnv };
    for (const entry of gcPod(of).container.env) {
      if (entry.name === 'PATH' || entry.name === 'POD_NAME') continue;
      // the Redis password comes from the cache's Secret: the test's Redis has its own
      env[entry.name] = entry.value_from?.secret_key_ref ? redis.password! : (of === json ? resolve : resolver(of))(entry.value);
    }
    const podName = `registry-gc-${++windowCount}`;
    return new Promise((done) => {
      // its own process group: a test can kill the whole pod (trap, collector and all) at once
      const child = spawn(path.join(toolsDir, 'sh'), ['-c', script, 'registry-gc'], {
        detached: true,
        env: { ...env, ...pod.env, POD_NAME: podName, ...extraEnv, CONFIG_PATH: pod.configPath },
      });
      cluster.windowPods.set(podName, 'Running');
      let output = '';
      const add = (c: Buffer) => {
        output += c;
        onOutput?.(output, child.pid!);
      };
      child.stdout.on('data', add);
      child.stderr.on('data', add);
      child.on('close', (status) => {
        cluster.windowPods.set(podName, status === 0 ? 'Succeeded' : 'Failed');
        done({ status, output, ms: Date.now() - started, pod: podName });
      });
    });
  }

  let pod: Awaited<ReturnType<typeof prepareLocalPod>>;
  /** The registry's own (loopback, plain HTTP) port, and the front's, where clients connect. */
  let port: number;
  let clientPort: number;
  let caPem: string;
  let redis: RedisProcess;
  /** registry-example-ops with the Redis cache: its CronJob flushes it. */
  let jsonRedis: Synthesized;
  /** Holds `nc` (busybox's, as in the registry image). */
  let toolsDir: string;

  beforeAll(async () => {
    // GIVEN registry-example-ops without its cache (one registry Deployment), synthesized
    json = synth(environment('example-ops', { mirror: undefined })).json;
    resolve = resolver(json);
    dir = await tempDir(cleanup, 'gc-window-');
    port = await freePort();
    // The cache the registry uses (2.8 spelling, as the S3 test's stand-in): a password with a '#'.
    redis = await startRedis(cleanup, path.join(dir, 'redis'), { password: 'gc#cache-password' });
    jsonRedis = synth(environment('example-ops', { mirror: undefined, redis: { tls: false }, variables: { redis_addresses: [redis.address] } })).json;
    // The registry image is Alpine: /bin/sh and the tools the script uses are busybox's, as here.
    toolsDir = path.join(dir, 'tools');
    await fs.mkdir(toolsDir);
    for (const tool of ['sh', 'nc', 'sed', 'grep', 'sort', 'wc', 'tr', 'mkfifo', 'mktemp', 'date', 'sleep', 'cat', 'rm', 'head', 'kill']) {
      await fs.symlink('/bin/busybox', path.join(toolsDir, tool));
    }
    // A user at bcrypt cost 4: 2.8.2 checks every request's password under one lock (~65 ms each at the stack's 10).
    const secrets = await stackSecrets(json, path.join(dir, 'tls'), { user: 'gc-test', password: 'gc-test-password', cost: 4 });
    caPem = secrets.tls.caPem;
    // the front's grants file, as Terraform renders it from the role variables' defaults
    const values = await evaluateStackValues(json, path.join(dir, 'values'), {});
    pod = await prepareLocalPod(json, dir, { ...secrets.secrets, ...values.secrets }, { port, debugPort: await freePort() }, values.evaluated);
    root = pod.volumeDirs.data;
    registryBinDir = path.join(dir, 'registry-bin');
    await fs.mkdir(registryBinDir);
    await fs.symlink('/usr/bin/docker-registry', path.join(registryBinDir, 'registry'));
    const maintenance = byPath(json, 'kubernetes_config_map_v1', 'garbage-collection/maintenance');
    const start = async (env: Record<string, string>) => {
      registry = await startRegistry(cleanup, { dir, config: registryWorkload(json).configYaml, configPath: pod.configPath, port, env: {
        ...pod.env,
        REGISTRY_STORAGE_CACHE_BLOBDESCRIPTOR: 'redis', REGISTRY_REDIS_ADDR: redis.address, REGISTRY_REDIS_PASSWORD: redis.password!,
        ...env,
      } });
    };
    cluster = await startGcCluster(cleanup as Cleanup, dir, {
      namespace: resolve('${var.namespace}'),
      deployment: resolve('${var.app_name}'),
      maintenanceConfigMap: resolve(maintenance.metadata.name),
      podSelector: resolve(gcPod(json).container.env.find((e: any) => e.name === 'POD_SELECTOR').value),
      maintenanceData: maintenance.data,
      stopRegistry: async () => registry?.stop(),
      startRegistry: start,
      beforeReadBack: async () => duringWindow?.(),
    });
    // The registry starts as the Deployment does: envFrom the maintenance ConfigMap as Terraform creates it.
    await start(maintenance.data);
    // clients reach the registry through the pod's front, which stays up while the window restarts the registry
    clientPort = await freePort();
    await startFront(cleanup, { front: registryWorkload(json).front!, pod, dir: path.join(dir, 'front'), port: clientPort, innerPort: port, caPem });
    client = new RegistryClient({ host: '127.0.0.1', port: clientPort, username: 'gc-test', password: 'gc-test-password', caPem });
    cleanup.add(() => client.close());
  }, 30_000);

  test('the GC pod runs the registry image on the registry ConfigMap and claim, as a ServiceAccount limited to its Role', () => {
    const { pod: gc, container, role, cronJob } = gcPod(json);
    const deployment = byPath(json, 'kubernetes_deployment_v1', 'registry/deployment');
    const registryPod = deployment.spec.template.spec;
    const volumeSource = (spec: any, name: string) => {
      const { name: _, ...source } = spec.volume.find((v: any) => v.name === name);
      return source;
    };
    expect(container.image).toBe(registryPod.container[0].image);
    expect(volumeSource(gc, 'config')).toEqual(volumeSource(registryPod, 'config'));
    expect(volumeSource(gc, 'data')).toEqual(volumeSource(registryPod, 'data'));
    expect(resolve(container.env.find((e: any) => e.name === 'CONFIG_PATH').value)).toBe(registryPod.container[0].args[1]);
    expect(registryPod.container[0].env_from).toEqual([{ config_map_ref: { name: expect.stringContaining('garbage-collection_maintenance'), optional: false } }]);
    expect(cronJob.spec.concurrency_policy).toBe('Forbid');
    expect(gc.automount_service_account_token).toBe(true);
    expect(registryPod.automount_service_account_token).toBe(false);
    expect(role.rule.map((r: any) => ({ ...r, resource_names: r.resource_names?.map(resolve) }))).toEqual([
      { api_groups: [''], resources: ['configmaps'], resource_names: ['registry-maintenance'], verbs: ['get', 'patch'] },
      { api_groups: ['apps'], resources: ['deployments'], resource_names: ['registry'], verbs: ['get', 'patch'] },
      { api_groups: [''], resources: ['pods'], resource_names: undefined, verbs: ['list'] },
    ]);
  });

  // The images every run must keep: A and B share a layer, C is a multi-arch index, D is untagged, E is deleted.
  let shared: ReturnType<typeof probeLayer>;
  let a: Awaited<ReturnType<typeof pushLayers>>;
  let b: Awaited<ReturnType<typeof pushLayers>>;
  let platforms: Awaited<ReturnType<typeof pushLayers>>[];
  let index: { digest: string };
  let untagged: Awaited<ReturnType<typeof pushLayers>>;
  let deleted: Awaited<ReturnType<typeof pushLayers>>;
  const measured: Record<string, number> = {};

  const pullIndex = async () => {
    const res = await client.expect('GET', `/v2/gc/multi/manifests/v1`, [200], { headers: { accept: INDEX_TYPE } });
    return sha256Digest(await res.bytes());
  };
  const pullEverythingTagged = async () => {
    await expect(pullImage(client, 'gc/a', 'v1', a.digest)).resolves.toMatchObject({ digest: a.digest });
    await expect(pullImage(client, 'gc/b', 'v1', b.digest)).resolves.toMatchObject({ digest: b.digest });
    await expect(pullIndex()).resolves.toBe(index.digest);
    for (const p of platforms) await expect(pullImage(client, 'gc/multi', p.digest, p.digest)).resolves.toMatchObject({ digest: p.digest });
    for (const [repoTag, digest] of tagged) {
      const [repo, tag] = repoTag.split(':');
      await expect(pullImage(client, repo, tag, digest)).resolves.toMatchObject({ digest });
    }
  };
  const onDisk = (digests: string[]) => digests.filter((d) => existsSync(blobFile(root, d)));

  test('a window keeps every tagged image, shared layers and a multi-arch index, reclaims a deleted image, keeps untagged', async () => {
    shared = probeLayer();
    a = await pushLayers('gc/a', 'v1', [shared, probeLayer()]);
    b = await pushLayers('gc/b', 'v1', [shared, probeLayer()]);
    platforms = [await pushLayers('gc/multi', 'amd64-only', [probeLayer()]), await pushLayers('gc/multi', 'arm64-only', [probeLayer()])];
    // The platform tags go: the index is what names them, as with `docker buildx` images.
    const indexBytes = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: INDEX_TYPE,
      manifests: platforms.map((p, i) => ({ mediaType: MEDIA_TYPES.manifest, digest: p.digest, size: p.size, platform: { architecture: ['amd64', 'arm64'][i], os: 'linux' } })),
    }));
    // (pushManifest's media type parameter is typed for image manifests; the registry takes the index's)
    index = { digest: await pushManifest(client, 'gc/multi', 'v1', indexBytes, INDEX_TYPE as string as typeof MEDIA_TYPES.manifest) };
    for (const tag of ['amd64-only', 'arm64-only']) {
      await fs.rm(path.join(root, 'docker/registry/v2/repositories/gc/multi/_manifests/tags', tag), { recursive: true });
    }
    // pushed by digest: no tag ever points at it (its repository has a tagged image too)
    tagged.set('gc/untagged:keep', (await pushLayers('gc/untagged', 'keep', [probeLayer()])).digest);
    const layer = probeLayer();
    const l = { ...(await pushBlob(client, 'gc/untagged', layer.bytes, { mode: 'monolithic' })), mediaType: MEDIA_TYPES.layerGzip };
    const c = { ...(await pushBlob(client, 'gc/untagged', imageConfig([layer.diffId]), { mode: 'monolithic' })), mediaType: MEDIA_TYPES.config };
    const m = imageManifest(c, [l]);
    untagged = { digest: await pushManifest(client, 'gc/untagged', sha256Digest(m), m), size: m.length, blobs: [c.digest, l.digest] };
    deleted = await pushLayers('gc/deleted', 'v1', [probeLayer()]);
    // Every blob looked up once: Redis holds its descriptor (another application's key shares the database).
    const headBlob = async (repo: string, digest: string) => {
      const res = await client.request('HEAD', `/v2/${repo}/blobs/${digest}`);
      await res.drain();
      return res.status;
    };
    for (const d of deleted.blobs) expect(await headBlob('gc/deleted', d)).toBe(200);
    for (const d of a.blobs) expect(await headBlob('gc/a', d)).toBe(200);
    await redis.command('SET', 'another-app:key', 'kept');
    await (await client.expect('DELETE', `/v2/gc/deleted/manifests/${deleted.digest}`, [202])).drain();
    expect(await redis.command('EXISTS', ...deleted.blobs.map((d) => `blobs::${d}`))).toBe(deleted.blobs.length);

    // WHILE the window is open: a push is refused with a clear error, a pull works, by skopeo and the OCI client
    const seen: Record<string, unknown> = {};
    duringWindow = async () => {
      seen.setting = cluster.configMap[READ_ONLY_ENV];
      seen.push = await pushImage(client, 'gc/during', 'v1').then(() => 'pushed', (e: Error) => e.message);
      seen.skopeoPush = await skopeoCopy(`docker://127.0.0.1:${clientPort}/gc/a:v1`, `docker://127.0.0.1:${clientPort}/gc/during-skopeo:v1`, {
        src: { certDir: path.join(dir, 'tls', 'certs.d'), creds: `${client.options.username}:${client.options.password}` },
        dest: { certDir: path.join(dir, 'tls', 'certs.d'), creds: `${client.options.username}:${client.options.password}` },
      }, dir).then(() => 'pushed', (e: { stderr?: string }) => String(e.stderr));
      seen.pull = (await pullImage(client, 'gc/a', 'v1', a.digest)).digest;
      seen.index = await pullIndex();
    };
    // (the stack with the Redis cache: its CronJob flushes the cache after GC)
    const window = await runWindow(gcPod(jsonRedis).container.command[2], {}, undefined, jsonRedis);
    duringWindow = undefined;
    // later windows: restarts answered when done (this one waited through a terminating and an unready pod)
    cluster.restartBeforeAnswer = true;
    measured.windowMs = window.ms;
    measured.roRestartMs = cluster.restarts[0].ready! - cluster.restarts[0].requested;

    expect({ status: window.status, output: window.output }).toMatchObject({ status: 0 });
    expect(seen.setting).toBe(READ_ONLY_VALUE.on);
    expect(seen.push).toMatch(/HTTP 405/);
    expect(seen.skopeoPush).toMatch(/initiating layer upload to \/v2\/gc\/during-skopeo\/blobs\/uploads\/ .*StatusCode: 405, Method not allowed/);
    expect(seen.pull).toBe(a.digest);
    expect(seen.index).toBe(index.digest);
    // the push refused during the window is not there afterwards either (never a success later lost)
    await expect(pullManifest(client, 'gc/during', 'v1')).rejects.toMatchObject({ status: 404 });
    expect(window.output).toMatch(/registry is read-only \(pushes refused; pulls served between the restarts\): registry garbage-collect \//);
    expect(window.output).toContain('registry is read-write again');
    expect(cluster.configMap[READ_ONLY_ENV]).toBe(READ_ONLY_VALUE.off);
    expect(cluster.restarts.map((r) => r.token)).toEqual([expect.stringMatching(/^gc-\d{8}T\d{6}Z-read-only$/), expect.stringMatching(/^gc-\d{8}T\d{6}Z-read-write$/)]);
    // every kubectl call was one the synthesized Role allows
    expect(new Set(cluster.calls.map((c) => `${c.verb} ${c.resource} ${c.name ?? '*'}`))).toEqual(new Set([
      'patch configmaps registry-maintenance', 'get configmaps registry-maintenance',
      'patch deployments registry', 'get deployments registry', 'list pods *',
    ]));

    // THEN the deleted image's blobs are gone from disk, everything tagged (and the untagged manifest) stays
    expect(onDisk([deleted.digest, ...deleted.blobs])).toEqual([]);
    // AND the cache no longer answers for them (only their keys went: the kept blobs' and the other app's stay)
    expect(window.output).toMatch(/redis: flushed the cache entries of \d+ deleted blobs/);
    for (const d of deleted.blobs) expect(await headBlob('gc/deleted', d)).toBe(404);
    expect(await redis.command('EXISTS', ...deleted.blobs.map((d) => `blobs::${d}`))).toBe(0);
    expect(await redis.command('EXISTS', ...a.blobs.map((d) => `blobs::${d}`))).toBe(a.blobs.length);
    expect(await redis.command('GET', 'another-app:key')).toBe('kept');
    const kept = [a.digest, ...a.blobs, b.digest, ...b.blobs, index.digest, ...platforms.flatMap((p) => [p.digest, ...p.blobs]), untagged.digest, ...untagged.blobs];
    expect(onDisk(kept)).toEqual(kept);
    await pullEverythingTagged();
    await expect(pullManifest(client, 'gc/untagged', untagged.digest)).resolves.toMatchObject({ digest: untagged.digest });
    // and pushes work again
    const after = await pushImage(client, 'gc/after', 'v1');
    tagged.set('gc/after:v1', after.manifestDigest);
  }, 60_000);

  test('a GC that fails midway leaves the registry read-write, every tagged image intact and nothing deleted', async () => {
    // A repository holding only an untagged manifest: 2.8.2's --delete-untagged fails on it in the mark phase
    // ("failed to retrieve tags unknown repository"), after it has listed manifests eligible for deletion.
    const layer = probeLayer();
    const l = { ...(await pushBlob(client, 'gc/tagless', layer.bytes, { mode: 'monolithic' })), mediaType: MEDIA_TYPES.layerGzip };
    const c = { ...(await pushBlob(client, 'gc/tagless', imageConfig([layer.diffId]), { mode: 'monolithic' })), mediaType: MEDIA_TYPES.config };
    const m = imageManifest(c, [l]);
    await pushManifest(client, 'gc/tagless', sha256Digest(m), m);
    const script = gcPod(synth(environment('example-ops', { mirror: undefined, garbageCollection: { deleteUntagged: true } })).json).container.command[2];
    const before = [untagged.digest, ...untagged.blobs, ...platforms.flatMap((p) => [p.digest, ...p.blobs])];

    const window = await runWindow(script);
    await fs.rm(path.join(root, 'docker/registry/v2/repositories/gc/tagless'), { recursive: true });

    expect({ status: window.status, output: window.output }).toMatchObject({ status: 1 });
    expect(window.output).toMatch(/manifest eligible for deletion: sha256:/);
    expect(window.output).toMatch(/failed to garbage collect: failed to mark: .*unknown repository name=gc\/tagless/);
    expect(window.output).toMatch(/garbage-collect exited with 1 after/);
    expect(window.output).toContain('registry is read-write again');
    expect(cluster.configMap[READ_ONLY_ENV]).toBe(READ_ONLY_VALUE.off);
    expect(onDisk(before)).toEqual(before);
    await pullEverythingTagged();
    const pushed = await pushImage(client, 'gc/after-failure', 'v1');
    tagged.set('gc/after-failure:v1', pushed.manifestDigest);
  }, 60_000);

  test('a window stopped by SIGTERM (the Job deadline) stops GC first, then returns to read-write', async () => {
    // A collector that takes its time (a long sleep standing in for a large registry): the TERM lands while it runs.
    const slow = path.join(dir, 'slow-bin');
    await fs.mkdir(slow, { recursive: true });
    await fs.writeFile(path.join(slow, 'registry'), '#!/bin/sh\nexec sleep 30\n', { mode: 0o755 });
    const script = gcPod(json).container.command[2];
    let signalled = false;
    const window = await runWindow(script, { PATH: `${cluster.binDir}:${slow}:${toolsDir}:/usr/bin:/bin` }, (output, pid) => {
      if (!signalled && output.includes('registry is read-only')) {
        signalled = true;
        // the kubelet's TERM to the container's process when the Job's deadline passes
        setTimeout(() => process.kill(pid, 'SIGTERM'), 300);
      }
    });

    expect(window.output).toMatch(/stopping garbage-collect \(pid \d+\) before the registry takes writes again/);
    expect(window.output).toContain('registry is read-write again');
    expect(window.status).toBe(143);
    expect(cluster.configMap[READ_ONLY_ENV]).toBe(READ_ONLY_VALUE.off);
    await pullEverythingTagged();
  }, 60_000);

  /** A collector that takes its time (a long sleep standing in for a large registry). */
  async function slowCollector(seconds: number): Promise<string> {
    const slow = path.join(dir, `slow-bin-${seconds}`);
    await fs.mkdir(slow, { recursive: true });
    await fs.writeFile(path.join(slow, 'registry'), `#!/bin/sh\nexec sleep ${seconds}\n`, { mode: 0o755 });
    return `${cluster.binDir}:${slow}:${toolsDir}:/usr/bin:/bin`;
  }
  const owner = () => cluster.configMap[WINDOW_OWNER_KEY];

  test('two windows started together: one takes the lock, the other gets the 409, sees the owner and refuses; the registry stays read-only until the owner is done', async () => {
    const script = gcPod(json).container.command[2];
    const conflicts = cluster.conflicts.length;
    const restarts = cluster.restarts.length;
    // both read the same resourceVersion, both try to write it: the API server lets one through
    cluster.readBarrier = 2;
    const seen: Record<string, unknown> = {};
    let windows: Promise<Window>[] = [];
    duringWindow = async () => {
      duringWindow = undefined;
      // the winner is about to collect: the loser has given up by now, and left the switch alone
      const loser = await Promise.race(windows);
      seen.loser = loser;
      seen.setting = cluster.configMap[READ_ONLY_ENV];
      seen.owner = owner();
      seen.push = await pushImage(client, 'gc/during-two', 'v1').then(() => 'pushed', (e: Error) => e.message);
    };
    try {
      windows = [runWindow(script), runWindow(script)];
      const [x, y] = await Promise.all(windows);
      const loser = seen.loser as Window;
      const winner = loser === x ? y : x;

      expect({ status: loser.status, output: loser.output }).toMatchObject({ status: 1 });
      expect(loser.output).toContain(`another window is open (${winner.pod} until `);
      expect(loser.output).toContain('nothing collected');
      expect(cluster.conflicts.length).toBe(conflicts + 1);
      expect({ status: winner.status, output: winner.output }).toMatchObject({ status: 0 });
      expect(seen.setting).toBe(READ_ONLY_VALUE.on);
      expect(seen.owner).toMatch(new RegExp(`^${winner.pod} until \\d+$`));
      expect(seen.push).toMatch(/HTTP 405/);
      // two restarts, both the winner's; then read-write and nobody's
      expect(cluster.restarts.slice(restarts).map((r) => r.token)).toEqual([expect.stringMatching(/-read-only$/), expect.stringMatching(/-read-write$/)]);
      expect([cluster.configMap[READ_ONLY_ENV], owner()]).toEqual([READ_ONLY_VALUE.off, '']);
      await pullEverythingTagged();
    } finally {
      cluster.readBarrier = 0;
      duringWindow = undefined;
    }
  }, 60_000);

  test('a window that no longer owns the switch (another took it over) leaves it as it is when it ends', async () => {
    const other = `registry-gc-other until ${Math.floor(Date.now() / 1000) + 3600}`;
    const window = await runWindow(gcPod(json).container.command[2], { PATH: await slowCollector(1) }, (output) => {
      if (output.includes('registry is read-only') && owner() !== other) {
        // what a window that found this one dead writes (one conditional write: a new resourceVersion)
        Object.assign(cluster.configMap, { [WINDOW_OWNER_KEY]: other });
        cluster.resourceVersion += 1;
      }
    });
    try {
      expect({ status: window.status, output: window.output }).toMatchObject({ status: 0 });
      expect(window.output).toContain(`the window now belongs to ${other}: leaving the switch as it is`);
      expect([cluster.configMap[READ_ONLY_ENV], owner()]).toEqual([READ_ONLY_VALUE.on, other]);
    } finally {
      Object.assign(cluster.configMap, { [READ_ONLY_ENV]: READ_ONLY_VALUE.off, [WINDOW_OWNER_KEY]: '' });
      cluster.resourceVersion += 1;
      await cluster.restartRegistry('test-clean-up');
    }
  }, 60_000);

  test('an evicted (Failed) registry pod left in the list does not block the window', async () => {
    cluster.pods.push({ token: 'evicted', deleting: false, ready: false, phase: 'Failed', name: 'registry-evicted' });
    try {
      // the CronJob's script with a 10 s restart wait (a blocked window fails after it)
      const window = await runWindow(renderGcScript({ rolloutTimeoutSeconds: 10 }));
      expect({ status: window.status, output: window.output }).toMatchObject({ status: 0 });
      expect(window.output).toContain('registry is read-write again');
      // still listed (nobody deleted it), never counted
      expect(cluster.pods.filter((p) => p.phase === 'Failed')).toHaveLength(1);
    } finally {
      cluster.pods = cluster.pods.filter((p) => p.phase !== 'Failed');
    }
  }, 60_000);

  test('a window killed with its trap (an OOM kill takes the whole container) stays visible as open; the next window reopens the registry first', async () => {
    const restarts = cluster.restarts.length;
    const killed = await runWindow(gcPod(json).container.command[2], { PATH: await slowCollector(30) }, (output, pid) => {
      // SIGKILL to the whole process group: no trap runs
      if (output.includes('registry is read-only')) process.kill(-pid, 'SIGKILL');
    });
    expect(killed.status).toBeNull();
    expect(cluster.configMap[READ_ONLY_ENV]).toBe(READ_ONLY_VALUE.on);
    // what `kubectl -n registry get configmap registry-maintenance` shows: the window, its pod and its end
    expect(owner()).toMatch(new RegExp(`^${killed.pod} until \\d+$`));
    await expect(pushImage(client, 'gc/while-left-open', 'v1')).rejects.toThrow(/HTTP 405/);

    const next = await runWindow(gcPod(json).container.command[2]);

    expect({ status: next.status, output: next.output }).toMatchObject({ status: 0 });
    expect(next.output).toContain(`the window of ${killed.pod} until `);
    expect(next.output).toMatch(/was left open \(its pod is gone or its time is over\): reopening the registry first/);
    expect(next.output).toMatch(new RegExp(`registry is read-write again \\(left open by ${killed.pod} until \\d+\\)`));
    expect(cluster.restarts.slice(restarts).map((r) => r.token)).toEqual([
      expect.stringMatching(/-read-only$/), expect.stringMatching(/-reopened$/), expect.stringMatching(/-read-only$/), expect.stringMatching(/-read-write$/),
    ]);
    expect([cluster.configMap[READ_ONLY_ENV], owner()]).toEqual([READ_ONLY_VALUE.off, '']);
    const pushed = await pushImage(client, 'gc/after-left-open', 'v1');
    tagged.set('gc/after-left-open:v1', pushed.manifestDigest);
    await pullEverythingTagged();
  }, 60_000);

  test('with deleteUntagged the untagged manifest goes; on 2.8.2 so do the platform manifests of a tagged index', async () => {
    const withOption = synth(environment('example-ops', { mirror: undefined, garbageCollection: { deleteUntagged: true } })).json;
    const script = gcPod(withOption).container.command[2];
    expect(script).toContain("GC_ARGS='garbage-collect --delete-untagged'");
    expect(gcPod(json).container.command[2]).toContain("GC_ARGS='garbage-collect'");

    const window = await runWindow(script);
    measured.deleteUntaggedWindowMs = window.ms;

    expect({ status: window.status, output: window.output }).toMatchObject({ status: 0 });
    expect(onDisk([untagged.digest, ...untagged.blobs])).toEqual([]);
    await pullImage(client, 'gc/a', 'v1', a.digest);
    await pullImage(client, 'gc/b', 'v1', b.digest);
    for (const [repoTag, digest] of tagged) await pullImage(client, repoTag.split(':')[0], repoTag.split(':')[1], digest);
    expect(onDisk([shared.descriptor.digest])).toEqual([shared.descriptor.digest]);
    await expect(pullIndex()).resolves.toBe(index.digest);
    // distribution 2.8 (issues #3178, #4939): the index's children have no tag of their own and are deleted; 3.1.0
    // keeps them. This is the caveat docs/operations.md states; the shipped image is 3.1.0.
    const children = platforms.map((p) => p.digest);
    // (their bytes stay in the blob store, the index still marks them; the repository's links to them are gone)
    for (const child of children) {
      expect(window.output).toContain(`manifest eligible for deletion: ${child}`);
      await expect(pullManifest(client, 'gc/multi', child)).rejects.toMatchObject({ status: 404 });
    }
    console.log(`GC window timings (ms): ${JSON.stringify(measured)}`);
  }, 60_000);
});
