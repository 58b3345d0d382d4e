/**
 * `npm run verify`, as a user runs it: the offline plan of their own stacks with their tfvars. One stack, to keep
 * the suite fast (the command plans every stack alike).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeDirectoryAsync } from '../../harness/remove';

const ROOT = join(__dirname, '..', '..');
let dir: string;

function verify(...args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((done) => {
    execFile('node', ['--require', './scripts/register-ts.js', 'scripts/verify.ts', ...args], { cwd: ROOT, timeout: 120_000 },
      (err, stdout) => done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout }));
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'verify-'));
});
afterAll(() => removeDirectoryAsync(dir));

test('plans the stack with the tfvars, and fails on a misspelt variable name and on a refused value, naming each', async () => {
  // GIVEN a tfvars file with a good value, a misspelt name and a value the rules refuse
  const file = join(dir, 'dev.tfvars');
  await writeFile(file, 'registry_users = ["alice"]\nregistry_domain = ["registry.example.com"]\nreplicas = 0\n');
  const good = join(dir, 'good.tfvars');
  await writeFile(good, 'registry_users = ["alice"]\n');
  // WHEN verify runs on each
  const [bad, ok] = await Promise.all([verify(`--var-file=${file}`, 'registry-dev'), verify(`--var-file=${good}`, 'registry-dev')]);
  // THEN the good one plans, the bad one fails saying which variable and why
  expect(ok).toMatchObject({ code: 0 });
  expect(ok.stdout).toMatch(/^registry-dev: plan OK \(\d+ to add, 0 to change, 0 to destroy/m);
  expect(bad.code).toBe(1);
  expect(bad.stdout).toContain('replicas: 0 is not allowed');
  // Terraform only warns about the misspelt name: verify reads the warning; with the plan failing on replicas,
  // the same file without that line shows it.
  await writeFile(file, 'registry_domain = ["registry.example.com"]\n');
  const misspelt = await verify(`--var-file=${file}`, 'registry-dev');
  expect(misspelt.code).toBe(1);
  expect(misspelt.stdout).toContain('the tfvars set "registry_domain", which no stack declares');
}, 180_000);
