/**
 * The harness for S3 object storage with several registry replicas and a Redis blob-descriptor cache, proven on real
 * programs on 127.0.0.1: Ceph RADOS Gateway on a single-node Ceph (support/ceph.ts), redis-server
 * (support/redis.ts) and two of Debian's docker-registry (distribution 2.8.2) sharing one bucket, one
 * REGISTRY_HTTP_SECRET and one Redis, with TLS and htpasswd as in the other e2e tests. skopeo pushes through one
 * replica and pulls through the other.
 *
 * The config keys are those 2.8.2 reads (`storage.s3.{accesskey,secretkey,region,regionendpoint,bucket,rootdirectory,
 * secure,v4auth,chunksize}`, `redis.addr`), plus the keys distribution 3 reads instead (`storage.s3.forcepathstyle`,
 * `redis.addrs`): 2.8.2 ignores keys it does not know, and forces path-style addressing whenever regionendpoint is set.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as https from 'node:https';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { stringify } from 'yaml';
import { imageConfig, imageManifest, MEDIA_TYPES, sha256Digest, tarArchive } from '../../lib/check/oci';
import {
  CephS3, freePort, httpGet, listeningAddresses, makeTlsMaterial, RedisProcess, RegistryProcess, SkopeoAuth, skopeoCopy, startCeph, startRedis,
  startRegistry, tempDir, TlsMaterial, useCleanup, waitFor, writeHtpasswd,
} from '../../harness/programs';

const MiB = 1024 * 1024;
const BUCKET = 'registry';
const ROOT = '/registry';
const USER = 'e2e';
const PASSWORD = randomBytes(16).toString('hex');

/** One image in skopeo's `dir:` layout: a config and gzip'd tar layers of random content. */
interface ImageDir {
  readonly dir: string;
  readonly manifestDigest: string;
  /** Config and layer digests with their sizes. */
  readonly blobs: Array<{ digest: string; size: number }>;
}

/**
 * Writes an image whose layers hold one file of `sizes[i]` random bytes each. The layers are gzip streams at level 0
 * (stored blocks): valid gzip, so skopeo pushes them as they are, at memcpy speed, where compressing random data
 * would take seconds.
 */
async function writeImageDir(dir: string, sizes: number[]): Promise<ImageDir> {
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
  return {
    dir,
    manifestDigest: sha256Digest(manifest),
    blobs: [config, ...layers.map((l) => l.descriptor)].map(({ digest, size }) => ({ digest, size })),
  };
}

const fileDigest = async (file: string) => `sha256:${createHash('sha256').update(await fs.readFile(file)).digest('hex')}`;

/** Path of a blob's data in the bucket (distribution's layout under the root directory, no leading slash). */
const blobKey = (digest: string) => {
  const hex = digest.replace(/^sha256:/, '');
  return `${ROOT.slice(1)}/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`;
};

