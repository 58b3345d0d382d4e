/**
 * `npm run verify [-- [--var-file=FILE]... [STACK]...]`: the plan `cdktf deploy` would show, offline, for your own
 * environments and tfvars. Every stack of main.ts (or the ones named) is synthesized, then planned by the real
 * terraform against stand-in providers that serve the pinned providers' schemas (harness/providers): variable
 * validations, preconditions, template syntax and the resource schemas are checked by Terraform itself, with no
 * cluster and no network. As the cdktf CLI does, ./terraform.tfvars and ./*.auto.tfvars go to every stack, plus
 * each --var-file given; TF_VAR_* from the environment apply too.
 *
 * It fails where `cdktf deploy` would fail before anything is applied, and also on a tfvars entry that names no
 * variable of any stack verified (Terraform only warns, and the default silently applies). What it cannot see: the
 * cluster (admission, quotas, existing objects), and what the real providers check only when they talk to it.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ENVIRONMENTS, EXAMPLE_ENVIRONMENTS } from '../lib/environments';
import { synthesize } from '../lib/app';
import { startStandInProviders } from '../harness/providers';
import { TerraformStack } from '../harness/terraform';
import { changes } from '../harness/lifecycle';

const args = process.argv.slice(2);
const varFiles = [
  ...['terraform.tfvars', ...readdirSync('.').filter((f) => f.endsWith('.auto.tfvars')).sort()].filter((f) => existsSync(f)),
  ...args.filter((a) => a.startsWith('--var-file=')).map((a) => a.slice('--var-file='.length)),
].map((f) => resolve(f));
const unknown = args.filter((a) => a.startsWith('-') && !a.startsWith('--var-file='));
if (unknown.length > 0) {
  console.error(`verify: unknown option ${unknown[0]}; usage: npm run verify -- [--var-file=FILE]... [STACK]...`);
  process.exit(2);
}
for (const f of varFiles) if (!existsSync(f)) {
  console.error(`verify: --var-file ${f} does not exist`);
  process.exit(2);
}

async function main(): Promise<number> {
  const outdir = mkdtempSync(join(tmpdir(), 'registry-verify-'));
  const quiet = { log: () => undefined, error: console.error };
  try {
    const environments = [...ENVIRONMENTS, ...EXAMPLE_ENVIRONMENTS];
    const named = args.filter((a) => !a.startsWith('-'));
    const missing = named.filter((n) => !environments.some((e) => `registry-${e.name}` === n));
    if (missing.length > 0) {
      console.error(`verify: no stack ${missing[0]}; the stacks are ${environments.map((e) => `registry-${e.name}`).join(', ')}`);
      return 2;
    }
    // only the stacks asked for are synthesized (and the App still refuses a bad setting in any of them)
    const chosen = named.length > 0 ? environments.filter((e) => named.includes(`registry-${e.name}`)) : environments;
    if (synthesize(chosen, { outdir, log: quiet, report: false }) !== 0) return 1;
    const all = readdirSync(join(outdir, 'stacks')).sort();
    const providers = await startStandInProviders();
    try {
      const results = await Promise.all((named.length > 0 ? named : all).map((name) => verifyStack(name, join(outdir, 'stacks', name, 'cdk.tf.json'), providers.attachedEnv)));
      for (const line of results.flatMap((r) => r.lines)) console.log(line);
      // The tfvars go to every stack, so a name one stack lacks may be another's (s3_bucket): a name no stack
      // declares is a misspelling, and its default would apply silently.
      const misspelt = [...new Set(results.flatMap((r) => r.undeclared))].filter((v) => results.every((r) => r.undeclared.includes(v)));
      for (const v of misspelt) console.log(`FAILED: the tfvars set "${v}", which no stack declares (a misspelt name? the default applies instead)`);
      return results.every((r) => r.ok) && misspelt.length === 0 ? 0 : 1;
    } finally {
      await providers.stop();
    }
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

async function verifyStack(name: string, config: string, env: NodeJS.ProcessEnv): Promise<{ ok: boolean; lines: string[]; undeclared: string[] }> {
  const stack = new TerraformStack(config, env, 300_000);
  try {
    await stack.init();
    const planArgs = varFiles.map((f) => `-var-file=${f}`);
    const output = await stack.run('plan', '-input=false', '-out=tfplan', ...planArgs);
    // Terraform only warns about a value for a variable the stack does not declare: a misspelt name.
    const undeclared = [...output.matchAll(/Value for undeclared variable[\s\S]*?variable named "([^"]+)"/g)].map((m) => m[1]);
    const plan = JSON.parse(await stack.run('show', '-json', 'tfplan'));
    const count = (action: string) => changes(plan).filter((c) => c.actions.includes(action)).length;
    const summary = `${count('create')} to add, ${count('update')} to change, ${count('delete')} to destroy, ${count('forget')} to forget`;
    return { ok: true, lines: [`${name}: plan OK (${summary})`], undeclared };
  } catch (err) {
    // Terraform's errors, not the plan it printed before them
    const lines = (err as Error).message.split('\n');
    const first = lines.findIndex((l) => /^[│ ]*Error: /.test(l));
    const text = lines.slice(first < 0 ? 0 : first).filter((l) => l.trim() !== '').slice(0, 40);
    return { ok: false, lines: [`${name}: FAILED`, ...text.map((l) => `  ${l}`)], undeclared: [] };
  } finally {
    await stack.remove();
  }
}

main().then((code) => { process.exitCode = code; }, (err) => { console.error(err); process.exitCode = 1; });
