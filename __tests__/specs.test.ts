/**
 * Runs every `*.spec.ts` under __tests__: the tests that synthesize stacks (or call pure functions) and read the
 * result, starting no program. Jest gives each test file its own module registry, and loading cdktf and the
 * provider bindings into one costs 0.6–0.9 s of CPU; as one jest file the specs load them once (all suites: about
 * 6 CPU-s less on 2 cores, BENCHMARKS.md). Files that start real programs stay `*.test.ts`, one jest file each,
 * spread over the workers.
 *
 * Each spec runs inside a describe named by its path, so one spec runs with `npx jest specs -t unit/tls.spec.ts`.
 * A new `*.spec.ts` anywhere under __tests__ is picked up here; nothing else runs it.
 */
import { readdirSync } from 'node:fs';
import * as path from 'node:path';

const specs = readdirSync(__dirname, { recursive: true, encoding: 'utf8' })
  .filter((file) => file.endsWith('.spec.ts'))
  .map((file) => file.split(path.sep).join('/'))
  .sort();

for (const spec of specs) {
  describe(spec, () => {
    require(path.join(__dirname, spec));
  });
}
