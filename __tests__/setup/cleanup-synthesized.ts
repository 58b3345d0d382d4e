/** Jest global teardown: removes the directory __tests__/setup/synthesize.ts wrote. */
import { rmSync } from 'node:fs';
import { SYNTH_CACHE_ENV } from '../../harness/json';

export default function removeSynthesized(): void {
  const dir = process.env[SYNTH_CACHE_ENV];
  if (dir) rmSync(dir, { recursive: true, force: true });
}
