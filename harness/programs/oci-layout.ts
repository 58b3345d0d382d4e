/**
 * An OCI image layout on disk with one large layer, made fast: the layer is `size` zero bytes (a valid, empty tar:
 * a tar ends at its first zero blocks) wrapped in gzip with deflate level 0 (stored blocks), so the blob is as large
 * as the data and costs a CRC, not a compression. skopeo sniffs the gzip header and sends the blob as it is.
 *
 * Large layouts are written by a node process of their own (this file run as a script): every chunk of the stream
 * is a new Buffer outside the heap, V8 answers that much external memory with full collections, and in a test worker
 * whose heap holds hundreds of MB the collector took 10.6 s of CPU for 1 GiB (a profile of the whole suite; the same
 * layout takes ~2 s in a fresh process).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { MEDIA_TYPES } from '../../lib/check/oci';

export interface LargeImage {
  /** `oci:<dir>:<tag>` for skopeo. */
  readonly reference: string;
  readonly layerDigest: string;
  readonly layerSize: number;
  readonly manifestDigest: string;
}

const CHUNK = Buffer.alloc(1 << 20);

/** Zeros, `size` bytes, in 1 MiB chunks (the same buffer every time: nothing is allocated per chunk). */
function zeros(size: number): Readable {
  let left = size;
  return new Readable({
    read() {
      if (left <= 0) return void this.push(null);
      const n = Math.min(left, CHUNK.length);
      left -= n;
      this.push(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n));
    },
  });
}

/** Passes data through while hashing it. */
function hashing(hash: ReturnType<typeof createHash>, count: { bytes: number }): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      count.bytes += chunk.length;
      done(null, chunk);
    },
  });
}

async function writeBlob(blobs: string, data: Buffer | string): Promise<{ digest: string; size: number }> {
  const buffer = Buffer.from(data);
  const hex = createHash('sha256').update(buffer).digest('hex');
  await fs.writeFile(path.join(blobs, hex), buffer);
  return { digest: `sha256:${hex}`, size: buffer.length };
}

/** Writes the layout in this process. */
async function writeLayout(dir: string, size: number, tag: string): Promise<LargeImage> {
  const blobs = path.join(dir, 'blobs', 'sha256');
  await fs.mkdir(blobs, { recursive: true });
  const diffHash = createHash('sha256');
  const blobHash = createHash('sha256');
  const blobCount = { bytes: 0 };
  const temp = path.join(blobs, 'layer.partial');
  await pipeline(zeros(size), hashing(diffHash, { bytes: 0 }), createGzip({ level: 0, chunkSize: 1 << 20 }), hashing(blobHash, blobCount), createWriteStream(temp));
  const layerHex = blobHash.digest('hex');
  await fs.rename(temp, path.join(blobs, layerHex));
  const layer = { mediaType: MEDIA_TYPES.layerGzip, digest: `sha256:${layerHex}`, size: blobCount.bytes };
  const config = await writeBlob(blobs, JSON.stringify({
    architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [`sha256:${diffHash.digest('hex')}`] },
  }));
  const manifest = await writeBlob(blobs, JSON.stringify({
    schemaVersion: 2, mediaType: MEDIA_TYPES.manifest, config: { mediaType: MEDIA_TYPES.config, ...config }, layers: [layer],
  }));
  await fs.writeFile(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await fs.writeFile(path.join(dir, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: MEDIA_TYPES.manifest, ...manifest, annotations: { 'org.opencontainers.image.ref.name': tag } }],
  }));
  return { reference: `oci:${dir}:${tag}`, layerDigest: layer.digest, layerSize: layer.size, manifestDigest: manifest.digest };
}

/** Layouts up to this size are written in the calling process; larger ones by a process of their own. */
const IN_PROCESS_MAX_BYTES = 64 << 20;
const REGISTER_TS = path.join(__dirname, '..', '..', 'scripts', 'register-ts.js');

/** An OCI layout in `dir` with one layer of `size` bytes (plus its gzip framing), tagged `tag`. */
export async function writeLargeImageLayout(dir: string, size: number, tag = 'large'): Promise<LargeImage> {
  if (size <= IN_PROCESS_MAX_BYTES) return writeLayout(dir, size, tag);
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['--require', REGISTER_TS, __filename, dir, String(size), tag], (err, out, stderr) =>
      (err ? reject(new Error(`writing the ${size}-byte layout failed: ${stderr || err.message}`)) : resolve(out)));
  });
  return JSON.parse(stdout) as LargeImage;
}

if (require.main === module) {
  const [dir, size, tag] = process.argv.slice(2);
  writeLayout(dir, Number(size), tag).then((image) => process.stdout.write(JSON.stringify(image)), (err) => {
    process.stderr.write(`${(err as Error).stack ?? err}\n`);
    process.exitCode = 1;
  });
}
