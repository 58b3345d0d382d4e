/** Jest global teardown: removes the directory __tests__/setup/synthesize.ts wrote. */
import { SYNTH_CACHE_ENV } from '../../harness/json';
import { removeDirectory } from '../../harness/remove';

export default function removeSynthesized(): void {
  const dir = process.env[SYNTH_CACHE_ENV];
  if (dir) removeDirectory(dir);
}
