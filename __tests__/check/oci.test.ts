import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { adviceForStatus } from '../../lib/check/advice';
import { rechunk } from '../../lib/check/blobs';
import { parseSize } from '../../lib/check/cli';
import { imageConfig, imageManifest, MEDIA_TYPES, probeLayer, sha256Digest, tarArchive } from '../../lib/check/oci';
import { parseTarget } from '../../lib/check/steps';
import { execFileAsync, tempDir, useCleanup } from '../../harness/programs';

describe('probe image generation', () => {
  const cleanup = useCleanup();

  it('writes a tar that GNU tar lists and extracts byte for byte', async () => {
    const dir = await tempDir(cleanup);
    const content = Buffer.from('x'.repeat(700)); // spans two 512-byte blocks
    await fs.writeFile(path.join(dir, 'a.tar'), tarArchive([{ name: 'dir/file.txt', content }, { name: 'empty', content: Buffer.alloc(0) }]));
    const { stdout } = await execFileAsync('tar', ['-tvf', 'a.tar'], { cwd: dir });
    expect(stdout).toMatch(/ 700 .* dir\/file\.txt\n.* 0 .* empty\n$/);
    await execFileAsync('tar', ['-xf', 'a.tar'], { cwd: dir });
    expect(await fs.readFile(path.join(dir, 'dir/file.txt'))).toEqual(content);
  });

  it('makes a unique gzip layer per call whose diff_id is the uncompressed tar digest', async () => {
    const [a, b] = [probeLayer(), probeLayer()];
    expect(a.descriptor.digest).not.toBe(b.descriptor.digest);
    expect(a.descriptor).toEqual({ mediaType: MEDIA_TYPES.layerGzip, digest: sha256Digest(a.bytes), size: a.bytes.length });
    const dir = await tempDir(cleanup);
    await fs.writeFile(path.join(dir, 'layer.tar.gz'), a.bytes);
    await execFileAsync('gzip', ['-d', 'layer.tar.gz'], { cwd: dir });
    expect(sha256Digest(await fs.readFile(path.join(dir, 'layer.tar')))).toBe(a.diffId);
  });

  it('builds an OCI manifest and config that point at their content', () => {
    const layer = probeLayer();
    const configBytes = imageConfig([layer.diffId]);
    const config = { mediaType: MEDIA_TYPES.config, digest: sha256Digest(configBytes), size: configBytes.length };
    const manifest = JSON.parse(imageManifest(config, [layer.descriptor]).toString());
    expect(manifest).toEqual({ schemaVersion: 2, mediaType: MEDIA_TYPES.manifest, config, layers: [layer.descriptor] });
    expect(JSON.parse(configBytes.toString()).rootfs).toEqual({ type: 'layers', diff_ids: [layer.diffId] });
  });
});

describe('chunking and argument parsing', () => {
  it('rechunks a stream into exact chunk sizes without losing bytes', async () => {
    const data = Buffer.from(Array.from({ length: 2500 }, (_, i) => i % 251));
    const pieces = [data.subarray(0, 7), data.subarray(7, 1500), data.subarray(1500)];
    const chunks: Buffer[] = [];
    for await (const chunk of rechunk(Readable.from(pieces), 1000)) chunks.push(chunk);
    expect(chunks.map((c) => c.length)).toEqual([1000, 1000, 500]);
    expect(Buffer.concat(chunks)).toEqual(data);
  });

  it.each([
    ['registry.example.com:5000', { host: 'registry.example.com', port: 5000, portAssumed: false }],
    ['127.0.0.1:5443', { host: '127.0.0.1', port: 5443, portAssumed: false }],
    ['[::1]:5000', { host: '::1', port: 5000, portAssumed: false }],
    ['registry.example.com', { host: 'registry.example.com', port: 443, portAssumed: true }],
    ['[::1]', { host: '::1', port: 443, portAssumed: true }],
  ])('parses target %s', (target, expected) => {
    expect(parseTarget(target)).toEqual(expected);
  });

  it.each([
    ['http://x:1', /expected <host>:<port>/],
    ['a b:1', /expected <host>:<port>/],
    ['x:0', /port 0 in "x:0" is out of range \(1-65535\)/],
    ['x:70000', /port 70000 in "x:70000" is out of range/],
  ])('rejects target %s', (target, message) => {
    expect(() => parseTarget(target)).toThrow(message);
  });

  it('parses chunk sizes with k/m/g suffixes', () => {
    expect([parseSize('1048576'), parseSize('512k'), parseSize('5m'), parseSize('1MiB')]).toEqual([1048576, 524288, 5 * 1024 ** 2, 1024 ** 2]);
    expect(() => parseSize('lots')).toThrow(/--chunk-size/);
  });

  it('explains 413 as a proxy body limit with the ingress-nginx annotation', () => {
    expect(adviceForStatus(413)).toContain('nginx.ingress.kubernetes.io/proxy-body-size: "0"');
  });
});
