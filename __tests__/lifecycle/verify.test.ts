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
  // GIVEN one tfvars file with a misspelt name, one with a value the rules refuse
  const misspeltFile = join(dir, 'misspelt.tfvars');
  await writeFile(misspeltFile, 'registry_users = ["alice"]\nregistry_roles = ["alice:admin"]\nregistry_domain = ["registry.example.com"]\n');
  const refusedFile = join(dir, 'refused.tfvars');
  await writeFile(refusedFile, 'replicas = 0\n');
  // WHEN verify runs with each
  const [misspelt, refused] = await Promise.all([verify(`--var-file=${misspeltFile}`, 'registry-dev'), verify(`--var-file=${refusedFile}`, 'registry-dev')]);
  // THEN the stack plans, but the misspelt name fails the run (Terraform only warns, and the default applies)
  expect(misspelt.stdout).toMatch(/^registry-dev: plan OK \(\d+ to add, 0 to change, 0 to destroy/m);
  expect(misspelt.stdout).toContain('the tfvars set "registry_domain", which no stack declares');
  expect(misspelt.code).toBe(1);
  // AND the refused value fails with the rule's own words
  expect(refused.stdout).toContain('registry-dev: FAILED');
  expect(refused.stdout).toContain('replicas: 0 is not allowed');
  expect(refused.code).toBe(1);
}, 180_000);
