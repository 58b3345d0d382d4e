/**
 * `execFile` for short commands (terraform, openssl, skopeo, htpasswd, ...) in the test suite, run by a small helper
 * process instead of the test worker. Starting a program forks its caller, and a fork costs in proportion to the
 * caller's memory: a jest worker holds several hundred MB, and each start cost it 12-30 ms of CPU (the workers
 * started ~870 programs per run: BENCHMARKS.md). The helper holds ~40 MB: a start costs it ~2 ms, and the worker
 * 0.2 ms to ask for it.
 *
 * The helper serves one test file: the suite's test environment (__tests__/setup/environment.ts) offers it a slot
 * on the file's global, starts nothing itself, and stops the helper (and waits for it) when the file ends, so the
 * helper and what it ran are counted, and reaped, like any child of the worker. Without that slot (scripts such as
 * `npm run verify`, or a file run with another environment) commands run with `execFile` itself. Results and errors
 * are those of `util.promisify(execFile)` with string output: `{ stdout, stderr }`, or an Error with `code` (exit
 * status, or 'ENOENT' ...), `signal`, `killed`, `stdout`, `stderr`. Long-running programs (servers a test stops by
 * PID) keep `spawnLogged` (process.ts).
 */
import { type ChildProcess, execFile, fork } from 'node:child_process';
import * as path from 'node:path';

export interface ExecOptions {
  readonly cwd?: string;
  /** The whole environment of the command (as execFile's `env`); the caller's when absent. */
  readonly env?: NodeJS.ProcessEnv;
  readonly timeout?: number;
  readonly maxBuffer?: number;
  /** Written to the command's stdin, which is then closed (a password that must not be in argv). */
  readonly input?: string;
}

/** What the helper sends back for one command. */
export interface ExecReply {
  readonly id: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly error?: { message: string; code?: number | string; signal?: string | null; killed?: boolean };
}

/** The key of the slot the test environment puts on a test file's global. */
export const SPAWNER_SLOT = Symbol.for('private-registry-stack.spawner');

/** The slot: empty until the file's first command starts the helper. */
export interface SpawnerSlot {
  helper?: Helper;
  /** Set when the file has ended: a late command runs with execFile itself. */
  closed?: boolean;
}

export interface Helper {
  readonly child: ChildProcess;
  readonly pending: Map<number, (reply: ExecReply) => void>;
  nextId: number;
}

function helper(slot: SpawnerSlot): Helper {
  if (slot.helper && slot.helper.child.connected) return slot.helper;
  const child = fork(path.join(__dirname, 'spawner-child.ts'), [], {
    execArgv: ['--require', path.join(__dirname, '..', '..', 'scripts', 'register-ts.js')],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
  const h: Helper = { child, pending: new Map(), nextId: 1 };
  child.on('message', (reply: ExecReply) => {
    const done = h.pending.get(reply.id);
    h.pending.delete(reply.id);
    if (h.pending.size === 0) idle(child);
    done?.(reply);
  });
  const fail = (message: string) => {
    for (const [id, done] of h.pending) done({ id, stdout: '', stderr: '', error: { message } });
    h.pending.clear();
  };
  child.on('exit', (code, signal) => fail(`spawner helper exited (${signal ?? code}) before answering`));
  child.on('error', (err) => fail(`spawner helper: ${err.message}`));
  idle(child);
  slot.helper = h;
  return h;
}

/** An idle helper does not keep its caller alive. */
function idle(child: ChildProcess): void {
  child.unref();
  (child.channel as { unref?: () => void } | undefined)?.unref?.();
}

function busy(child: ChildProcess): void {
  child.ref();
  (child.channel as { ref?: () => void } | undefined)?.ref?.();
}

/** `promisify(execFile)(file, args, options)` with string output, run by the helper. */
export function execFileLight(file: string, args: readonly string[] = [], options: ExecOptions = {}): Promise<{ stdout: string; stderr: string }> {
  const slot = (globalThis as Record<symbol, SpawnerSlot | undefined>)[SPAWNER_SLOT];
  if (!slot || slot.closed) return execFileHere(file, args, options);
  const h = helper(slot);
  const id = h.nextId++;
  return new Promise((resolve, reject) => {
    h.pending.set(id, ({ stdout, stderr, error }) => {
      if (!error) return resolve({ stdout, stderr });
      const err = Object.assign(new Error(error.message), {
        code: error.code, signal: error.signal ?? null, killed: error.killed ?? false, cmd: [file, ...args].join(' '), stdout, stderr,
      });
      reject(err);
    });
    busy(h.child);
    h.child.send({ id, file, args, options: { ...options, env: options.env ? { ...options.env } : undefined } });
  });
}

/** The same command run by `execFile` in this process (the helper runs each command so). */
export function execFileHere(file: string, args: readonly string[], { input, ...options }: ExecOptions): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { ...options, encoding: 'utf8' }, (err, stdout, stderr) =>
      (err ? reject(Object.assign(err, { stdout, stderr })) : resolve({ stdout, stderr })));
    if (input !== undefined) child.stdin!.end(input);
  });
}

/** Stops the slot's helper, if one started, and resolves once it has exited (reaped by this process). */
export async function stopSpawner(slot: SpawnerSlot): Promise<void> {
  const child = slot.helper?.child;
  slot.helper = undefined;
  slot.closed = true;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.ref(); // this process waits for the exit
  if (child.connected) child.disconnect();
  else child.kill();
  await exited;
}
