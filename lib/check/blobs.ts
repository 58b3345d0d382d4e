import { createHash } from 'node:crypto';
import { once } from 'node:events';
import * as fs from 'node:fs';
import { pipeline, Readable, Transform, Writable } from 'node:stream';
import { RegistryClient, RegistryHttpError, RegistryResponse } from './client';
import { Descriptor, imageConfig, imageManifest, MEDIA_TYPES, probeLayer, sha256Digest } from './oci';

/** Blob content: in memory, a file (streamed), or a stream (not monolithic: its digest is not known up front). */
export type BlobSource = Buffer | { readonly path: string } | Readable;

/**
 * - `streamed`: POST, one PATCH whose body is the whole blob streamed (Content-Length when known), PUT ?digest=.
 *   The digest is computed while sending; memory stays at two stream buffers (READ_AHEAD), and the registry checks the
 *   credentials once (each request costs a bcrypt comparison there, ~65 ms). What skopeo and docker do.
 * - `chunked`: POST, one PATCH with Content-Range per `chunkSize` bytes (one chunk held in memory), PUT ?digest=.
 * - `monolithic`: POST, then one PUT ?digest= carrying the body (the digest is computed first: a second read).
 */
export type UploadMode = 'streamed' | 'monolithic' | 'chunked';

export interface PushBlobOptions {
  /** @default - 'chunked' when `chunkSize` is given, else 'streamed' */
  readonly mode?: UploadMode;
  /** Bytes per PATCH in chunked mode; memory use is bounded by this, never by the blob size. @default 5 MiB */
  readonly chunkSize?: number;
}

export const DEFAULT_CHUNK_SIZE = 5 * 1024 * 1024;

/**
 * Buffer of a streamed upload's file read and of its hashing stage. While the socket waits for the registry, the
 * client reads and hashes up to this far ahead, in large chunks. With Node's defaults (64 KiB reads, 16 KiB
 * transform) a 256 MiB push took 1.33 s of CPU and 2.59 s; with 1 MiB, 0.93 s and 2.28 s, peak RSS unchanged
 * (BENCHMARKS.md).
 */
const READ_AHEAD = 1 << 20;

/** A pulled blob or manifest whose bytes do not hash to the digest asked for. */
export class DigestMismatchError extends Error {
  readonly code = 'EDIGESTMISMATCH';
  constructor(what: string, expected: string, actual: string) {
    super(`${what}: expected ${expected}, got ${actual}`);
    this.name = 'DigestMismatchError';
  }
}

function blobStream(source: BlobSource): Readable {
  if (Buffer.isBuffer(source)) return Readable.from([source]);
  if (source instanceof Readable) return source;
  return fs.createReadStream(source.path, { highWaterMark: READ_AHEAD });
}

