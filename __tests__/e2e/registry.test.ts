/**
 * End to end: the registry-dev stack as synthesized, run with the real programs. docker-registry (distribution 2.8.2)
 * reads the config.yml of the synthesized ConfigMap; an nginx stream proxy stands in for ingress-nginx's tcp-services
 * on the port of the synthesized Helm values; registry-check (library) and skopeo are the clients.
 *
 * Mount paths: the Deployment mounts config, TLS, htpasswd and data under /etc/distribution and /var/lib/registry.
 * We do NOT bind-mount them there (`unshare -m` needs root, CI may not be root, and the host's /etc would be
 * touched if a namespace step failed). Instead the volumes are laid out in a temp dir (support/pod.ts) and the
 * config values that name mounted paths are redirected with distribution's own REGISTRY_* env overrides, plus the
 * two listen addresses (loopback, free ports). Everything else in config.yml is used as synthesized. The first test
 * pins the override set to exactly the paths the Deployment mounts, so a stack change that breaks that wiring
 * fails here.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { pullImage, pushBlob, pushImage, pushManifest } from '../../lib/check/blobs';
import { RegistryClient, RegistryHttpError } from '../../lib/check/client';
import { Descriptor, imageConfig, imageManifest, MEDIA_TYPES, probeLayer } from '../../lib/check/oci';
import { address, synthesized, Synthesized } from '../../harness/json';
import {
  execFileAsync, garbageCollect, httpGet, SkopeoAuth, skopeoCopy, skopeoDigest, skopeoInspectFailure, tcpAccepts, useCleanup, waitFor,
} from '../../harness/programs';
import { portOf, registryWorkload, RegistryWorkload, tcpRouteFromValues } from '../../harness/programs/pod';
import { LoadUser, StackRegistry, startProxy, startStackRegistry } from '../../harness/programs/stack-registry';
import { FRONT_REALM, INNER_PORT } from '../../lib/registry/front';

let json: Synthesized;
let workload: RegistryWorkload;
const LOAD_USER: LoadUser = { user: 'load', password: randomBytes(16).toString('hex'), cost: 4 };

beforeAll(() => {
  json = synthesized('dev');
  workload = registryWorkload(json);
});

/** Path of a blob's content under the filesystem driver's root. */
function blobFile(root: string, digest: string): string {
  const hex = digest.replace(/^sha256:/, '');
  return path.join(root, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
}

/** A one-config, n-layer OCI image pushed blob by blob (so layers can be shared between images). */
async function pushLayers(client: RegistryClient, repo: string, tag: string, layers: Array<ReturnType<typeof probeLayer>>) {
  const descriptors: Descriptor[] = [];
  for (const layer of layers) {
    descriptors.push({ ...(await pushBlob(client, repo, layer.bytes, { mode: 'monolithic' })), mediaType: MEDIA_TYPES.layerGzip });
  }
  const config = { ...(await pushBlob(client, repo, imageConfig(layers.map((l) => l.diffId)), { mode: 'monolithic' })), mediaType: MEDIA_TYPES.config };
  const manifestDigest = await pushManifest(client, repo, tag, imageManifest(config, descriptors));
  return { manifestDigest, config, layers: descriptors };
}

describe('registry-dev, synthesized, on the real registry behind an nginx stream proxy', () => {
  const cleanup = useCleanup();
  let stack: StackRegistry;
  let proxy: string;
  let fellBack: boolean;
  let client: RegistryClient;
  let loadClient: RegistryClient;
  let auth: SkopeoAuth;
  /** Every image pushed so far: `repo:tag` -> manifest digest, blob digests and the client that pushed it. */
  const pushed = new Map<string, { digest: string; blobs: string[]; by: RegistryClient }>();
  const remember = (repoTag: string, image: { manifestDigest: string; config: Descriptor; layers: Descriptor[] }, by = client) =>
    pushed.set(repoTag, { digest: image.manifestDigest, blobs: [image.config.digest, ...image.layers.map((l) => l.digest)], by });

  const newClient = ({ username = stack.user, password = stack.password } = {}) => {
    const c = new RegistryClient({ host: '127.0.0.1', port: Number(proxy.split(':')[1]), username, password, caPem: stack.tls.caPem });
    cleanup.add(() => c.close());
    return c;
  };
  const ref = (repoTag: string) => `docker://${proxy}/${repoTag}`;
  /**
   * Pulls every image pushed so far by tag and checks every digest, as the load user (bcrypt cost 4: the content is
   * what is checked here; the stack's cost-10 users are exercised by the push and pull tests above).
   */
  const pullEverything = async () => {
    await Promise.all([...pushed].map(async ([repoTag, { digest }]) => {
      const [repo, tag] = repoTag.split(':');
      await expect(pullImage(loadClient, repo, tag, digest)).resolves.toMatchObject({ digest });
    }));
  };

  beforeAll(async () => {
    stack = await startStackRegistry(cleanup, json, { loadUser: LOAD_USER });
    const route = tcpRouteFromValues(json);
    const started = await startProxy(cleanup, stack.dir, route.externalPort, stack.port);
    fellBack = started.fellBack;
    if (fellBack) console.warn(`port ${route.externalPort} from the Helm values is taken on 127.0.0.1: proxy on ${started.nginx.port} instead`);
    proxy = started.nginx.address;
    client = newClient();
    loadClient = newClient({ username: LOAD_USER.user, password: LOAD_USER.password });
    auth = { certDir: stack.tls.certDir, creds: `${stack.user}:${stack.password}` };
  }, 30_000);

  it('runs the ConfigMap config with overrides for exactly the paths the Deployment mounts; the front, with the secrets mounted in its container', async () => {
    const front = workload.front!;
    const mount = (volume: string, mounts = workload.mounts) => mounts.find((m) => m.name === volume)!;
    // The container runs `serve <the config mount>`, and the config names files on the data mount only: TLS and
    // passwords are the front's.
    expect(workload.args).toEqual(['serve', mount('config').mount_path]);
    expect(stack.pod.mountedConfigPaths).toEqual({ 'storage.filesystem.rootdirectory': mount('data').mount_path });
    expect(Object.keys(stack.pod.overrides).sort()).toEqual(['REGISTRY_HTTP_ADDR', 'REGISTRY_HTTP_DEBUG_ADDR', 'REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY']);
    expect(stack.pod.overrides.REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY).toBe(stack.pod.volumeDirs.data);
    // The front's nginx.conf, as run, reads the files the secrets' items put in its mounts.
    const conf = await fs.readFile(stack.front!.confPath, 'utf8');
    const hostFile = (volume: string, file: string) => path.join(stack.pod.volumeDirs[mount(volume, front.mounts).name], file);
    expect(conf).toContain(`ssl_certificate ${hostFile('tls', 'tls.crt')};`);
    await expect(fs.readFile(hostFile('tls', 'tls.crt'), 'utf8')).resolves.toBe(stack.tls.certPem);
    await expect(fs.readFile(hostFile('tls', 'tls.key'), 'utf8')).resolves.toBe(stack.tls.keyPem);
    expect(conf).toContain(`auth_basic_user_file ${hostFile('auth', 'htpasswd')};`);
    await expect(fs.readFile(hostFile('auth', 'htpasswd'), 'utf8')).resolves.toMatch(new RegExp(`^${stack.user}:\\$2a\\$`));
    // The grants file is the one Terraform rendered from the role variables' defaults.
    expect(conf).toContain(`include ${hostFile('front-config', 'grants.map')};`);
    await expect(fs.readFile(hostFile('front-config', 'grants.map'), 'utf8')).resolves.toContain('"~^registry-pull:pull:" 1;');
    // The listen ports replaced are the containers' named ports: the registry's debug port, the front's registry port.
    expect(portOf(workload.config.http.addr)).toBe(INNER_PORT);
    expect(workload.config.http.addr).toBe(`127.0.0.1:${INNER_PORT}`);
    expect(front.nginxConf).toContain(`listen ${workload.containerPorts.registry} ssl;`);
    expect(portOf(workload.config.http.debug.addr)).toBe(workload.containerPorts.metrics);
    // REGISTRY_HTTP_SECRET comes from the stack's http secret, as the Deployment's env says.
    const secretRef = workload.container.env.find((e: any) => e.name === 'REGISTRY_HTTP_SECRET').value_from.secret_key_ref;
    const httpSecret = address(json, 'kubernetes_secret_v1', 'auth/http-secret');
    expect(secretRef.name).toBe(`\${${httpSecret}.metadata[0].name}`);
    expect(stack.pod.env.REGISTRY_HTTP_SECRET).toBe(stack.secrets[httpSecret][secretRef.key]);
    expect(stack.registry.logTail(200)).not.toMatch(/No HTTP secret provided/);
  });

  it('listens on the port of the synthesized ingress-nginx tcp route, which targets the registry container port', () => {
    const route = tcpRouteFromValues(json);
    expect(route.externalPort).toBe(json.variable.external_port.default);
    expect(route.namespaceExpression).toBe(workload.namespaceExpression);
    expect(route.serviceAddress).toBe(workload.serviceAddress);
    const servicePort = workload.service.spec.port.find((p: any) => p.port === route.port);
    expect(servicePort).toMatchObject({ protocol: 'TCP', target_port: 'registry' });
    expect(workload.front!.container.port).toEqual([{ name: servicePort.target_port, container_port: workload.containerPorts.registry, protocol: 'TCP' }]);
    if (!fellBack) expect(proxy).toBe(`127.0.0.1:${route.externalPort}`);
  });

  it('pushes with registry-check and pulls with skopeo, pushes with skopeo and pulls with registry-check: equal digests', async () => {
    const image = await pushImage(client, 'e2e/check', 'v1');
    remember('e2e/check:v1', image);
    await expect(skopeoDigest(ref('e2e/check:v1'), auth)).resolves.toBe(image.manifestDigest);
    const copy = path.join(stack.dir, 'skopeo-copy');
    // skopeo verifies every blob digest while copying.
    await expect(skopeoCopy(ref('e2e/check:v1'), `dir:${copy}`, { src: auth }, stack.dir)).resolves.toBe(image.manifestDigest);
    const bySkopeo = await skopeoCopy(`dir:${copy}`, ref('e2e/skopeo:v1'), { dest: auth }, stack.dir);
    expect(bySkopeo).toBe(image.manifestDigest);
    remember('e2e/skopeo:v1', image);
    const pulled = await pullImage(client, 'e2e/skopeo', 'v1', bySkopeo);
    expect(pulled.layers).toEqual(image.layers);
  }, 20_000);

  it('answers 401 to anonymous requests and to a wrong password, for both clients', async () => {
    const anonymous = await client.request('GET', '/v2/e2e/check/manifests/v1', { anonymous: true });
    await anonymous.drain();
    expect(anonymous.status).toBe(401);
    // nginx's challenge, with the realm the front's config names
    expect(anonymous.headers['www-authenticate']).toBe(`Basic realm="${FRONT_REALM}"`);
    expect(workload.front!.nginxConf).toContain(`default "${FRONT_REALM}";`);
    const wrong = newClient({ password: 'not-the-password' });
    await expect(pushImage(wrong, 'e2e/wrong', 'v1')).rejects.toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    await expect(pullImage(wrong, 'e2e/check', 'v1')).rejects.toBeInstanceOf(RegistryHttpError);
    const unauthorized = /401|unauthorized|authentication required/i;
    await expect(skopeoInspectFailure(ref('e2e/check:v1'), { certDir: stack.tls.certDir })).resolves.toMatch(unauthorized);
    await expect(skopeoInspectFailure(ref('e2e/check:v1'), { ...auth, creds: `${stack.user}:wrong` })).resolves.toMatch(unauthorized);
  }, 20_000);

  it('fails on TLS for clients that do not trust the CA (skopeo without --cert-dir, curl without --cacert)', async () => {
    await expect(skopeoInspectFailure(ref('e2e/check:v1'), { creds: auth.creds })).resolves.toMatch(/x509: certificate signed by unknown authority/);
    const curl = (args: string[]) => execFileAsync('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', ...args, `https://${proxy}/`]);
    // 60: peer certificate cannot be authenticated with known CA certificates.
    await expect(curl([])).rejects.toMatchObject({ code: 60 });
    await expect(curl(['--cacert', stack.tls.caCertPath])).resolves.toMatchObject({ stdout: '200' });
  });

  it('serves 16 concurrent pushes and pulls without a failure, every digest equal', async () => {
    // The load user (bcrypt cost 4): the stack's cost-10 user is what every other test here authenticates with.
    const results = await Promise.allSettled(
      Array.from({ length: 16 }, async (_, i) => {
        const c = newClient({ username: LOAD_USER.user, password: LOAD_USER.password });
        const image = await pushImage(c, `e2e/concurrent-${i}`, 'v1');
        const pulled = await pullImage(c, `e2e/concurrent-${i}`, 'v1');
        return { repoTag: `e2e/concurrent-${i}:v1`, image, pulled: pulled.digest };
      }),
    );
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    const done = results.map((r) => (r as PromiseFulfilledResult<{ repoTag: string; image: Awaited<ReturnType<typeof pushImage>>; pulled: string }>).value);
    for (const r of done) {
      expect(r.pulled).toBe(r.image.manifestDigest);
      remember(r.repoTag, r.image, loadClient);
    }
    expect(new Set(done.map((r) => r.pulled)).size).toBe(16);
  }, 30_000);

  it('pulls every image with the same digest after a restart (stopped by PID) on the same config and storage', async () => {
    const before = stack.registry.pid;
    await stack.restart();
    expect(() => process.kill(before, 0)).toThrow();
    expect(stack.registry.pid).not.toBe(before);
    await pullEverything();
    await expect(skopeoDigest(ref('e2e/skopeo:v1'), auth)).resolves.toBe(pushed.get('e2e/skopeo:v1')!.digest);
  }, 30_000);

  it('garbage-collects only the unreferenced blobs of a deleted manifest; the other images still pull', async () => {
    const shared = probeLayer();
    const [onlyA, onlyB] = [probeLayer(), probeLayer()];
    const a = await pushLayers(client, 'e2e/gc', 'a', [shared, onlyA]);
    const b = await pushLayers(client, 'e2e/gc', 'b', [shared, onlyB]);
    remember('e2e/gc:b', b);
    // Tags cannot be deleted (400): the manifest goes by digest.
    await (await client.expect('DELETE', `/v2/e2e/gc/manifests/${a.manifestDigest}`, [202])).drain();

    const root = stack.pod.overrides.REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY;
    const goneAfterGc = [onlyA.descriptor.digest, a.config.digest, a.manifestDigest];
    const kept = [shared.descriptor.digest, onlyB.descriptor.digest, b.config.digest, b.manifestDigest];
    const onDisk = (digests: string[]) => digests.map((d) => [d, existsSync(blobFile(root, d))]);
    expect(onDisk([...goneAfterGc, ...kept])).toEqual([...goneAfterGc, ...kept].map((d) => [d, true]));

    // GC runs with the registry stopped, on the same config file and overrides.
    await stack.registry.stop();
    const gc = (dryRun: boolean) => garbageCollect(stack.pod.configPath, { dryRun, env: stack.pod.env });
    const dryRun = await gc(true);
    for (const digest of goneAfterGc) expect(dryRun).toContain(`blob eligible for deletion: ${digest}`);
    for (const digest of kept) expect(dryRun).not.toContain(`eligible for deletion: ${digest}`);
    expect(onDisk(goneAfterGc)).toEqual(goneAfterGc.map((d) => [d, true]));

    await gc(false);
    expect(onDisk(goneAfterGc)).toEqual(goneAfterGc.map((d) => [d, false]));
    expect(onDisk(kept)).toEqual(kept.map((d) => [d, true]));
    const others = [...pushed.values()].flatMap((image) => [image.digest, ...image.blobs]);
    expect(onDisk(others)).toEqual(others.map((d) => [d, true]));

    await stack.start();
    await expect(pullImage(client, 'e2e/gc', a.manifestDigest)).rejects.toMatchObject({ status: 404 });
    await pullEverything();
  }, 30_000);
});

