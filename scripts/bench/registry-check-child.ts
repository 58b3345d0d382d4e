/**
 * One registry-check library transfer in its own process, so the benchmark can time it and read its peak RSS:
 *   push <port> <repo> <layer file>   pushes a one-layer image (streamed layer upload), tag `bench`
 *   pull <port> <repo> <out dir>      pulls `repo:bench` into <out dir>/<hex> files, every digest verified
 * Env: BENCH_CA_FILE, BENCH_USER, BENCH_PASSWORD.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pullBlob, pullManifest, pushImage } from '../../lib/check/blobs';
import { RegistryClient } from '../../lib/check/client';

async function main([action, port, repo, target]: string[]): Promise<void> {
  const client = new RegistryClient({
    host: '127.0.0.1',
    port: Number(port),
    username: process.env.BENCH_USER,
    password: process.env.BENCH_PASSWORD,
    caPem: fs.readFileSync(process.env.BENCH_CA_FILE!),
  });
  try {
    if (action === 'push') {
      await pushImage(client, repo, 'bench', { layerFile: target });
    } else if (action === 'pull') {
      const manifest = await pullManifest(client, repo, 'bench');
      for (const blob of [manifest.config, ...manifest.layers]) {
        // 1 MiB of buffer lets the file stream batch the 16 KiB TLS records into large writes (16k syscalls -> ~300).
        const file = fs.createWriteStream(path.join(target, blob.digest.replace(/^sha256:/, '')), { highWaterMark: 1 << 20 });
        await pullBlob(client, repo, blob.digest, file);
        await new Promise<void>((resolve, reject) => file.end((err?: Error | null) => (err ? reject(err) : resolve())));
      }
    } else {
      throw new Error(`usage: push|pull <port> <repo> <file|dir>, got ${action}`);
    }
  } finally {
    client.close();
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
