import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';

export const MEDIA_TYPES = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  layerTar: 'application/vnd.oci.image.layer.v1.tar',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
} as const;

/** An OCI content descriptor. */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
}

export function sha256Digest(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;
export function isSha256Digest(value: string): boolean {
  return DIGEST_RE.test(value);
}

function field(header: Buffer, offset: number, length: number, value: string): void {
  header.write(value, offset, Math.min(length, Buffer.byteLength(value)), 'latin1');
}

function octal(value: number, length: number): string {
  return value.toString(8).padStart(length - 1, '0') + '\0';
}

/** A POSIX ustar archive holding regular files (enough for a probe layer). */
export function tarArchive(files: Array<{ name: string; content: Buffer; mtime?: Date }>): Buffer {
  const blocks: Buffer[] = [];
  for (const file of files) {
    if (Buffer.byteLength(file.name) > 100) throw new Error(`tar entry name longer than 100 bytes: ${file.name}`);
    const header = Buffer.alloc(512);
    field(header, 0, 100, file.name);
    field(header, 100, 8, octal(0o644, 8));
    field(header, 108, 8, octal(0, 8));
    field(header, 116, 8, octal(0, 8));
    field(header, 124, 12, octal(file.content.length, 12));
    field(header, 136, 12, octal(Math.floor((file.mtime ?? new Date()).getTime() / 1000), 12));
    field(header, 148, 8, '        ');
    field(header, 156, 1, '0');
    field(header, 257, 6, 'ustar\0');
    field(header, 263, 2, '00');
    let sum = 0;
    for (const byte of header) sum += byte;
    field(header, 148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
    blocks.push(header, file.content, Buffer.alloc((512 - (file.content.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** The image config JSON (OCI image spec) for layers with these uncompressed digests. */
export function imageConfig(diffIds: string[], created = new Date()): Buffer {
  return Buffer.from(JSON.stringify({
    created: created.toISOString(),
    architecture: 'amd64',
    os: 'linux',
    config: { Labels: { 'org.opencontainers.image.title': 'registry-check probe' } },
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: diffIds.map(() => ({ created: created.toISOString(), created_by: 'registry-check' })),
  }));
}

export function imageManifest(config: Descriptor, layers: Descriptor[]): Buffer {
  return Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.manifest,
    config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  }));
}

/** A small gzip'd tar layer whose content is unique per call (a random nonce and the time). */
export function probeLayer(now = new Date()): { bytes: Buffer; descriptor: Descriptor; diffId: string } {
  const nonce = randomBytes(16).toString('hex');
  const tar = tarArchive([{ name: 'registry-check/probe.txt', content: Buffer.from(`registry-check probe ${nonce} ${now.toISOString()}\n`), mtime: now }]);
  const bytes = gzipSync(tar);
  return { bytes, diffId: sha256Digest(tar), descriptor: { mediaType: MEDIA_TYPES.layerGzip, digest: sha256Digest(bytes), size: bytes.length } };
}
