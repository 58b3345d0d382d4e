/**
 * Support for the real-program node tests: evaluate the synthesized Terraform expressions with the real terraform
 * binary (no providers needed: variables and outputs only) and run programs as root without capabilities.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { Synthesized } from '../support/synth';

const run = promisify(execFile);

/**
 * Evaluates `expressions` (strings as found in cdk.tf.json, e.g. "${jsonencode(...)}") the way Terraform does on
 * apply: a config in `dir` with every variable block of the stack (validations included), `values` as tfvars and
 * one output per expression. Provider attributes cannot be computed here, so each `random_password.<id>` the
 * expressions name is replaced by a variable holding the value the provider would produce (`resources[<id>]`).
 */
export async function evaluateWithTerraform(
  dir: string,
  json: Synthesized,
  expressions: Record<string, string>,
  values: Record<string, unknown>,
  resources: Record<string, unknown> = {},
): Promise<Record<string, any>> {
  await fs.mkdir(dir, { recursive: true });
  const variable: Record<string, unknown> = { ...json.variable };
  const tfvars: Record<string, unknown> = { ...values };
  const output: Record<string, unknown> = {};
  for (const [name, expression] of Object.entries(expressions)) {
    const value = expression.replace(/random_password\.([A-Za-z0-9_-]+)/g, (_m, id: string) => {
      if (!(id in resources)) throw new Error(`evaluateWithTerraform: no value for random_password.${id}`);
      const v = `resource_${id.replace(/-/g, '_')}`;
      variable[v] = { type: 'any' };
      tfvars[v] = resources[id];
      return `var.${v}`;
    });
    // sensitive: some expressions read sensitive variables (htpasswd_entries); `output -json` still prints them
    output[name] = { value, sensitive: true };
  }
  await fs.writeFile(path.join(dir, 'main.tf.json'), JSON.stringify({ variable, output }, null, 1));
  await fs.writeFile(path.join(dir, 'terraform.tfvars.json'), JSON.stringify(tfvars));
  const env = { ...process.env, TF_IN_AUTOMATION: '1', CHECKPOINT_DISABLE: '1' };
  try {
    await run('terraform', ['apply', '-auto-approve', '-input=false', '-no-color'], { cwd: dir, env });
  } catch (err) {
    throw new Error(`terraform apply failed: ${(err as { stderr?: string }).stderr ?? err}`);
  }
  const { stdout } = await run('terraform', ['output', '-json', '-no-color'], { cwd: dir, env });
  const outputs = JSON.parse(stdout) as Record<string, { value: unknown }>;
  return Object.fromEntries(Object.entries(outputs).map(([k, o]) => [k, o.value]));
}

/** True when this process is root: then programs can be run as uid 0 with a chosen capability set. */
export const isRoot = process.getuid?.() === 0;

/**
 * `setpriv` arguments that run a program as uid 0 holding only `caps` (e.g. [] or ['chown']), with
 * no_new_privs, as a container with `capabilities: {drop: [ALL], add: caps}` and allowPrivilegeEscalation: false.
 */
export function rootWithCapabilities(caps: string[]): string[] {
  const set = ['-all', ...caps.map((c) => `+${c}`)].join(',');
  return ['--reuid=0', '--regid=0', '--clear-groups', `--inh-caps=${set}`, `--bounding-set=${set}`, '--no-new-privs'];
}
