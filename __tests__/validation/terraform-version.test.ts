/**
 * The synthesized `terraform` block pins what the configuration needs: Terraform >= 1.9 (cross-variable validations;
 * `removed` needs 1.7) and the providers the pinned bindings were generated from. An older Terraform, such as a
 * Terraform Cloud workspace pinned to 1.5, must stop at init with one clear line. Shown with the real terraform on
 * the stack's own block: as synthesized it passes here (1.11), with the version raised above this binary it fails.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { synthesized } from '../../harness/json';
import { removeDirectory } from '../../harness/remove';
import { TERRAFORM } from '../../harness/terraform';

const ENV = { ...process.env, CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1' };
const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => removeDirectory(dir)));

/** `terraform init` on a configuration of `json` alone. */
function init(json: unknown): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'registry-tf-version-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'main.tf.json'), JSON.stringify(json));
  const run = spawnSync(TERRAFORM, ['init', '-no-color', '-input=false', '-backend=false'], { cwd: dir, env: ENV, encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('the terraform block', () => {
  const json = synthesized('dev');

  test('requires Terraform >= 1.9 and the exact provider versions of the pinned bindings', () => {
    expect(json.terraform.required_version).toBe('>= 1.9');
    expect(Object.fromEntries(Object.entries<any>(json.terraform.required_providers).map(([name, p]) => [name, p.version]))).toEqual({
      kubernetes: '2.38.0', helm: '3.1.1', tls: '4.1.0', random: '3.7.2',
    });
  });

  test('terraform 1.11 accepts the required version, with the stack\'s variables and their cross-variable validations', () => {
    const result = init({ terraform: { required_version: json.terraform.required_version }, variable: json.variable });
    expect(result.output).toContain('Terraform has been successfully initialized');
    expect(result.status).toBe(0);
  });

  test('a Terraform older than required stops at init with one error naming the required version', () => {
    // The stack's block (providers included: the version check comes before any download), asking for more than
    // the 1.11 installed here, as 1.9 asks more than a workspace pinned to 1.5 has.
    const { backend: _backend, ...block } = json.terraform;
    const result = init({ terraform: { ...block, required_version: '>= 99.0' } });
    expect(result.status).not.toBe(0);
    expect(result.output.match(/^Error: /gm)).toEqual(['Error: ']);
    expect(result.output).toMatch(/Error: Unsupported Terraform Core version/);
    expect(result.output).toMatch(/This configuration does not support Terraform version 1\.[0-9]+\.[0-9]+/);
  });
});
