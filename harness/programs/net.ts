import * as fs from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Cleanup } from './cleanup';
import { removeDirectoryAsync } from '../remove';

/**
 * Ports handed out by `freePort`: below the kernel's ephemeral range (32768 and up on Linux), which outgoing
 * connections and `listen(0)` draw from: a port picked there could be taken by any connection between the check and
 * the server's own bind (seen once: skopeo met another test's HTTP server on its front door's port). Each jest worker
 * has its own slice, walked in order from a random point (jest loads this module afresh for each test file), so
 * no two workers, and no two calls of a file, pick the same port.
 */
const PORT_BASE = 12_000;
const PORTS_PER_WORKER = 2_500;
let nextPort = Math.floor(Math.random() * PORTS_PER_WORKER);

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A loopback TCP port that was free a moment ago, from this worker's slice of ports no one else picks. */
export async function freePort(): Promise<number> {
  const worker = Math.max(0, Number(process.env.JEST_WORKER_ID ?? 1) - 1) % 8;
  for (let tries = 0; tries < PORTS_PER_WORKER; tries++) {
    const port = PORT_BASE + worker * PORTS_PER_WORKER + (nextPort++ % PORTS_PER_WORKER);
    if (await canListen(port)) return port;
  }
  throw new Error(`freePort: no free port in ${PORT_BASE + worker * PORTS_PER_WORKER}-${PORT_BASE + (worker + 1) * PORTS_PER_WORKER - 1}`);
}

/** Polls `probe` until it answers true; fails after `timeoutMs`, or at once when `abort` names a reason. */
export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  { timeoutMs = 10_000, intervalMs = 50, abort }: { timeoutMs?: number; intervalMs?: number; abort?: () => string | undefined } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const aborted = abort?.();
    if (aborted) throw new Error(`${what}: ${aborted}`);
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** True when something accepts TCP connections on host:port. */
export function tcpAccepts(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Where `tempDir(..., { inMemory })` puts a directory: the memory-backed /dev/shm of Linux machines. */
export const MEMORY_TEMP_ROOT = '/dev/shm';

/** True when `dir` is a temp directory of `tempDir` or below one (under the OS temp dir or MEMORY_TEMP_ROOT). */
export function underTempRoot(dir: string): boolean {
  return [os.tmpdir(), MEMORY_TEMP_ROOT].some((root) => dir.startsWith(`${root}${path.sep}`));
}

/**
 * A fresh directory, removed on cleanup. `inMemory: bytes`: on /dev/shm when it has twice that free, so a transfer of
 * that size is written to memory instead of the disk (a 1 GiB push and pull writes the layer four times); under the
 * OS temp dir otherwise.
 */
export async function tempDir(cleanup: Cleanup, prefix = 'registry-e2e-', { inMemory }: { inMemory?: number } = {}): Promise<string> {
  let root = os.tmpdir();
  if (inMemory !== undefined) {
    const free = await fs.statfs(MEMORY_TEMP_ROOT).then((s) => s.bavail * s.bsize, () => 0);
    if (free >= 2 * inMemory) root = MEMORY_TEMP_ROOT;
  }
  const dir = await fs.mkdtemp(path.join(root, prefix));
  cleanup.add(() => removeDirectoryAsync(dir));
  return dir;
}

/** GET `url` (http or https, verified against `caPem` when given) and read the whole body. */
export function httpGet(url: string, { caPem, headers = {} }: { caPem?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const onResponse = (res: http.IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.once('error', reject);
    };
    const req = url.startsWith('https:') ? https.get(url, { ca: caPem, headers, agent: false }, onResponse) : http.get(url, { headers, agent: false }, onResponse);
    req.once('error', reject);
    req.setTimeout(5_000, () => req.destroy(new Error(`GET ${url}: no answer in 5 s`)));
  });
}
