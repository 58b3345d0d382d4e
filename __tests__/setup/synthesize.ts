/**
 * Jest global setup: every test environment synthesized once, in jest's parent process, into a temporary directory
 * that harness/json.ts `synthesized(name)` reads. Test files that only read the JSON then never load cdktf and the
 * provider bindings (about a second of CPU per file, with several files per core).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Testing } from 'cdktf';
import { SYNTH_CACHE_ENV } from '../../harness/json';
import { buildStack, TEST_ENVIRONMENTS } from '../../harness/synth';

export default function synthesizeTestEnvironments(): void {
  const dir = mkdtempSync(join(tmpdir(), 'registry-test-synth-'));
  for (const env of TEST_ENVIRONMENTS) writeFileSync(join(dir, `${env.name}.json`), Testing.synth(buildStack(env)));
  writeFileSync(join(dir, 'names.json'), JSON.stringify(TEST_ENVIRONMENTS.map((env) => env.name)));
  // Workers start after global setup and inherit this.
  process.env[SYNTH_CACHE_ENV] = dir;
}
