/**
 * Test files timed one at a time, each beside the same file at a baseline commit (`--baseline <ref>`), interleaved
 * run by run so load from elsewhere hits both alike: wall and CPU (GNU time: jest and every process it waited for,
 * the registries, nginx, Ceph and terraform it started and stopped included). Both trees read the test environments
 * synthesized once per tree (REGISTRY_TEST_SYNTH_DIR, as the suite's global setup leaves them) and skip the global
 * setup, so a file costs what it costs inside `npm test`. With `--suite`, the whole `npx jest` of both trees too.
 * The baseline tree is `git archive` of the ref with this checkout's node_modules and dist/ linked in (the same
 * package-lock.json is required).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Cleanup, tempDir } from '../../harness/programs';
import { runOnce, Sample } from './measure';

export interface TestFileRow {
  readonly name: string;
  readonly samples: Sample[];
}

const SYNTHESIZE = `
const fs = require('node:fs');
const { Testing } = require('cdktf');
const { buildStack, TEST_ENVIRONMENTS } = require('./harness/synth');
const dir = process.argv[1];
for (const env of TEST_ENVIRONMENTS) fs.writeFileSync(dir + '/' + env.name + '.json', Testing.synth(buildStack(env)));
fs.writeFileSync(dir + '/names.json', JSON.stringify(TEST_ENVIRONMENTS.map((env) => env.name)));
`;

/** A tree of `ref` beside this checkout, sharing its node_modules and dist/. */
async function baselineTree(cleanup: Cleanup, root: string, ref: string): Promise<string> {
  const tree = await tempDir(cleanup, 'bench-baseline-');
  execFileSync('sh', ['-c', `git -C "$1" archive "$2" | tar -x -C "$3"`, 'sh', root, ref, tree]);
  // The installed packages must be the same; the root entry may differ (a package that was already installed, now
  // declared).
  const installed = (dir: string) => {
    const { packages } = JSON.parse(fs.readFileSync(path.join(dir, 'package-lock.json'), 'utf8'));
    delete packages[''];
    return JSON.stringify(packages);
  };
  if (installed(tree) !== installed(root)) throw new Error(`bench: ${ref} installs other packages (package-lock.json); its node_modules would differ`);
  for (const linked of ['node_modules', 'dist']) {
    if (fs.existsSync(path.join(root, linked))) fs.symlinkSync(path.join(root, linked), path.join(tree, linked));
  }
  return tree;
}

export async function measureTestFiles(
  cleanup: Cleanup, root: string, files: string[], baseline: string | undefined, runs: number, suite: boolean, log: (l: string) => void,
): Promise<TestFileRow[]> {
  const trees: Array<[string, string]> = [['now', root]];
  if (baseline) trees.unshift([baseline, await baselineTree(cleanup, root, baseline)]);
  const noop = path.join(await tempDir(cleanup, 'bench-jest-noop-'), 'noop.js');
  fs.writeFileSync(noop, 'module.exports = async () => {};\n');
  const synthDirs = new Map<string, string>();
  for (const [label, tree] of trees) {
    const dir = await tempDir(cleanup, 'bench-synth-');
    execFileSync('node', ['--require', './scripts/register-ts.js', '-e', SYNTHESIZE, dir], { cwd: tree, stdio: 'inherit' });
    synthDirs.set(label, dir);
  }
  const samples = new Map<string, Sample[]>();
  const add = (name: string, sample: Sample) => samples.set(name, [...(samples.get(name) ?? []), sample]);
  for (let run = 0; run < runs; run++) {
    for (const file of files) {
      for (const [label, tree] of trees) {
        const env = { REGISTRY_TEST_SYNTH_DIR: synthDirs.get(label)! };
        add(`${file} (${label})`, await runOnce('npx', ['jest', `--globalSetup=${noop}`, `--globalTeardown=${noop}`, file], { cwd: tree, env }));
        log(`  ${file} (${label}) run ${run + 1} done`);
      }
    }
    if (suite) {
      for (const [label, tree] of trees) {
        add(`npx jest, all suites (${label})`, await runOnce('npx', ['jest'], { cwd: tree }));
        log(`  all suites (${label}) run ${run + 1} done`);
      }
    }
  }
  return [...samples].map(([name, s]) => ({ name, samples: s }));
}
