/**
 * End to end: registry-example-s3 as synthesized (Storage.s3 with static keys and a private CA, two replicas,
 * Redis, blobs streamed), and the same on a store clients trust with redirects on (test environment
 * s3-trusted-store: a private CA requires s3_disable_redirect), run on real programs on 127.0.0.1: Ceph RADOS Gateway on a single-node Ceph (harness/programs/ceph.ts),
 * redis-server, Debian's docker-registry (distribution 2.8.2) for each replica, nginx stream holding both replicas
 * as the Service would, skopeo and registry-check as clients.
 *
 * Each replica is the synthesized pod (harness/programs/pod.ts): config.yml from the ConfigMap, env from the
 * Deployment with every Terraform expression in it (and in the S3 and Redis Secrets) evaluated by the real terraform
 * binary with this test's values (harness/programs/stack-values.ts). Two additions for the 2.8.2 stand-in only:
 * REGISTRY_REDIS_ADDR (2.8 reads `redis.addr`; v3 reads the synthesized REGISTRY_REDIS_ADDRS), and AWS_CA_BUNDLE
 * unset (this machine sets it, and 2.8.2's S3 driver panics at start with it: "LoadCustomCABundleError ...
 * unsupported transport"; the stack never sets it).
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as https from 'node:https';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { Writable } from 'node:stream';
import { pullBlob, pullImage, pushBlob, pushImage, pushManifest } from '../../lib/check/blobs';
import { RegistryClient } from '../../lib/check/client';
import { Descriptor, imageConfig, imageManifest, MEDIA_TYPES, probeLayer, sha256Digest, tarArchive } from '../../lib/check/oci';
import { synthesized, type Synthesized } from '../../harness/json';
import {
  CephS3, execFileAsync, freePort, garbageCollect, httpGet, listeningAddresses, makeTlsMaterial, NginxStreamProcess, RedisProcess,
  SkopeoAuth, skopeoCopy, startCeph, startNginxStream, startRedis, tempDir, TlsMaterial, useCleanup, waitFor,
} from '../../harness/programs';
import { registryWorkload, type RegistryWorkload } from '../../harness/programs/pod';
import { evaluateStackValueVariants, type StackValues } from '../../harness/programs/stack-values';
import { type LoadUser, type StackRegistry, stackSecrets, type StackSecrets, startStackRegistry } from '../../harness/programs/stack-registry';

const MiB = 1024 * 1024;
const ROOT = path.resolve(__dirname, '../..');
const LOAD_USER: LoadUser = { user: 'load', password: randomBytes(16).toString('hex'), cost: 4 };
/**
 * A key pair YAML would misread unquoted (a hex number, a comment): distribution parses env overrides as YAML, the
 * stack JSON-encodes them.
 */
const ACCESS_KEY = `0x${randomBytes(8).toString('hex').toUpperCase()}`;
const SECRET_KEY = `#0x1F:"${randomBytes(12).toString('hex')}"`;

let json: Synthesized;
/** example-s3 without the private CA: blob GETs redirect to the store. */
let redirectJson: Synthesized;
let workload: RegistryWorkload;

beforeAll(() => {
  json = synthesized('example-s3');
  redirectJson = synthesized('s3-trusted-store');
  workload = registryWorkload(json);
});

/** One image in skopeo's `dir:` layout: random layers of the given sizes (gzip level 0: valid gzip at memcpy speed). */
async function writeImageDir(dir: string, sizes: number[]): Promise<{ dir: string; manifestDigest: string; blobs: Array<{ digest: string; size: number }> }> {
  await fs.mkdir(dir, { recursive: true });
  const layers = await Promise.all(sizes.map(async (size, i) => {
    const tar = tarArchive([{ name: `layer-${i}.bin`, content: await promisify(randomBytes)(size) }]);
    const bytes = gzipSync(tar, { level: 0 });
    return { bytes, diffId: sha256Digest(tar), descriptor: { mediaType: MEDIA_TYPES.layerGzip, digest: sha256Digest(bytes), size: bytes.length } };
  }));
  const configBytes = imageConfig(layers.map((l) => l.diffId));
  const config = { mediaType: MEDIA_TYPES.config, digest: sha256Digest(configBytes), size: configBytes.length };
  const manifest = imageManifest(config, layers.map((l) => l.descriptor));
  const hex = (digest: string) => path.join(dir, digest.replace(/^sha256:/, ''));
  await Promise.all([
    fs.writeFile(path.join(dir, 'version'), 'Directory Transport Version: 1.1\n'),
    fs.writeFile(path.join(dir, 'manifest.json'), manifest),
    fs.writeFile(hex(config.digest), configBytes),
    ...layers.map((l) => fs.writeFile(hex(l.descriptor.digest), l.bytes)),
  ]);
  return { dir, manifestDigest: sha256Digest(manifest), blobs: [config, ...layers.map((l) => l.descriptor)].map(({ digest, size }) => ({ digest, size })) };
}

