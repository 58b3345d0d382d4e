import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pullBlob, pullImage, pushBlob, pushImage } from '../../lib/check/blobs';
import { RegistryClient, RegistryHttpError } from '../../lib/check/client';
import { MEDIA_TYPES } from '../../lib/check/oci';
import { useCleanup } from '../../harness/programs';
import { PASSWORD, Scenario, startScenario, USER } from './scenario';

describe('blob push/pull library against a real registry', () => {
  const cleanup = useCleanup();
  let scenario: Scenario;
  let client: RegistryClient;
  let layerFile: string;
  let layerDigest: string;
  const repo = 'library-test/blobs';

  beforeAll(async () => {
    scenario = await startScenario(cleanup);
    client = new RegistryClient({ host: '127.0.0.1', port: scenario.registry.port, username: USER, password: PASSWORD, caPem: scenario.tls!.caPem });
    cleanup.add(() => client.close());
    layerFile = path.join(scenario.dir, 'layer.bin');
    const data = randomBytes(3 * 1024 * 1024 + 123);
    fs.writeFileSync(layerFile, data);
    layerDigest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
  }, 30_000);

  it('pushes a file in chunks and pulls it back byte for byte into a sink', async () => {
    const pushed = await pushBlob(client, repo, { path: layerFile }, { mode: 'chunked', chunkSize: 1024 * 1024 });
    expect(pushed).toMatchObject({ digest: layerDigest, size: 3 * 1024 * 1024 + 123 });
    const copy = path.join(scenario.dir, 'pulled.bin');
    const sink = fs.createWriteStream(copy);
    await pullBlob(client, repo, layerDigest, sink);
    await new Promise((resolve) => sink.end(resolve));
    expect(fs.readFileSync(copy).equals(fs.readFileSync(layerFile))).toBe(true);
  });

  it('pushes a file in one streamed PATCH by default and a stream of unknown length the same way', async () => {
    await expect(pushBlob(client, 'library-test/streamed', { path: layerFile })).resolves.toMatchObject({ digest: layerDigest, size: 3 * 1024 * 1024 + 123 });
    await expect(pullBlob(client, 'library-test/streamed', layerDigest)).resolves.toMatchObject({ size: 3 * 1024 * 1024 + 123 });
    const data = randomBytes(100_000);
    const pushed = await pushBlob(client, 'library-test/streamed', Readable.from([data.subarray(0, 40_000), data.subarray(40_000)]), { mode: 'streamed' });
    expect(pushed).toEqual({ mediaType: 'application/octet-stream', digest: `sha256:${createHash('sha256').update(data).digest('hex')}`, size: 100_000 });
  });

  it('pushes a file monolithically (digest computed first, body streamed)', async () => {
    await expect(pushBlob(client, 'library-test/mono', { path: layerFile }, { mode: 'monolithic' })).resolves.toMatchObject({ digest: layerDigest });
    await expect(pullBlob(client, 'library-test/mono', layerDigest)).resolves.toMatchObject({ size: 3 * 1024 * 1024 + 123 });
  });

  it('pushes a stream of unknown length in chunks', async () => {
    const data = randomBytes(10_000);
    const pushed = await pushBlob(client, repo, Readable.from([data.subarray(0, 4000), data.subarray(4000)]), { chunkSize: 3000 });
    expect(pushed.digest).toBe(`sha256:${createHash('sha256').update(data).digest('hex')}`);
  });

  it('refuses a monolithic upload from a stream (the digest must precede the body)', async () => {
    await expect(pushBlob(client, repo, Readable.from([Buffer.from('x')]), { mode: 'monolithic' })).rejects.toThrow(/monolithic upload needs a Buffer or a file/);
  });

  it('reports a missing blob as a registry 404', async () => {
    const missing = `sha256:${'0'.repeat(64)}`;
    const error = await pullBlob(client, repo, missing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryHttpError);
    expect(error).toMatchObject({ status: 404, code: 'BLOB_UNKNOWN' });
  });

  it('pushes an image with a layer file (as an uncompressed tar layer) and pulls it verified', async () => {
    const image = await pushImage(client, 'library-test/image', 'bench', { layerFile, chunkSize: 2 * 1024 * 1024 });
    expect(image.layers).toEqual([{ mediaType: MEDIA_TYPES.layerTar, digest: layerDigest, size: 3 * 1024 * 1024 + 123 }]);
    const pulled = await pullImage(client, 'library-test/image', 'bench', image.manifestDigest);
    expect(pulled.layers).toEqual(image.layers);
    expect(pulled.config).toEqual(image.config);
  });
});
