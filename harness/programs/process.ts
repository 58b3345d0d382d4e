import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { Cleanup } from './cleanup';
import { waitFor } from './net';
import { execFileLight } from './spawner';

/** `promisify(execFile)` with string output, started by the small helper of spawner.ts. */
export const execFileAsync = execFileLight;

/** A long-running child process whose stdout+stderr go to `logPath`. */
export interface RunningProcess {
  readonly pid: number;
  readonly logPath: string;
  /** Set once the process has exited (code or signal). */
  exited(): string | undefined;
  /** The last lines of the log, for failure messages. */
  logTail(lines?: number): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

export function spawnLogged(
  cleanup: Cleanup,
  command: string,
  args: string[],
  { logPath, env, processGroup = false }: {
    logPath: string;
    env?: Record<string, string>;
    /** Start it in a process group of its own and stop the whole group (for a shell that leaves children running). */
    processGroup?: boolean;
  },
): RunningProcess {
  const log = fs.openSync(logPath, 'a');
  const child: ChildProcess = spawn(command, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', log, log],
    detached: processGroup,
  });
  fs.closeSync(log);
  let exitStatus: string | undefined;
  const exitedPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitStatus = signal ? `killed by ${signal}` : `exited with code ${code}`;
      resolve();
    });
    child.once('error', (err) => {
      exitStatus = `failed to start: ${err.message}`;
      resolve();
    });
  });
  const proc: RunningProcess = {
    // spawn reports ENOENT asynchronously (pid undefined); `exited()` then says why.
    pid: child.pid ?? -1,
    logPath,
    exited: () => exitStatus,
    logTail: (lines = 20) => {
      const text = fs.existsSync(logPath) ? fs.readFileSync(logPath, 'utf8') : '';
      return text.trimEnd().split('\n').slice(-lines).join('\n');
    },
    stop: async (graceMs = 5_000) => {
      if (child.pid === undefined) return;
      const killGroup = () => { if (processGroup) try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* none left */ } };
      if (exitStatus !== undefined) return killGroup();
      const target = processGroup ? -child.pid : child.pid;
      process.kill(target, 'SIGTERM');
      const timer = setTimeout(() => {
        if (exitStatus === undefined) process.kill(target, 'SIGKILL');
      }, graceMs);
      await exitedPromise;
      clearTimeout(timer);
      // The group's other members (a shell's background jobs) go with the leader.
      killGroup();
    },
  };
  cleanup.add(() => proc.stop());
  return proc;
}

/** Waits for `probe`, failing early (with the log tail) if the process dies first. */
export async function waitUntilReady(
  proc: RunningProcess,
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  try {
    await waitFor(what, probe, { timeoutMs, abort: proc.exited });
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- ${proc.logPath} ---\n${proc.logTail()}`);
  }
}