describe('registry-dev health: GET / (the probes) with unusable storage', () => {
  const cleanup = useCleanup();

  it('answers 200, then 503 once the storage check has failed `threshold` times; the liveness check still passes', async () => {
    // The probes of the synthesized Deployment: startup and readiness GET / over HTTPS on the port named
    // "registry" (the front's, which passes GET / to the registry); liveness a TCP connect to the same port.
    const front = workload.front!.container;
    const probes = ['startup_probe', 'readiness_probe'].map((p) => front[p].http_get);
    expect(probes).toEqual(Array(2).fill({ path: '/', port: 'registry', scheme: 'HTTPS' }));
    expect(front.liveness_probe.tcp_socket).toEqual([{ port: 'registry' }]);
    const { threshold } = workload.config.health.storagedriver;
    // The config's 10s interval, shortened: only the interval changes, the threshold is the synthesized one.
    const stack = await startStackRegistry(cleanup, json, { env: { REGISTRY_HEALTH_STORAGEDRIVER_INTERVAL: '200ms' } });
    const probe = () => httpGet(`https://127.0.0.1:${stack.port}/`, { caPem: stack.tls.caPem });
    await expect(probe()).resolves.toMatchObject({ status: 200 });

    // Removing the root or replacing it with a file does not fail distribution 2.8's check (Stat("/") of a missing
    // root is "not found", which it counts as healthy); a root whose parent is a file does (ENOTDIR). So the data
    // volume is re-pointed, while stopped, at a backing directory that is then replaced by a file.
    const dataDir = stack.pod.volumeDirs.data;
    const backing = path.join(stack.dir, `backing-${randomBytes(4).toString('hex')}`);
    await stack.registry.stop();
    await fs.mkdir(backing);
    await fs.rename(dataDir, path.join(backing, 'data'));
    await fs.symlink(path.join(backing, 'data'), dataDir);
    await stack.start();
    await expect(probe()).resolves.toMatchObject({ status: 200 });

    await fs.rm(backing, { recursive: true });
    await fs.writeFile(backing, 'not a directory\n');
    let last = { status: 0, body: '' };
    await waitFor(`503 after ${threshold} failed storage checks`, async () => (last = await probe()).status === 503, { timeoutMs: 10_000 });
    expect(JSON.parse(last.body)).toMatchObject({ errors: [{ code: 'UNAVAILABLE', detail: expect.stringMatching(/health check failed/) }] });
    // Readiness fails (the pod leaves the Service); liveness, a TCP connect, passes: the kubelet does not restart
    // a registry whose storage is down.
    await expect(tcpAccepts(stack.port)).resolves.toBe(true);
  }, 30_000);
});
