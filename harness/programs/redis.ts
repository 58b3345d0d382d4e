/**
 * A real redis-server for the tests (Debian's redis-server, Redis 7): loopback only, no persistence, its working
 * directory under the test's own, run in the foreground and stopped by PID. A password, when given, goes into a 0600
 * config file rather than onto argv (where `ps` would show it). `redisCommand` is a minimal RESP client for checks.
 */
import * as fs from 'node:fs/promises';
import * as net from 'node:net';
import * as path from 'node:path';
import { Cleanup } from './cleanup';
import { freePort } from './net';
import { spawnLogged, waitUntilReady } from './process';

export interface RedisProcess {
  readonly pid: number;
  readonly port: number;
  /** `127.0.0.1:<port>` */
  readonly address: string;
  readonly password?: string;
  readonly logPath: string;
  /** Milliseconds from spawn to the first answered PING. */
  readonly startMs: number;
  logTail(lines?: number): string;
  /** Runs one command (AUTH first when there is a password) and returns the decoded reply. */
  command(...args: string[]): Promise<RespValue>;
  stop(): Promise<void>;
}

export type RespValue = string | number | null | RespValue[] | RedisError;

export class RedisError extends Error {}

/** Decodes one RESP2 reply at `offset`; undefined when `buf` does not hold all of it yet. */
function parseReply(buf: Buffer, offset = 0): { value: RespValue; end: number } | undefined {
  const lineEnd = buf.indexOf('\r\n', offset);
  if (lineEnd < 0) return undefined;
  const type = String.fromCharCode(buf[offset]);
  const line = buf.toString('utf8', offset + 1, lineEnd);
  const next = lineEnd + 2;
  switch (type) {
    case '+':
      return { value: line, end: next };
    case '-':
      return { value: new RedisError(line), end: next };
    case ':':
      return { value: Number(line), end: next };
    case '$': {
      const length = Number(line);
      if (length < 0) return { value: null, end: next };
      if (buf.length < next + length + 2) return undefined;
      return { value: buf.toString('utf8', next, next + length), end: next + length + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { value: null, end: next };
      const items: RespValue[] = [];
      let end = next;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buf, end);
        if (!item) return undefined;
        items.push(item.value);
        end = item.end;
      }
      return { value: items, end };
    }
    default:
      throw new Error(`unexpected RESP reply: ${buf.toString('utf8', offset, Math.min(buf.length, offset + 80))}`);
  }
}

const encodeCommand = (args: string[]) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;

/**
 * Sends `commands` on one connection and resolves with their replies (error replies are RedisError values, not
 * rejections). Rejects on a connection error or after `timeoutMs`.
 */
export function redisCommands(port: number, commands: string[][], timeoutMs = 5_000): Promise<RespValue[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    const replies: RespValue[] = [];
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`redis on ${port}: no answer in ${timeoutMs} ms`)));
    socket.once('error', reject);
    socket.once('connect', () => socket.write(commands.map(encodeCommand).join('')));
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      try {
        for (let parsed = parseReply(buf); parsed; parsed = buf.length > 0 ? parseReply(buf) : undefined) {
          replies.push(parsed.value);
          buf = buf.subarray(parsed.end);
        }
      } catch (err) {
        socket.destroy(err as Error);
        return;
      }
      if (replies.length >= commands.length) {
        socket.end();
        resolve(replies);
      }
    });
    socket.once('close', () => {
      if (replies.length < commands.length) reject(new Error(`redis on ${port}: connection closed after ${replies.length}/${commands.length} replies`));
    });
  });
}

/** Starts redis-server on a free loopback port and waits until it answers PING (after AUTH when `password`). */
export async function startRedis(
  cleanup: Cleanup,
  dir: string,
  { password, config = [] }: { password?: string; config?: readonly string[] } = {},
): Promise<RedisProcess> {
  await fs.mkdir(dir, { recursive: true });
  const port = await freePort();
  const configPath = path.join(dir, 'redis.conf');
  // Quoted for redis's config parser (a double-quoted string with \\ and \" escapes). `config`: more lines.
  const lines = [...(password ? [`requirepass "${password.replace(/[\\"]/g, (c) => `\\${c}`)}"`] : []), ...config];
  await fs.writeFile(configPath, lines.map((l) => `${l}\n`).join(''), { mode: 0o600 });
  const started = Date.now();
  const proc = spawnLogged(cleanup, 'redis-server', [
    configPath, '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir,
    '--daemonize', 'no', '--protected-mode', 'yes', '--logfile', '',
  ], { logPath: path.join(dir, 'redis.log') });
  const auth = password ? [['AUTH', password]] : [];
  const command = async (...args: string[]) => (await redisCommands(port, [...auth, args])).at(-1)!;
  await waitUntilReady(proc, `redis-server on port ${port}`, async () => (await command('PING')) === 'PONG', 10_000);
  return {
    pid: proc.pid,
    port,
    address: `127.0.0.1:${port}`,
    password,
    logPath: proc.logPath,
    startMs: Date.now() - started,
    logTail: proc.logTail,
    command,
    stop: () => proc.stop(),
  };
}