const fileDigest = async (file: string) => `sha256:${createHash('sha256').update(await fs.readFile(file)).digest('hex')}`;

/** An HTTPS request with basic auth that does not follow redirects. */
function rawRequest(url: string, method: string, caPem: string, creds: string, body?: Buffer): Promise<{ status: number; location?: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { authorization: `Basic ${Buffer.from(creds).toString('base64')}` };
    if (body) Object.assign(headers, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) });
    const req = https.request(url, { method, ca: caPem, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, body: Buffer.concat(chunks) }));
      res.once('error', reject);
    });
    req.once('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${url}: no answer in 10 s`)));
    req.end(body);
  });
}

describe('registry-example-s3, synthesized: two replicas on one Ceph RGW bucket and Redis, behind nginx stream', () => {
  const timings: Record<string, number> = {};
  // Declared before useCleanup (jest runs afterAll hooks in declaration order): reads the running cluster.
  afterAll(() => {
    if (process.env.E2E_REPORT) console.log(`s3: ready after ms ${JSON.stringify(timings)}; ceph ${JSON.stringify(ceph?.startSteps)}; rss kB ${JSON.stringify(ceph?.memoryKb())}`);
  });
  const cleanup = useCleanup();
  let dir: string;
  let ceph: CephS3;
  let redis: RedisProcess;
  /** TLS of the private S3 endpoint (nginx terminating TLS in front of radosgw), from its own CA. */
  let s3Tls: TlsMaterial;
  let s3TlsFront: NginxStreamProcess;
  let bigImage: Awaited<ReturnType<typeof writeImageDir>>;
  let material: StackSecrets;
  let values: Record<'redirect' | 'streamed' | 'privateCa' | 'otherCa' | 'gcPrefix', StackValues>;
  let a: StackRegistry;
  let b: StackRegistry;
  let nginx: NginxStreamProcess;
  let bucket: string;
  let rootPrefix: string;
  let auth: SkopeoAuth;
  /** Every image pushed and tagged so far: `repo:tag` -> manifest digest. */
  const tagged = new Map<string, string>();

  /** 2.8.2 only: see the file comment. */
  const standIn = () => ({ AWS_CA_BUNDLE: undefined, REGISTRY_REDIS_ADDR: redis.address });
  /** Variants evaluated on the redirecting stack (the others on example-s3). */
  const redirecting = new Set<StackValues>();
  const replica = (which: StackValues, env: Record<string, string | undefined> = {}) =>
    startStackRegistry(cleanup, redirecting.has(which) ? redirectJson : json, { material, values: which, env: { ...standIn(), ...env } });
  const client = (port: number, user = LOAD_USER.user, password = LOAD_USER.password) => {
    const c = new RegistryClient({ host: '127.0.0.1', port, username: user, password, caPem: material.tls.caPem });
    cleanup.add(() => c.close());
    return c;
  };
  const ref = (port: number, repoTag: string) => `docker://127.0.0.1:${port}/${repoTag}`;
  /** Key of a blob's data in the bucket (distribution's layout under the root directory). */
  const blobKey = (digest: string) => {
    const hex = digest.replace(/^sha256:/, '');
    return `${rootPrefix}docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`;
  };
  /** A blob's bytes through a replica, following its redirect (pullBlob verifies the digest). */
  const pullBlobDirect = async (port: number, repo: string, digest: string) => {
    const chunks: Buffer[] = [];
    await pullBlob(client(port), repo, digest, new Writable({ write: (c, _e, done) => { chunks.push(c); done(); } }));
    return Buffer.concat(chunks);
  };
  /** Pulls every tagged image (eight at a time) and checks every digest. */
  const pullAllTagged = async (port: number) => {
    const queue = [...tagged];
    await Promise.all(Array.from({ length: 8 }, async () => {
      const c = client(port);
      for (let next = queue.shift(); next; next = queue.shift()) {
        const [repoTag, digest] = next;
        const [repo, tag] = repoTag.split(':');
        await expect(pullImage(c, repo, tag, digest)).resolves.toMatchObject({ digest });
      }
    }));
  };

  beforeAll(async () => {
    const t0 = Date.now();
    const timed = <T>(what: string, p: Promise<T>) => p.then((v) => ((timings[what] = Date.now() - t0), v));
    dir = await tempDir(cleanup, 'registry-s3-');
    bucket = json.variable.s3_bucket.default;
    rootPrefix = `${json.variable.s3_root_directory.default.replace(/^\//, '')}/`;
    [ceph, redis, s3Tls, bigImage, material] = await Promise.all([
      timed('ceph', startCeph(cleanup, path.join(dir, 'ceph'))),
      // docs/storage.md's Redis: a password, no persistence, bounded memory evicting least-recently-used entries.
      startRedis(cleanup, path.join(dir, 'redis'), { password: `p#${randomBytes(12).toString('hex')}`, config: ['maxmemory 64mb', 'maxmemory-policy allkeys-lru'] }),
      makeTlsMaterial(path.join(dir, 's3-tls'), { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }),
      // 72 MiB crosses 64 MiB: a multipart upload of 10 MiB parts (s3_chunk_size_mib), then a multipart copy into
      // place (above the 32 MiB s3_multipart_copy_threshold_mib).
      timed('image', writeImageDir(path.join(dir, 'big-image'), [4 * 1024, 6 * MiB, 72 * MiB])),
      stackSecrets(json, path.join(dir, 'registry-tls'), LOAD_USER),
    ]);
    await Promise.all([ceph.createBucket(bucket), ceph.addKey(ACCESS_KEY, SECRET_KEY)]);
    s3TlsFront = await startNginxStream(cleanup, { dir: path.join(dir, 's3-tls-front'), port: await freePort(), upstreamPort: ceph.port, tls: s3Tls });
    const base = {
      s3_access_key: ACCESS_KEY, s3_secret_key: SECRET_KEY, s3_region: ceph.region, s3_region_endpoint: ceph.endpoint,
      s3_ca_pem: s3Tls.caPem, redis_addresses: [redis.address], redis_password: redis.password!,
    };
    const tls = { s3_region_endpoint: `https://127.0.0.1:${s3TlsFront.port}`, s3_disable_redirect: true };
    const { s3_ca_pem: _ca, ...trusted } = base;
    // One terraform apply per stack evaluates its variants (the stack's variables as a module called once per variant).
    const [onTrustedStore, onPrivateCa] = await Promise.all([
      evaluateStackValueVariants(redirectJson, path.join(dir, 'tf-redirect'), {
        redirect: trusted,
        // GC walks every repository under its root: a prefix of its own keeps that walk short.
        gcPrefix: { ...trusted, s3_root_directory: '/gc-test' },
      }),
      evaluateStackValueVariants(json, path.join(dir, 'tf'), {
        streamed: base,
        privateCa: { ...base, ...tls },
        otherCa: { ...base, ...tls, s3_ca_pem: material.tls.caPem },
      }),
    ]);
    values = { ...onTrustedStore, ...onPrivateCa };
    redirecting.add(values.redirect).add(values.gcPrefix);
    timings.terraform = Date.now() - t0;
    [a, b] = await Promise.all([replica(values.redirect), replica(values.redirect)]);
    nginx = await startNginxStream(cleanup, { dir: path.join(dir, 'nginx'), port: await freePort(), upstreamPorts: [a.port, b.port] });
    auth = { certDir: material.tls.certDir, creds: `${LOAD_USER.user}:${LOAD_USER.password}` };
    timings.replicas = Date.now() - t0;
  }, 30_000);

  it('runs the synthesized pod: the S3 driver and Redis from env and Secrets, nothing per-run in config.yml', async () => {
    expect(workload.config.storage.s3).toEqual({ v4auth: true, skipverify: false });
    expect(workload.config.storage.cache).toEqual({ blobdescriptor: 'redis' });
    expect(workload.configYaml).not.toContain('${');
    const env = a.pod.env;
    expect(env).toMatchObject({
      REGISTRY_STORAGE_S3_BUCKET: JSON.stringify(bucket),
      REGISTRY_STORAGE_S3_REGIONENDPOINT: JSON.stringify(ceph.endpoint),
      REGISTRY_STORAGE_S3_FORCEPATHSTYLE: 'true',
      REGISTRY_STORAGE_S3_SECURE: 'false',
      REGISTRY_STORAGE_S3_CHUNKSIZE: String(10 * MiB),
      REGISTRY_STORAGE_REDIRECT_DISABLE: 'false',
      // From the Secret, JSON-encoded: the YAML-hostile keys reach the driver as they are (radosgw accepts them below).
      REGISTRY_STORAGE_S3_ACCESSKEY: JSON.stringify(ACCESS_KEY),
      REGISTRY_STORAGE_S3_SECRETKEY: JSON.stringify(SECRET_KEY),
      REGISTRY_REDIS_ADDRS: JSON.stringify([redis.address]),
      REGISTRY_REDIS_PASSWORD: JSON.stringify(redis.password!),
    });
    // example-s3 streams blobs by default: its private CA is the registry's alone.
    expect(values.streamed.evaluated).toEqual(expect.objectContaining({ '${var.s3_disable_redirect}': 'true' }));
    expect(a.pod.env.REGISTRY_HTTP_SECRET).toBe(b.pod.env.REGISTRY_HTTP_SECRET);
    // Ceph, Redis and both registries listen on 127.0.0.1 only.
    for (const pid of [...Object.values(ceph.pids), redis.pid, a.registry.pid, b.registry.pid]) {
      expect(listeningAddresses(pid).filter((addr) => !addr.startsWith('127.0.0.1:'))).toEqual([]);
    }
  });

  it('pushes through one replica and pulls through the other: a 72 MiB layer as multipart upload and copy', async () => {
    const pushed = await skopeoCopy(`dir:${bigImage.dir}`, ref(a.port, 'e2e/big:v1'), { dest: auth }, dir);
    expect(pushed).toBe(bigImage.manifestDigest);
    tagged.set('e2e/big:v1', pushed);
    const out = path.join(dir, 'pulled-big');
    await expect(skopeoCopy(ref(b.port, 'e2e/big:v1'), `dir:${out}`, { src: auth }, dir)).resolves.toBe(bigImage.manifestDigest);
    for (const blob of bigImage.blobs) {
      await expect(fileDigest(path.join(out, blob.digest.replace(/^sha256:/, '')))).resolves.toBe(blob.digest);
    }
    await fs.rm(out, { recursive: true });
    const objects = await ceph.listObjects(bucket, rootPrefix);
    for (const blob of bigImage.blobs) expect(objects).toContainEqual({ key: blobKey(blob.digest), size: blob.size });
    // The big layer went up in 10 MiB parts under _uploads/, then into place by UploadPartCopy to its own key.
    const big = bigImage.blobs.find((blob) => blob.size > 64 * MiB)!;
    const parts = (prefix: string) => ceph.requests().filter((r) => r.method === 'PUT' && r.path.startsWith(`/${bucket}/${prefix}`) && /[?&]partNumber=/.test(r.path));
    expect(parts(`${rootPrefix}docker/registry/v2/repositories/e2e/big/_uploads/`).length).toBeGreaterThanOrEqual(7);
    expect(parts(blobKey(big.digest)).length).toBeGreaterThanOrEqual(2);
    // Both replicas share one blob-descriptor cache.
    const keys = (await redis.command('KEYS', 'blobs::*')) as string[];
    for (const blob of bigImage.blobs) expect(keys).toContain(`blobs::${blob.digest}`);
  }, 30_000);

  it('finishes on one replica an upload started on the other (one bucket, one http secret)', async () => {
    const blob = randomBytes(64 * 1024);
    const digest = sha256Digest(blob);
    const creds = `${LOAD_USER.user}:${LOAD_USER.password}`;
    const started = await rawRequest(`https://127.0.0.1:${a.port}/v2/e2e/split/blobs/uploads/`, 'POST', material.tls.caPem, creds);
    expect(started.status).toBe(202);
    const location = new URL(started.location!, `https://127.0.0.1:${a.port}`);
    location.host = `127.0.0.1:${b.port}`;
    location.searchParams.set('digest', digest);
    const finished = await rawRequest(location.toString(), 'PUT', material.tls.caPem, creds, blob);
    expect({ status: finished.status, body: finished.body.toString() }).toMatchObject({ status: 201 });
    const fetched = await pullBlobDirect(a.port, 'e2e/split', digest);
    expect(sha256Digest(fetched)).toBe(digest);
  }, 20_000);

  it('serves 32 concurrent pushes of distinct images through both replicas, then pulls every one with its digest', async () => {
    const results = await Promise.all(Array.from({ length: 32 }, async (_, i) => {
      const image = await pushImage(client(nginx.port), `e2e/batch-${i}`, 'v1');
      return { repoTag: `e2e/batch-${i}:v1`, digest: image.manifestDigest };
    }));
    expect(new Set(results.map((r) => r.digest)).size).toBe(32);
    for (const r of results) tagged.set(r.repoTag, r.digest);
    await Promise.all(results.map(async (r) => {
      const [repo, tag] = r.repoTag.split(':');
      await expect(pullImage(client(nginx.port), repo, tag, r.digest)).resolves.toMatchObject({ digest: r.digest });
    }));
    // nginx spread the connections: both replicas stored manifests.
    for (const replicaLog of [a.registry.logTail(5000), b.registry.logTail(5000)]) expect(replicaLog).toMatch(/PUT \/v2\/e2e\/batch-\d+\/manifests\/v1/);
  }, 30_000);

  it('keeps every push that reported success when one replica is SIGKILLed mid-batch; clients retry', async () => {
    const layer = () => randomBytes(MiB);
    let done = 0;
    let retries = 0;
    const killed = new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (done >= 3) {
          clearInterval(check);
          // the pod goes: the registry killed, its front's connections cut with it
          process.kill(b.registry.pid, 'SIGKILL');
          void b.front?.stop();
          resolve();
        }
      }, 5);
    });
    const pushWithRetry = async (i: number) => {
      for (let attempt = 1; ; attempt++) {
        // A new client per attempt: a kept-alive connection to the killed replica is gone.
        const c = client(nginx.port);
        try {
          const bytes = layer();
          const pushed = await pushBlob(c, `e2e/kill-${i}`, bytes, { mode: 'chunked', chunkSize: 512 * 1024 });
          const config = { ...(await pushBlob(c, `e2e/kill-${i}`, imageConfig([sha256Digest(bytes)]), { mode: 'monolithic' })), mediaType: MEDIA_TYPES.config };
          const digest = await pushManifest(c, `e2e/kill-${i}`, 'v1', imageManifest(config, [{ ...pushed, mediaType: MEDIA_TYPES.layerTar }]));
          done++;
          return { repoTag: `e2e/kill-${i}:v1`, digest };
        } catch (err) {
          if (attempt >= 4) throw err;
          retries++;
        }
      }
    };
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => pushWithRetry(i)));
    await killed;
    expect(retries).toBeGreaterThan(0);
    for (const r of results) tagged.set(r.repoTag, r.digest);
    // Through nginx, which now sends every connection to the survivor (the last test pulls everything again).
    await Promise.all(results.map(async (r) => {
      const [repo, tag] = r.repoTag.split(':');
      await expect(pullImage(client(nginx.port), repo, tag, r.digest)).resolves.toMatchObject({ digest: r.digest });
    }));
    // The replica comes back on its port (the Deployment replaces the pod).
    await b.start();
  }, 30_000);

  it('redirect on: blob GETs answer 307 to a presigned radosgw URL, and skopeo pulls through such URLs', async () => {
    const big = bigImage.blobs.find((blob) => blob.size > 64 * MiB)!;
    const res = await rawRequest(`https://127.0.0.1:${a.port}/v2/e2e/big/blobs/${big.digest}`, 'GET', material.tls.caPem, auth.creds!);
    expect(res.status).toBe(307);
    const target = new URL(res.location!);
    expect(`${target.protocol}//${target.host}`).toBe(ceph.endpoint);
    expect(target.pathname).toBe(`/${bucket}/${blobKey(big.digest)}`);
    expect(target.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    const before = ceph.requests().length;
    const out = path.join(dir, 'pulled-redirect');
    const small = tagged.get('e2e/batch-0:v1')!;
    await expect(skopeoCopy(ref(a.port, 'e2e/batch-0:v1'), `dir:${out}`, { src: auth }, dir)).resolves.toBe(small);
    const layerDigest = (JSON.parse(await fs.readFile(path.join(out, 'manifest.json'), 'utf8')) as { layers: Array<{ digest: string }> }).layers[0].digest;
    await fs.rm(out, { recursive: true });
    await waitFor('radosgw logging the presigned GET', async () =>
      ceph.requests().slice(before).some((r) => r.method === 'GET' && r.path.startsWith(`/${bucket}/${blobKey(layerDigest)}?`) && r.path.includes('X-Amz-Signature=') && r.status === 200));
  }, 20_000);

  it('redirect off (s3_disable_redirect): the registry streams blobs itself', async () => {
    const streaming = await replica(values.streamed);
    const layer = bigImage.blobs.find((blob) => blob.size > MiB && blob.size < 64 * MiB)!;
    const before = ceph.requests().length;
    const res = await rawRequest(`https://127.0.0.1:${streaming.port}/v2/e2e/big/blobs/${layer.digest}`, 'GET', material.tls.caPem, auth.creds!);
    expect(res.status).toBe(200);
    expect(sha256Digest(res.body)).toBe(layer.digest);
    const out = path.join(dir, 'pulled-streamed');
    await expect(skopeoCopy(ref(streaming.port, 'e2e/batch-0:v1'), `dir:${out}`, { src: auth }, dir)).resolves.toBe(tagged.get('e2e/batch-0:v1'));
    await fs.rm(out, { recursive: true });
    // The registry read the blob itself (signed in its headers), and no presigned URL was used.
    const ownGet = (r: { method: string; path: string }) => r.method === 'GET' && r.path === `/${bucket}/${blobKey(layer.digest)}`;
    await waitFor('radosgw logging the registry\'s own GET', async () => ceph.requests().slice(before).some(ownGet));
    expect(ceph.requests().slice(before).filter((r) => r.path.includes('X-Amz-Signature='))).toEqual([]);
    await streaming.registry.stop();
  }, 20_000);

  it('verifies a private TLS endpoint with the CA from s3_ca_pem (SSL_CERT_DIR), and refuses it without that CA', async () => {
    const trusting = await replica(values.privateCa);
    // The private CA is mounted and added to the roots: SSL_CERT_DIR re-pointed at the volume, the system dir kept.
    const [caDir, systemDir] = trusting.pod.env.SSL_CERT_DIR.split(':');
    expect(systemDir).toBe('/etc/ssl/certs');
    await expect(fs.readFile(path.join(caDir, 'ca.crt'), 'utf8')).resolves.toBe(s3Tls.caPem);
    const image = await pushImage(client(trusting.port), 'e2e/private-ca', 'v1');
    tagged.set('e2e/private-ca:v1', image.manifestDigest);
    await expect(pullImage(client(trusting.port), 'e2e/private-ca', 'v1', image.manifestDigest)).resolves.toMatchObject({ digest: image.manifestDigest });
    expect(trusting.pod.env.REGISTRY_STORAGE_S3_SECURE).toBe('true');
    await trusting.registry.stop();

    const distrusting = await replica(values.otherCa);
    await expect(pushImage(client(distrusting.port), 'e2e/other-ca', 'v1')).rejects.toMatchObject({ status: 500 });
    expect(distrusting.registry.logTail(200)).toMatch(/x509: certificate signed by unknown authority/);
    await distrusting.registry.stop();
  }, 20_000);

  it('wrong S3 credentials: GET / (readiness) answers 503, and the log and /debug/health say why', async () => {
    const wrong: StackValues = {
      ...values.redirect,
      secrets: Object.fromEntries(Object.entries(values.redirect.secrets).map(([address, data]) =>
        [address, 'secretkey' in data ? { ...data, secretkey: JSON.stringify(`${SECRET_KEY}x`) } : data])),
    };
    redirecting.add(wrong);
    // Only the interval is shortened; the threshold is the synthesized one.
    const broken = await replica(wrong, { REGISTRY_HEALTH_STORAGEDRIVER_INTERVAL: '200ms' });
    const catalog = await rawRequest(`https://127.0.0.1:${broken.port}/v2/_catalog`, 'GET', material.tls.caPem, auth.creds!);
    expect(catalog.status).toBe(500);
    let last = { status: 0, body: '' };
    await waitFor('503 on GET /', async () => (last = await httpGet(`https://127.0.0.1:${broken.port}/`, { caPem: material.tls.caPem })).status === 503, { timeoutMs: 10_000 });
    expect(JSON.parse(last.body)).toMatchObject({ errors: [{ code: 'UNAVAILABLE', detail: expect.stringMatching(/health check failed/) }] });
    const health = await httpGet(`http://127.0.0.1:${broken.debugPort}/debug/health`);
    expect(JSON.parse(health.body)).toEqual({ storagedriver_s3: expect.stringMatching(/SignatureDoesNotMatch.*status code: 403/s) });
    expect(broken.registry.logTail(200)).toMatch(/s3aws: SignatureDoesNotMatch: .*status code: 403/);
    await broken.registry.stop();
  }, 20_000);

  it('garbage-collects on S3 (dry run, then for real) and keeps every tagged image', async () => {
    // A replica on a root directory of its own, so GC walks a few repositories (and not the ones above).
    const registry = await replica(values.gcPrefix);
    const gcRoot = 'gc-test/';
    const c = client(registry.port);
    const [shared, onlyA, inOther, onlyB] = [probeLayer(), probeLayer(), probeLayer(), probeLayer()];
    const push = async (repo: string, tag: string, layers: Array<ReturnType<typeof probeLayer>>) => {
      const descriptors: Descriptor[] = [];
      for (const layer of layers) descriptors.push({ ...(await pushBlob(c, repo, layer.bytes, { mode: 'monolithic' })), mediaType: MEDIA_TYPES.layerGzip });
      const config = { ...(await pushBlob(c, repo, imageConfig(layers.map((l) => l.diffId)), { mode: 'monolithic' })), mediaType: MEDIA_TYPES.config };
      return { config, manifestDigest: await pushManifest(c, repo, tag, imageManifest(config, descriptors)) };
    };
    // a and b share a layer; a also shares one with another repository; b and other stay tagged.
    const gcA = await push('e2e/gc', 'a', [shared, onlyA, inOther]);
    const kept = { 'e2e/gc:b': await push('e2e/gc', 'b', [shared, onlyB]), 'e2e/gc-other:v1': await push('e2e/gc-other', 'v1', [inOther]) };
    await (await c.expect('DELETE', `/v2/e2e/gc/manifests/${gcA.manifestDigest}`, [202])).drain();
    const key = (digest: string) => blobKey(digest).replace(rootPrefix, gcRoot);
    const inBucket = async (digests: string[]) => {
      const keys = new Set((await ceph.listObjects(bucket, gcRoot)).map((o) => o.key));
      return digests.map((d) => [d, keys.has(key(d))]);
    };
    const goneAfterGc = [onlyA.descriptor.digest, gcA.config.digest, gcA.manifestDigest];
    const keptBlobs = [shared, onlyB, inOther].map((l) => l.descriptor.digest)
      .concat(Object.values(kept).flatMap((image) => [image.config.digest, image.manifestDigest]));
    expect(await inBucket([...goneAfterGc, ...keptBlobs])).toEqual([...goneAfterGc, ...keptBlobs].map((d) => [d, true]));

    // GC with the registry stopped, on the pod's own config and env.
    await registry.registry.stop();
    const gc = (dryRun: boolean) => garbageCollect(registry.pod.configPath, { dryRun, env: { ...registry.pod.env, ...standIn() } as unknown as Record<string, string> });
    const dryRun = await gc(true);
    for (const digest of goneAfterGc) expect(dryRun).toContain(`blob eligible for deletion: ${digest}`);
    for (const digest of keptBlobs) expect(dryRun).not.toContain(`eligible for deletion: ${digest}`);
    expect(await inBucket(goneAfterGc)).toEqual(goneAfterGc.map((d) => [d, true]));
    await gc(false);
    expect(await inBucket(goneAfterGc)).toEqual(goneAfterGc.map((d) => [d, false]));
    expect(await inBucket(keptBlobs)).toEqual(keptBlobs.map((d) => [d, true]));

    // GC does not touch the Redis cache, which still vouches for the deleted blob: a client would skip uploading it
    // again and push a manifest naming a blob that is gone. Hence docs/storage.md's procedure flushes the cache's database
    // after GC, before the registry serves again.
    await registry.start();
    const head = async () => (await rawRequest(`https://127.0.0.1:${registry.port}/v2/e2e/gc/blobs/${onlyA.descriptor.digest}`, 'HEAD', material.tls.caPem, auth.creds!)).status;
    expect(await head()).toBe(307);
    await expect(redis.command('FLUSHDB')).resolves.toBe('OK');
    expect(await head()).toBe(404);
    for (const [repoTag, image] of Object.entries(kept)) {
      const [repo, tag] = repoTag.split(':');
      await expect(pullImage(client(registry.port), repo, tag, image.manifestDigest)).resolves.toMatchObject({ digest: image.manifestDigest });
    }
    await registry.registry.stop();
  }, 30_000);

  it('moves a host-path registry\'s images into it with scripts/migrate-registry.sh, every digest verified', async () => {
    // The load user (bcrypt cost 4) on both sides: 2.8.2 checks passwords one at a time, and the script makes many requests.
    const source = await startStackRegistry(cleanup, synthesized('dev'), { loadUser: LOAD_USER });
    const sourceClient = new RegistryClient({ host: '127.0.0.1', port: source.port, username: LOAD_USER.user, password: LOAD_USER.password, caPem: source.tls.caPem });
    cleanup.add(() => sourceClient.close());
    const images = await Promise.all(['team/app:v1', 'team/app:v2', 'tools:1.0'].map(async (repoTag) => {
      const [repo, tag] = repoTag.split(':');
      return { repoTag, digest: (await pushImage(sourceClient, repo, tag)).manifestDigest };
    }));
    // One directory trusted for both: the two registries' CAs.
    const certDir = path.join(dir, 'migration-certs');
    await fs.mkdir(certDir);
    await fs.writeFile(path.join(certDir, 'ca.crt'), source.tls.caPem + material.tls.caPem);
    const { stdout } = await execFileAsync('sh', [path.join(ROOT, 'scripts/migrate-registry.sh')], {
      env: {
        ...process.env,
        SRC: `127.0.0.1:${source.port}`, DEST: `127.0.0.1:${nginx.port}`, CERT_DIR: certDir,
        SRC_CREDS: `${LOAD_USER.user}:${LOAD_USER.password}`, DEST_CREDS: `${LOAD_USER.user}:${LOAD_USER.password}`,
      },
    });
    expect(stdout).toContain(`copied 3 tags of 2 repositories from 127.0.0.1:${source.port}`);
    expect(stdout).toContain('verified 3 tags on');
    for (const image of images) {
      expect(stdout).toContain(`verified ${image.repoTag} ${image.digest}`);
      tagged.set(image.repoTag, image.digest);
    }
    await pullAllTagged(nginx.port);
  }, 30_000);
});