/** A pass-through that hashes and counts the bytes flowing from `source`. */
function hashing(source: Readable): { stream: Readable; digest(): string; size(): number } {
  const hash = createHash('sha256');
  let size = 0;
  const stream = new Transform({
    highWaterMark: READ_AHEAD,
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  // pipeline destroys `stream` with the source's error, and the request carrying it fails with that error.
  pipeline(source, stream, () => undefined);
  return { stream, digest: () => `sha256:${hash.digest('hex')}`, size: () => size };
}

async function knownLength(source: BlobSource): Promise<number | undefined> {
  if (Buffer.isBuffer(source)) return source.length;
  if (source instanceof Readable) return undefined;
  return (await fs.promises.stat(source.path)).size;
}

async function digestOf(source: Buffer | { readonly path: string }): Promise<{ digest: string; size: number }> {
  if (Buffer.isBuffer(source)) return { digest: sha256Digest(source), size: source.length };
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of fs.createReadStream(source.path, { highWaterMark: READ_AHEAD }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

/** Splits a byte stream into Buffers of exactly `size` bytes (the last one shorter), holding at most one chunk. */
export async function* rechunk(source: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let held = 0;
  for await (const piece of source) {
    let rest = piece;
    while (held + rest.length >= size) {
      const take = size - held;
      parts.push(rest.subarray(0, take));
      yield Buffer.concat(parts, size);
      parts = [];
      held = 0;
      rest = rest.subarray(take);
    }
    if (rest.length > 0) {
      parts.push(rest);
      held += rest.length;
    }
  }
  if (held > 0) yield Buffer.concat(parts, held);
}

function locationOf(res: RegistryResponse, what: string): string {
  const location = res.headers.location;
  if (!location) throw new Error(`${what}: the registry sent no Location header`);
  return location;
}

function withDigest(client: RegistryClient, location: string, digest: string): string {
  const url = new URL(client.pathOf(location), client.origin);
  url.searchParams.set('digest', digest);
  return `${url.pathname}${url.search}`;
}

async function startUpload(client: RegistryClient, repo: string): Promise<string> {
  const res = await client.expect('POST', `/v2/${repo}/blobs/uploads/`, [202]);
  await res.drain();
  return locationOf(res, 'starting a blob upload');
}

async function finishUpload(client: RegistryClient, location: string, digest: string, body?: BlobSource, size?: number): Promise<void> {
  const headers = body === undefined ? {} : { 'content-type': 'application/octet-stream', 'content-length': size };
  const res = await client.expect('PUT', withDigest(client, location, digest), [201],
    { headers, body: body === undefined || Buffer.isBuffer(body) ? body : blobStream(body) });
  await res.drain();
  const stored = res.headers['docker-content-digest'];
  if (stored && stored !== digest) throw new DigestMismatchError('registry stored the blob under another digest', digest, String(stored));
}

/**
 * Pushes one blob (see UploadMode). A file or stream is read once, except in monolithic mode, which hashes the file
 * before sending it.
 */
export async function pushBlob(client: RegistryClient, repo: string, source: BlobSource, options: PushBlobOptions = {}): Promise<Descriptor> {
  const mode = options.mode ?? (options.chunkSize === undefined ? 'streamed' : 'chunked');
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!(chunkSize > 0)) throw new RangeError(`chunkSize must be a positive number of bytes, got ${chunkSize}`);
  if (mode === 'monolithic' && source instanceof Readable) {
    throw new TypeError('a monolithic upload needs a Buffer or a file: its digest goes in the URL before the body');
  }
  let location = await startUpload(client, repo);
  if (mode === 'monolithic') {
    const { digest, size } = await digestOf(source as Buffer | { readonly path: string });
    await finishUpload(client, location, digest, source, size);
    return { mediaType: 'application/octet-stream', digest, size };
  }
  if (mode === 'streamed') {
    const length = await knownLength(source);
    const body = hashing(blobStream(source));
    const headers = { 'content-type': 'application/octet-stream', ...(length === undefined ? {} : { 'content-length': length }) };
    const res = await client.expect('PATCH', location, [202], { headers, body: body.stream });
    await res.drain();
    // The registry answers with the range it holds: a short body (a file that shrank) fails here, not at the PUT.
    const range = res.headers.range;
    if (range && range !== `0-${body.size() - 1}`) throw new Error(`uploading a blob: sent ${body.size()} bytes, the registry holds ${range}`);
    const digest = body.digest();
    await finishUpload(client, locationOf(res, 'uploading a blob'), digest);
    return { mediaType: 'application/octet-stream', digest, size: body.size() };
  }
  const hash = createHash('sha256');
  let offset = 0;
  for await (const chunk of rechunk(blobStream(source), chunkSize)) {
    hash.update(chunk);
    const res = await client.expect('PATCH', location, [202], {
      headers: {
        'content-type': 'application/octet-stream',
        'content-range': `${offset}-${offset + chunk.length - 1}`,
      },
      body: chunk,
    });
    await res.drain();
    location = locationOf(res, 'uploading a chunk');
    offset += chunk.length;
  }
  const digest = `sha256:${hash.digest('hex')}`;
  await finishUpload(client, location, digest);
  return { mediaType: 'application/octet-stream', digest, size: offset };
}

async function writeTo(sink: Writable, chunk: Buffer): Promise<void> {
  if (!sink.write(chunk)) await once(sink, 'drain');
}

/** GETs a blob (following a storage redirect), streams it through sha256 (and into `sink`), and verifies it. */
export async function pullBlob(client: RegistryClient, repo: string, digest: string, sink?: Writable): Promise<Descriptor> {
  let res = await client.expect('GET', `/v2/${repo}/blobs/${digest}`, [200, 301, 302, 303, 307, 308]);
  if (res.status !== 200) {
    await res.drain();
    res = await client.getExternal(new URL(locationOf(res, 'blob redirect'), client.origin).toString());
    if (res.status !== 200) throw new RegistryHttpError(res.status, 'GET', 'blob redirect target', undefined, await res.text().catch(() => ''));
  }
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
    if (sink) await writeTo(sink, chunk);
  }
  const actual = `sha256:${hash.digest('hex')}`;
  if (actual !== digest) throw new DigestMismatchError(`blob ${digest}`, digest, actual);
  return { mediaType: 'application/octet-stream', digest, size };
}

export async function pushManifest(client: RegistryClient, repo: string, reference: string, manifest: Buffer, mediaType = MEDIA_TYPES.manifest): Promise<string> {
  const res = await client.expect('PUT', `/v2/${repo}/manifests/${reference}`, [201], { headers: { 'content-type': mediaType }, body: manifest });
  await res.drain();
  const digest = sha256Digest(manifest);
  const stored = res.headers['docker-content-digest'];
  if (stored && stored !== digest) throw new DigestMismatchError('manifest stored under another digest', digest, String(stored));
  return digest;
}

export interface PulledManifest {
  readonly digest: string;
  readonly mediaType: string;
  readonly bytes: Buffer;
  readonly config: Descriptor;
  readonly layers: Descriptor[];
}

/** GETs a manifest by tag or digest and checks that its bytes hash to Docker-Content-Digest (and `expectedDigest`). */
export async function pullManifest(client: RegistryClient, repo: string, reference: string, expectedDigest?: string): Promise<PulledManifest> {
  const res = await client.expect('GET', `/v2/${repo}/manifests/${reference}`, [200], {
    headers: { accept: [MEDIA_TYPES.manifest, MEDIA_TYPES.dockerManifest].join(', ') },
  });
  const bytes = await res.bytes(4 << 20);
  const digest = sha256Digest(bytes);
  const header = res.headers['docker-content-digest'];
  if (!header) throw new Error(`manifest ${repo}:${reference}: the registry sent no Docker-Content-Digest header`);
  if (header !== digest) throw new DigestMismatchError(`manifest ${repo}:${reference} (Docker-Content-Digest)`, String(header), digest);
  if (expectedDigest && digest !== expectedDigest) throw new DigestMismatchError(`manifest ${repo}:${reference}`, expectedDigest, digest);
  const parsed = JSON.parse(bytes.toString('utf8')) as { mediaType?: string; config: Descriptor; layers: Descriptor[] };
  return { digest, bytes, mediaType: parsed.mediaType ?? String(res.headers['content-type']), config: parsed.config, layers: parsed.layers };
}

export interface PushImageOptions {
  /** Push this file as the (uncompressed tar) layer instead of a generated probe layer; it is streamed, never buffered. */
  readonly layerFile?: string;
  /** How the layer is uploaded. @default - 'chunked' when `chunkSize` is given, else 'streamed' */
  readonly mode?: UploadMode;
  readonly chunkSize?: number;
}

export interface PushedImage {
  readonly repository: string;
  readonly tag: string;
  readonly manifestDigest: string;
  readonly manifestSize: number;
  readonly config: Descriptor;
  readonly layers: Descriptor[];
  /** How the layer was uploaded. */
  readonly layerUpload: UploadMode;
}

/**
 * Pushes a one-layer OCI image: the layer by a streamed (or chunked) upload, the config by monolithic upload, then the manifest.
 * Without `layerFile` the layer is a small gzip'd tar unique to this call.
 */
export async function pushImage(client: RegistryClient, repo: string, tag: string, options: PushImageOptions = {}): Promise<PushedImage> {
  let layer: Descriptor;
  let diffId: string;
  const layerUpload = options.mode ?? (options.chunkSize === undefined ? 'streamed' : 'chunked');
  if (options.layerFile) {
    const pushed = await pushBlob(client, repo, { path: options.layerFile }, { mode: layerUpload, chunkSize: options.chunkSize });
    layer = { ...pushed, mediaType: MEDIA_TYPES.layerTar };
    diffId = pushed.digest;
  } else {
    const probe = probeLayer();
    const pushed = await pushBlob(client, repo, probe.bytes, { mode: layerUpload, chunkSize: options.chunkSize });
    layer = { ...pushed, mediaType: probe.descriptor.mediaType };
    diffId = probe.diffId;
  }
  const configBytes = imageConfig([diffId]);
  const config = { ...(await pushBlob(client, repo, configBytes, { mode: 'monolithic' })), mediaType: MEDIA_TYPES.config };
  const manifest = imageManifest(config, [layer]);
  const manifestDigest = await pushManifest(client, repo, tag, manifest);
  return { repository: repo, tag, manifestDigest, manifestSize: manifest.length, config, layers: [layer], layerUpload };
}

/** Pulls the manifest by tag and every blob it names, verifying each digest while streaming. */
export async function pullImage(client: RegistryClient, repo: string, tag: string, expectedDigest?: string): Promise<PulledManifest> {
  const manifest = await pullManifest(client, repo, tag, expectedDigest);
  for (const descriptor of [manifest.config, ...manifest.layers]) {
    const pulled = await pullBlob(client, repo, descriptor.digest);
    if (pulled.size !== descriptor.size) {
      throw new Error(`blob ${descriptor.digest}: the manifest says ${descriptor.size} bytes, the registry sent ${pulled.size}`);
    }
  }
  return manifest;
}

/**
 * Deletes a manifest by digest (tags cannot be deleted: 400) and then its blobs' links in the repository.
 * Returns 'disabled' when the registry refuses deletes (405 / UNSUPPORTED).
 */
export async function deleteImage(client: RegistryClient, repo: string, manifestDigest: string, blobs: Descriptor[]): Promise<'deleted' | 'disabled'> {
  try {
    await (await client.expect('DELETE', `/v2/${repo}/manifests/${manifestDigest}`, [202])).drain();
  } catch (err) {
    if (err instanceof RegistryHttpError && (err.status === 405 || err.code === 'UNSUPPORTED')) return 'disabled';
    throw err;
  }
  for (const blob of blobs) {
    await (await client.expect('DELETE', `/v2/${repo}/blobs/${blob.digest}`, [202, 404])).drain();
  }
  return 'deleted';
}
