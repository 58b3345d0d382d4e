import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** One run of a child process: wall time, CPU time (user+sys) and peak RSS, from GNU time when installed. */
export interface Sample {
  readonly wallMs: number;
  readonly cpuMs?: number;
  readonly maxRssKb?: number;
}

export interface RunOptions {
  readonly cwd?: string;
  readonly env?: Record<string, string>;
  /** Runs before each timed run (not timed), e.g. to empty a cache. */
  readonly before?: (run: number) => Promise<void> | void;
}

export const GNU_TIME = '/usr/bin/time';
export const hasGnuTime = fs.existsSync(GNU_TIME);

/** The measured child currently running, so an interrupt can stop it (its whole process group) by its PID. */
let current: number | undefined;

export function stopCurrentChild(): void {
  if (current === undefined) return;
  try {
    process.kill(-current, 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * Runs `command args` once under `/usr/bin/time -f` (when present) in its own process group and fails with the
 * output's tail when it exits non-zero. Peak RSS is the largest of the process and the children it waited for.
 */
export async function runOnce(command: string, args: string[], options: RunOptions = {}): Promise<Sample> {
  const timeFile = path.join(os.tmpdir(), `bench-time-${process.pid}.txt`);
  const [file, argv] = hasGnuTime ? [GNU_TIME, ['-o', timeFile, '-f', '%e %U %S %M', command, ...args]] : [command, args];
  const output: Buffer[] = [];
  const started = process.hrtime.bigint();
  const child = spawn(file, argv, { cwd: options.cwd, env: { ...process.env, ...options.env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  current = child.pid;
  const keep = (chunk: Buffer) => {
    output.push(chunk);
    if (output.length > 200) output.shift();
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (exitCode) => resolve(exitCode));
  }).finally(() => {
    current = undefined;
  });
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  if (code !== 0) {
    const tail = Buffer.concat(output).toString('utf8').trimEnd().split('\n').slice(-25).join('\n');
    throw new Error(`${command} ${args.join(' ')} exited with ${code}\n${tail}`);
  }
  if (!hasGnuTime) return { wallMs };
  const [, user, sys, rss] = fs.readFileSync(timeFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  fs.rmSync(timeFile, { force: true });
  return { wallMs, cpuMs: (user + sys) * 1000, maxRssKb: rss };
}

export async function runMany(runs: number, command: string, args: string[], options: RunOptions = {}): Promise<Sample[]> {
  const samples: Sample[] = [];
  for (let run = 0; run < runs; run++) {
    await options.before?.(run);
    samples.push(await runOnce(command, args, options));
  }
  return samples;
}

export interface Stats {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export function stats(values: number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}

let clockTicks: number | undefined;

/**
 * CPU time (user + system) a running process and its direct children have used so far, from /proc (Linux). For an
 * nginx master that is its worker's relaying work; read it before and after a run for the run's share.
 */
export function processTreeCpuMs(pid: number): number {
  clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  const ticks = (p: number | string) => {
    // Fields after the parenthesized command name: utime and stime are the 12th and 13th.
    const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  };
  const children = childrenOf(pid);
  const total = children.reduce((sum, child) => sum + ticks(child), ticks(pid));
  return (total * 1000) / clockTicks;
}

/** Direct children's PIDs: /proc/<pid>/task/<pid>/children, or a scan of every process's parent without it. */
function childrenOf(pid: number): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    const parentOf = (p: string) => {
      try {
        const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      } catch {
        return undefined; // exited meanwhile
      }
    };
    return fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p) && parentOf(p) === pid);
  }
}

export function loadAverage(): string {
  return os.loadavg().map((l) => l.toFixed(2)).join(' ');
}