/** An HTTPS request with basic auth, body optional; resolves with status, headers and body. */
function registryRequest(url: string, method: string, caPem: string, body?: Buffer): Promise<{ status: number; location?: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}` };
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

describe('S3 (Ceph RGW) and Redis harness: two registry 2.8.2 replicas on one bucket', () => {
  // Declared before useCleanup (jest runs afterAll hooks in declaration order): reads the running cluster.
  afterAll(() => {
    if (process.env.E2E_REPORT) {
      console.log(`s3-harness: ready after ms ${JSON.stringify(timings)}; ceph steps ${JSON.stringify(ceph?.startSteps)}; rss kB ${JSON.stringify(ceph?.memoryKb())}`);
    }
  });
  const cleanup = useCleanup();
  let dir: string;
  let ceph: CephS3;
  let redis: RedisProcess;
  let tls: TlsMaterial;
  let image: ImageDir;
  let auth: SkopeoAuth;
  let replicas: RegistryProcess[];
  const httpSecret = randomBytes(32).toString('hex');
  const timings: Record<string, number> = {};

  /** config.yml of a replica. `secretKey` overrides the S3 user's (a wrong one makes the storage check fail). */
  const registryConfig = (
    port: number,
    { secretKey = ceph.secretKey, healthInterval = '10s', threshold = 3, debugPort }: { secretKey?: string; healthInterval?: string; threshold?: number; debugPort?: number } = {},
  ) =>
    stringify({
      version: 0.1,
      log: { level: 'info', formatter: 'text', fields: { service: 'registry' } },
      storage: {
        s3: {
          accesskey: ceph.accessKey,
          secretkey: secretKey,
          region: ceph.region,
          regionendpoint: ceph.endpoint,
          forcepathstyle: true,
          bucket: BUCKET,
          rootdirectory: ROOT,
          secure: false,
          v4auth: true,
          chunksize: 5 * MiB,
        },
        cache: { blobdescriptor: 'redis' },
        // Clients get blobs from the registry, not redirects to presigned radosgw URLs.
        redirect: { disable: true },
        delete: { enabled: true },
        maintenance: { uploadpurging: { enabled: false } },
      },
      http: {
        addr: `127.0.0.1:${port}`,
        tls: { certificate: tls.certPath, key: tls.keyPath, minimumtls: 'tls1.2' },
        ...(debugPort ? { debug: { addr: `127.0.0.1:${debugPort}` } } : {}),
      },
      auth: { htpasswd: { realm: 'Registry', path: path.join(dir, 'htpasswd') } },
      redis: {
        addr: redis.address,
        addrs: [redis.address],
        password: redis.password,
        db: 0,
        dialtimeout: '2s',
        readtimeout: '2s',
        writetimeout: '2s',
      },
      health: { storagedriver: { enabled: true, interval: healthInterval, threshold } },
    });

  /** A replica in `<dir>/<name>`. AWS_CA_BUNDLE is removed: 2.8.2's S3 driver panics at start when it is set. */
  const startReplica = async (name: string, options: Parameters<typeof registryConfig>[1] = {}) => {
    const replicaDir = path.join(dir, name);
    await fs.mkdir(replicaDir, { recursive: true });
    const port = await freePort();
    return startRegistry(cleanup, {
      dir: replicaDir,
      port,
      caPem: tls.caPem,
      config: registryConfig(port, options),
      // Node leaves a variable whose value is undefined out of the child's environment.
      env: { REGISTRY_HTTP_SECRET: httpSecret, AWS_CA_BUNDLE: undefined as unknown as string },
    });
  };
  const ref = (replica: RegistryProcess, repoTag: string) => `docker://${replica.address}/${repoTag}`;

  beforeAll(async () => {
    const t0 = Date.now();
    dir = await tempDir(cleanup, 'registry-s3-');
    const timed = <T>(what: string, p: Promise<T>) => p.then((v) => ((timings[what] = Date.now() - t0), v));
    [ceph, redis, tls, image] = await Promise.all([
      timed('ceph', startCeph(cleanup, path.join(dir, 'ceph'))),
      timed('redis', startRedis(cleanup, path.join(dir, 'redis'), { password: randomBytes(16).toString('hex') })),
      makeTlsMaterial(path.join(dir, 'tls')),
      // 72 MiB crosses the 64 MiB mark: the registry writes it to S3 as a multipart upload (5 MiB parts) and moves it
      // into place with a multipart copy (above its 32 MiB copy threshold).
      timed('image', writeImageDir(path.join(dir, 'image'), [4 * 1024, 6 * MiB, 72 * MiB])),
      // bcrypt cost 4, as for registry.test.ts's load user: at the stack's cost 10 every request spends ~65 ms of CPU
      // on the password (2 s of this file), and storage is what this file is about.
      writeHtpasswd(path.join(dir, 'htpasswd'), { [USER]: PASSWORD }, 4),
    ]);
    await ceph.createBucket(BUCKET);
    replicas = await Promise.all([startReplica('a'), startReplica('b')]);
    timings.replicas = Date.now() - t0;
    auth = { certDir: tls.certDir, creds: `${USER}:${PASSWORD}` };
  }, 30_000);

  it('starts Ceph and Redis in a few seconds, listening on 127.0.0.1 only', () => {
    expect(ceph.endpoint).toBe(`http://127.0.0.1:${ceph.port}`);
    expect(redis.address).toBe(`127.0.0.1:${redis.port}`);
    for (const pid of [...Object.values(ceph.pids), redis.pid]) {
      const addresses = listeningAddresses(pid);
      expect(addresses.length).toBeGreaterThan(0);
      expect(addresses.filter((a) => !a.startsWith('127.0.0.1:'))).toEqual([]);
    }
    expect(listeningAddresses(ceph.pids.rgw)).toEqual([`127.0.0.1:${ceph.port}`]);
    expect(listeningAddresses(redis.pid)).toEqual([redis.address]);
    expect(ceph.startMs).toBeLessThan(10_000);
    expect(redis.startMs).toBeLessThan(5_000);
  });

  it('pushes a three-layer image (one layer of 72 MiB) with skopeo through one replica and pulls it through the other', async () => {
    const [a, b] = replicas;
    const pushed = await skopeoCopy(`dir:${image.dir}`, ref(a, 'e2e/s3:v1'), { dest: auth }, dir);
    expect(pushed).toBe(image.manifestDigest);
    const out = path.join(dir, 'pulled');
    const pulled = await skopeoCopy(ref(b, 'e2e/s3:v1'), `dir:${out}`, { src: auth }, dir);
    expect(pulled).toBe(image.manifestDigest);
    for (const blob of image.blobs) {
      const file = path.join(out, blob.digest.replace(/^sha256:/, ''));
      await expect(fileDigest(file)).resolves.toBe(blob.digest);
      expect((await fs.stat(file)).size).toBe(blob.size);
    }
    // The blobs are objects in the bucket, at their full size; no upload is left behind.
    const objects = await ceph.listObjects(BUCKET, ROOT.slice(1) + '/');
    for (const blob of image.blobs) expect(objects).toContainEqual({ key: blobKey(blob.digest), size: blob.size });
    expect(objects.filter((o) => o.key.includes('/_uploads/'))).toEqual([]);
    // The 72 MiB layer went to S3 as a multipart upload of 5 MiB parts under _uploads/, then into place by a
    // multipart copy (UploadPartCopy requests to the blob's own key: nothing else writes there).
    const big = image.blobs.find((b) => b.size > 64 * MiB)!;
    const parts = (prefix: string) => ceph.requests().filter((r) => r.method === 'PUT' && r.path.startsWith(`/${BUCKET}/${prefix}`) && /[?&]partNumber=/.test(r.path));
    expect(parts(blobKey(big.digest)).length).toBeGreaterThanOrEqual(2);
    const uploadParts = parts(`${ROOT.slice(1)}/docker/registry/v2/repositories/e2e/s3/_uploads/`);
    expect(uploadParts.length).toBeGreaterThanOrEqual(Math.floor(big.size / (5 * MiB)));
    // Both replicas share the blob descriptor cache: Redis holds an entry for every blob.
    const keys = (await redis.command('KEYS', '*')) as string[];
    for (const blob of image.blobs) expect(keys).toContain(`blobs::${blob.digest}`);
  }, 30_000);

  it('finishes on one replica an upload started on the other (same bucket, same http secret)', async () => {
    const [a, b] = replicas;
    const blob = randomBytes(64 * 1024);
    const digest = sha256Digest(blob);
    const started = await registryRequest(`https://${a.address}/v2/e2e/split/blobs/uploads/`, 'POST', tls.caPem);
    expect(started.status).toBe(202);
    const location = new URL(started.location!, `https://${a.address}`);
    expect(location.host).toBe(a.address);
    location.host = b.address;
    location.searchParams.set('digest', digest);
    const finished = await registryRequest(location.toString(), 'PUT', tls.caPem, blob);
    expect({ status: finished.status, body: finished.body.toString() }).toMatchObject({ status: 201 });
    const fetched = await registryRequest(`https://${a.address}/v2/e2e/split/blobs/${digest}`, 'GET', tls.caPem);
    expect(fetched.status).toBe(200);
    expect(sha256Digest(fetched.body)).toBe(digest);
  }, 20_000);

  it('answers 503 on GET / with a wrong S3 secret key (the storage health check fails) and says why', async () => {
    // distribution 2.8 logs nothing when its health check fails, and once the check has failed every request gets 503.
    // So the first check is 2 s away, and a storage request made before it logs the S3 error; the debug server's
    // /debug/health names it too, for as long as the check fails.
    const debugPort = await freePort();
    const wrong = await startReplica('wrong-key', { secretKey: `${ceph.secretKey}x`, healthInterval: '2s', threshold: 1, debugPort });
    const catalog = await registryRequest(`https://${wrong.address}/v2/_catalog`, 'GET', tls.caPem);
    expect({ status: catalog.status, body: catalog.body.toString() }).toMatchObject({ status: 500 });
    let last = { status: 0, body: '' };
    const probe = async () => (last = await httpGet(`https://${wrong.address}/`, { caPem: tls.caPem })).status === 503;
    await waitFor('503 from the replica with a wrong S3 secret key', probe, { timeoutMs: 10_000 });
    expect(JSON.parse(last.body)).toMatchObject({ errors: [{ code: 'UNAVAILABLE', detail: expect.stringMatching(/health check failed/) }] });
    const health = await httpGet(`http://127.0.0.1:${debugPort}/debug/health`);
    expect(health.status).toBe(503);
    expect(JSON.parse(health.body)).toEqual({ storagedriver_s3: expect.stringMatching(/SignatureDoesNotMatch.*status code: 403/s) });
    // The log line of the storage request: level=error, the S3 error code and radosgw's status.
    expect(wrong.logTail(200)).toMatch(/level=error msg="response completed with error".*err\.detail="s3aws: SignatureDoesNotMatch: .*status code: 403/);
    await wrong.stop();
  }, 20_000);
});
