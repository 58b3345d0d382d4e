import { spawn } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { Cleanup, execFileAsync, tempDir } from '../../harness/programs';

export const ROOT = path.resolve(__dirname, '../..');

/**
 * registry-check as `npm ci` ships it, built fresh from the sources under test: `npm run build:check`'s compile
 * (tsconfig.check.json) into `<dir>/dist` and the real bin/registry-check.js copied to `<dir>/bin`. A copy, so a
 * stale or missing dist/ in the checkout cannot decide what runs, and jest workers never rebuild one dist/ at once.
 */
export async function buildShipped(cleanup: Cleanup): Promise<{ dir: string; bin: string }> {
  const dir = await tempDir(cleanup, 'registry-check-shipped-');
  await execFileAsync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.check.json'), '--outDir', path.join(dir, 'dist')]);
  const bin = path.join(dir, 'bin', 'registry-check.js');
  await fs.mkdir(path.dirname(bin));
  await fs.copyFile(path.join(ROOT, 'bin', 'registry-check.js'), bin);
  return { dir, bin };
}

export interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node <bin> ...argv` as its own process: stdin from `stdin`, extra environment from `env`. */
export function runBin(bin: string, argv: string[], { stdin = '', env = {}, node = [] }: { stdin?: string; env?: Record<string, string>; node?: string[] } = {}): Promise<Run> {
  // No password from the environment the tests run in: a test that wants one passes it.
  const childEnv: Record<string, string | undefined> = { ...process.env, ...env };
  if (!('REGISTRY_PASSWORD' in env)) delete childEnv.REGISTRY_PASSWORD;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...node, bin, ...argv], { env: childEnv });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin.end(stdin);
  });
}
