/**
 * Jest global setup for the whole suite (`npm test`), before any worker starts:
 * - the type-check (`tsc --noEmit`, the project's tsconfig) starts as a child process and runs beside the tests
 *   (waiting for it here held every worker back by ~3 s); the global teardown (cleanup-synthesized.ts) waits for it
 *   and fails the run on any error;
 * - every test environment is synthesized once, in jest's parent process, into a temporary directory that
 *   harness/json.ts `synthesized(name)` reads. Test files that only read the JSON then never load cdktf and the
 *   provider bindings (about a second of CPU per file, with several files per core).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Testing } from 'cdktf';
import { SYNTH_CACHE_ENV } from '../../harness/json';
import { buildStack, TEST_ENVIRONMENTS } from '../../harness/synth';
import { TYPECHECK_KEY } from './cleanup-synthesized';

const ROOT = join(__dirname, '..', '..');

/** `tsc --noEmit` in the background; resolves with its output when it fails, undefined when it passes. */
function typecheck(): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [require.resolve('typescript/bin/tsc'), '--noEmit', '-p', ROOT], { cwd: ROOT });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.once('error', (err) => resolve(String(err)));
    child.once('close', (code) => resolve(code === 0 ? undefined : output));
  });
}

export default async function setup(): Promise<void> {
  (globalThis as any)[TYPECHECK_KEY] = typecheck();
  const dir = mkdtempSync(join(tmpdir(), 'registry-test-synth-'));
  for (const env of TEST_ENVIRONMENTS) writeFileSync(join(dir, `${env.name}.json`), Testing.synth(buildStack(env)));
  writeFileSync(join(dir, 'names.json'), JSON.stringify(TEST_ENVIRONMENTS.map((env) => env.name)));
  // Workers start after global setup and inherit this.
  process.env[SYNTH_CACHE_ENV] = dir;
}
