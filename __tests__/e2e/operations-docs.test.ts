/**
 * docs/operations.md's copy-and-verify block, read from the file and run with sh as written, between two real
 * registries (TLS, htpasswd): every tag of every repository (a multi-arch index too) arrives with the same digest.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { pushBlob, pushImage, pushManifest } from '../../lib/check/blobs';
import { RegistryClient } from '../../lib/check/client';
import { imageConfig, imageManifest, MEDIA_TYPES, probeLayer } from '../../lib/check/oci';
import {
  freePort, makeTlsMaterial, minimalConfig, skopeoDigest, startRegistry, tempDir, useCleanup, writeHtpasswd, type RegistryProcess,
} from '../../harness/programs';

const DOC = path.join(__dirname, '../../docs/operations.md');

function testedBlock(name: string): string {
  const match = new RegExp(`<!-- tested: ${name} -->\\n\`\`\`sh\\n([\\s\\S]*?)\`\`\``).exec(readFileSync(DOC, 'utf8'));
  if (!match) throw new Error(`docs/operations.md has no tested block ${name}`);
  return match[1];
}

describe('docs/operations.md: copy every image to another registry and verify the digests', () => {
  const cleanup = useCleanup();
  const users = { src: { ops: 'source-password' }, dest: { ops: 'dest-password' } };
  let src: RegistryProcess;
  let dest: RegistryProcess;
  let certDir: string;
  const expected = new Map<string, string>();

  beforeAll(async () => {
    const dir = await tempDir(cleanup, 'ops-docs-');
    const tls = await makeTlsMaterial(path.join(dir, 'tls'));
    certDir = tls.certDir;
    const start = async (name: 'src' | 'dest') => {
      const d = path.join(dir, name);
      const port = await freePort();
      await require('node:fs/promises').mkdir(d);
      await writeHtpasswd(path.join(d, 'htpasswd'), users[name], 4);
      return startRegistry(cleanup, { dir: d, port, caPem: tls.caPem, config: minimalConfig(d, port, { tls, htpasswdPath: path.join(d, 'htpasswd'), deletes: true }) });
    };
    [src, dest] = await Promise.all([start('src'), start('dest')]);
    const client = new RegistryClient({ host: '127.0.0.1', port: src.port, username: 'ops', password: users.src.ops, caPem: tls.caPem });
    cleanup.add(() => client.close());
    for (const [repo, tag] of [['team-a/app', 'v1'], ['team-a/app', 'v2'], ['top', 'v1']]) {
      expected.set(`${repo}:${tag}`, (await pushImage(client, repo, tag)).manifestDigest);
    }
    // a multi-arch index whose platform manifests have no tag of their own
    const platforms = [];
    for (const arch of ['amd64', 'arm64']) {
      const layer = probeLayer();
      const l = { ...(await pushBlob(client, 'team-b/multi', layer.bytes)), mediaType: MEDIA_TYPES.layerGzip };
      const c = { ...(await pushBlob(client, 'team-b/multi', imageConfig([layer.diffId]))), mediaType: MEDIA_TYPES.config };
      const m = imageManifest(c, [l]);
      platforms.push({ mediaType: MEDIA_TYPES.manifest, digest: await pushManifest(client, 'team-b/multi', `sha256:${require('node:crypto').createHash('sha256').update(m).digest('hex')}`, m), size: m.length, platform: { architecture: arch, os: 'linux' } });
    }
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: platforms }));
    expected.set('team-b/multi:1.0', await pushManifest(client, 'team-b/multi', '1.0', index, 'application/vnd.oci.image.index.v1+json' as string as typeof MEDIA_TYPES.manifest));
  }, 30_000);

  test('the block syncs every tag, multi-arch indexes whole, and verifies every digest', async () => {
    const run = spawnSync('sh', ['-c', testedBlock('copy-every-image')], {
      encoding: 'utf8',
      env: {
        ...process.env, SRC: src.address, DEST: dest.address, SRC_CERT_DIR: certDir, DEST_CERT_DIR: certDir,
        SRC_CREDS: `ops:${users.src.ops}`, DEST_CREDS: `ops:${users.dest.ops}`,
      },
      timeout: 60_000,
    });

    expect({ status: run.status, stderr: run.stderr.split('\n').filter((l) => /level=(error|fatal)/.test(l)) }).toEqual({ status: 0, stderr: [] });
    expect(run.stdout.trim().split('\n').pop()).toBe(`verified 4 tags: manifest digests equal on ${src.address} and ${dest.address}`);
    // and, independently of the block, every tag on the destination has the source's digest
    // (skopeo inspect resolves an index to this machine's platform: the index is compared by its raw bytes below)
    for (const [repoTag, digest] of [...expected].filter(([repoTag]) => !repoTag.startsWith('team-b/multi'))) {
      await expect(skopeoDigest(`docker://${dest.address}/${repoTag}`, { certDir, creds: `ops:${users.dest.ops}` })).resolves.toBe(digest);
    }
    const raw = spawnSync('skopeo', ['--insecure-policy', 'inspect', '--raw', '--cert-dir', certDir, '--creds', `ops:${users.dest.ops}`, `docker://${dest.address}/team-b/multi:1.0`]);
    expect(`sha256:${require('node:crypto').createHash('sha256').update(raw.stdout).digest('hex')}`).toBe(expected.get('team-b/multi:1.0'));
  }, 60_000);
});
