/**
 * The real terraform binary on synthesized stacks, without providers (none can be downloaded here):
 * - `TerraformWorkspace`: variable blocks (and optional outputs) per stack, `.tftest.hcl` files generated from a
 *   table, one `terraform init` and one `terraform test -json`, and the machine-readable result of every run;
 * - `evaluateWithTerraform`: synthesized expressions evaluated the way `apply` would.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { escapeTemplate } from '../lib/hcl';
import { SYNTH_CACHE_ENV, type Synthesized } from './json';
import { removeDirectory } from './remove';
import { execFileLight } from './programs/spawner';

export const TERRAFORM = process.env.TERRAFORM_BIN ?? 'terraform';
/**
 * Go's collector at a quarter of its default pace: a plan of a whole stack then peaks near 150 MB instead of 95 MB
 * and takes a tenth to a quarter less CPU (BENCHMARKS.md, 2026-12-03 (afternoon), "terraform's garbage collector").
 * Off altogether, it saves less: the CPU moves into the kernel, zeroing the extra pages. A GOGC of the caller's own
 * wins.
 */
export const GO_RUNTIME_ENV = { GOGC: process.env.GOGC ?? '400' };
const TERRAFORM_ENV = { ...process.env, CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1', ...GO_RUNTIME_ENV };
const run = execFileLight;

export interface Diagnostic {
  readonly summary: string;
  readonly detail: string;
}

export interface RunResult {
  readonly status: string;
  readonly diagnostics: Diagnostic[];
}

/** An HCL literal for a variable value (null, strings, numbers, lists of them). */
export function hcl(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `[${value.map(hcl).join(', ')}]`;
  if (typeof value === 'string') return escapeTemplate(JSON.stringify(value));
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new Error(`no HCL literal for ${JSON.stringify(value)}`);
}

/** One `run` block; `module` is a directory under the configuration (one per stack). */
export function runBlock(name: string, module: string, vars: Record<string, unknown>, body = ''): string {
  const assignments = Object.entries(vars).map(([k, v]) => `    ${k} = ${hcl(v)}`).join('\n');
  return `run "${name}" {\n  command = plan\n  module {\n    source = "./${module}"\n  }\n  variables {\n${assignments}\n  }\n${body}}\n`;
}

/** A temporary Terraform configuration: one provider-less module per stack, plus generated test files. */
export class TerraformWorkspace {
  readonly dir = mkdtempSync(join(tmpdir(), 'registry-tf-'));

  constructor() {
    mkdirSync(join(this.dir, 'tests'));
    // The root module itself declares nothing: every run names the stack module it plans.
    writeFileSync(join(this.dir, 'main.tf.json'), JSON.stringify({ terraform: {} }));
  }

  /** Copies a stack's `variable` blocks (and optional extra outputs) into module directory `name`. */
  addStack(name: string, stack: Pick<Synthesized, 'variable'>, outputs: Record<string, { value: unknown }> = {}): void {
    mkdirSync(join(this.dir, name));
    writeFileSync(join(this.dir, name, 'variables.tf.json'), JSON.stringify({ variable: stack.variable }, null, 1));
    if (Object.keys(outputs).length > 0) writeFileSync(join(this.dir, name, 'outputs.tf.json'), JSON.stringify({ output: outputs }, null, 1));
  }

  addTestFile(name: string, runs: string[]): void {
    writeFileSync(join(this.dir, 'tests', `${name}.tftest.hcl`), runs.join('\n'));
  }

  /** `terraform init` then `terraform test -json`; results keyed by "<file name>/<run name>". */
  test(): Map<string, RunResult> {
    const env = TERRAFORM_ENV;
    const init = spawnSync(TERRAFORM, ['init', '-no-color', '-input=false'], { cwd: this.dir, env, encoding: 'utf8' });
    if (init.status !== 0) throw new Error(`terraform init failed: ${init.error ?? ''}${init.stderr}`);
    const run = spawnSync(TERRAFORM, ['test', '-json', '-no-color'], { cwd: this.dir, env, encoding: 'utf8', maxBuffer: 64 << 20 });
    if (run.error) throw run.error;
    const results = new Map<string, RunResult>();
    const key = (file: string, runName: string) => `${file.replace(/^tests\/|\.tftest\.hcl$/g, '')}/${runName}`;
    for (const line of run.stdout.split('\n').filter(Boolean)) {
      const message = JSON.parse(line);
      if (message.type === 'test_run' && message.test_run.progress === 'complete') {
        const k = key(message.test_run.path, message.test_run.run);
        results.set(k, { status: message.test_run.status, diagnostics: results.get(k)?.diagnostics ?? [] });
      } else if (message.type === 'diagnostic' && message['@testrun']) {
        const k = key(message['@testfile'], message['@testrun']);
        const entry = results.get(k) ?? { status: 'unknown', diagnostics: [] };
        entry.diagnostics.push({ summary: message.diagnostic.summary, detail: message.diagnostic.detail ?? '' });
        results.set(k, entry);
      }
    }
    if (results.size === 0) throw new Error(`terraform test reported no runs: ${run.stderr}`);
    return results;
  }

  remove(): void {
    removeDirectory(this.dir);
  }
}

/**
 * Evaluates `expressions` (strings as found in cdk.tf.json, e.g. "${jsonencode(...)}") the way Terraform does on
 * apply: a config in `dir` with every variable block of the stack (validations included), `values` as tfvars and
 * one output per expression. Provider attributes cannot be computed here, so each resource the expressions name
 * (`random_password.<id>`, `kubernetes_secret_v1.<id>`, ...) is replaced by a variable holding the value the provider
 * would produce (`resources[<id>]`).
 */
export async function evaluateWithTerraform(
  dir: string,
  json: Pick<Synthesized, 'variable' | 'locals'>,
  expressions: Record<string, string>,
  values: Record<string, unknown>,
  resources: Record<string, unknown> = {},
): Promise<Record<string, any>> {
  return (await evaluateVariantsWithTerraform(dir, json, expressions, { values }, resources)).values;
}

/** Keeps a value literal in a Terraform JSON argument: `${` and `%{` would start a template. */
function literal(value: unknown): unknown {
  if (typeof value === 'string') return escapeTemplate(value);
  if (Array.isArray(value)) return value.map(literal);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, literal(v)]));
  return value;
}

/**
 * `evaluateWithTerraform` for several sets of values at once (a variant may also set a resource stand-in,
 * `resource_<id>`): the stack's variables and the expressions become a
 * module, called once per variant, so one init and one apply evaluate them all (each with its own validations).
 */
export async function evaluateVariantsWithTerraform<V extends string>(
  dir: string,
  json: Pick<Synthesized, 'variable' | 'locals'>,
  expressions: Record<string, string>,
  variants: Record<V, Record<string, unknown>>,
  resources: Record<string, unknown> = {},
): Promise<Record<V, Record<string, any>>> {
  await fs.mkdir(join(dir, 'stack'), { recursive: true });
  const variable: Record<string, unknown> = { ...json.variable };
  const standIns: Record<string, unknown> = {};
  const output: Record<string, unknown> = {};
  const standIn = (key: string) => {
    if (!(key in resources)) throw new Error(`evaluateWithTerraform: no value for ${key}`);
    const v = `resource_${key.replace(/[^A-Za-z0-9_]/g, '_')}`;
    variable[v] = { type: 'any' };
    standIns[v] = resources[key];
    return `var.${v}`;
  };
  const substitute = (expression: string) => {
    // Addresses given in full (`kubernetes_namespace_v1.namespace`, `data.kubernetes_resources.x_ABCD1234`) first;
    // then any resource or data source whose cdktf logical id ends in its 8-digit hex hash, by that id (a local's
    // name ends so too: locals stay, and are copied below).
    let value = expression;
    for (const key of Object.keys(resources).filter((k) => k.includes('.'))) {
      value = value.replace(new RegExp(`(?<![A-Za-z0-9_.-])${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![A-Za-z0-9_-])`, 'g'), () => standIn(key));
    }
    return value.replace(/(?<![A-Za-z0-9_.])(?!local\.)(?:data\.)?[a-z][a-z0-9_]*\.([A-Za-z0-9_-]+_[A-F0-9]{8})\b/g, (_m, id: string) => standIn(id));
  };
  for (const [name, expression] of Object.entries(expressions)) {
    // sensitive: some expressions read sensitive variables (htpasswd_entries); `output -json` still prints them
    output[name] = { value: substitute(expression), sensitive: true };
  }
  // The stack's locals the outputs name (and the locals those name), their resource references substituted alike.
  const locals: Record<string, unknown> = {};
  const mentioned = (text: string) => Object.keys(json.locals ?? {}).filter((l) => !(l in locals) && text.includes(`local.${l}`));
  for (let pending = mentioned(JSON.stringify(output)); pending.length > 0; pending = mentioned(JSON.stringify(locals))) {
    for (const l of pending) locals[l] = JSON.parse(substitute(JSON.stringify(json.locals![l])));
  }
  const stackModule = JSON.stringify({ variable, output, ...(Object.keys(locals).length > 0 ? { locals } : {}) }, null, 1);
  const moduleName = (variant: string) => `v_${variant.replace(/[^A-Za-z0-9_]/g, '_')}`;
  const names = Object.keys(variants) as V[];
  const root = JSON.stringify({
    module: Object.fromEntries(names.map((n) => [moduleName(n), { source: './stack', ...(literal({ ...standIns, ...variants[n] }) as object) }])),
    output: Object.fromEntries(names.map((n) => [moduleName(n), { value: `\${module.${moduleName(n)}}`, sensitive: true }])),
  }, null, 1);
  await Promise.all([fs.writeFile(join(dir, 'stack', 'main.tf.json'), stackModule), fs.writeFile(join(dir, 'main.tf.json'), root)]);
  const outputs = await evaluationCache(`${stackModule}\n${root}`, () => applyOutputs(dir));
  return Object.fromEntries(names.map((n) => [n, outputs[moduleName(n)].value])) as Record<V, Record<string, any>>;
}

/**
 * The outputs of a configuration terraform applied earlier in this jest run, by its content, or `evaluate()`'s (then
 * kept). Many test files run the same stack's registry with the same values: one terraform apply serves them all.
 * Outside the whole suite (a file run by path, a script) there is no run directory and nothing is kept.
 */
async function evaluationCache(config: string, evaluate: () => Promise<Record<string, { value: any }>>): Promise<Record<string, { value: any }>> {
  const runDir = process.env[SYNTH_CACHE_ENV];
  if (!runDir) return evaluate();
  const key = createHash('sha256').update(config).digest('hex');
  // the same configuration asked for again while it is being applied (registries started side by side) waits for it
  let result = evaluating.get(key);
  if (!result) {
    result = cachedOrEvaluated(join(runDir, 'terraform-evaluations', `${key}.json`), evaluate);
    evaluating.set(key, result);
    result.catch(() => evaluating.delete(key));
  }
  return result;
}

const evaluating = new Map<string, Promise<Record<string, { value: any }>>>();

async function cachedOrEvaluated(file: string, evaluate: () => Promise<Record<string, { value: any }>>): Promise<Record<string, { value: any }>> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const outputs = await evaluate();
  await fs.mkdir(dirname(file), { recursive: true });
  // written whole, then renamed: a file evaluating the same configuration at the same time reads all of it or none
  const partial = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await fs.writeFile(partial, JSON.stringify(outputs), { mode: 0o600 });
  await fs.rename(partial, file);
  return outputs;
}

/** `init`, `apply` and `output -json` of the provider-less configuration in `dir`. */
async function applyOutputs(dir: string): Promise<Record<string, { value: any }>> {
  const step = async (...args: string[]) => {
    try {
      return await run(TERRAFORM, [...args, '-no-color'], { cwd: dir, env: TERRAFORM_ENV });
    } catch (err) {
      throw new Error(`terraform ${args[0]} failed: ${(err as { stderr?: string }).stderr ?? err}`);
    }
  };
  await step('init', '-input=false', '-backend=false');
  await step('apply', '-auto-approve', '-input=false');
  return JSON.parse((await step('output', '-json')).stdout);
}

/**
 * Runs one terraform command in `dir` (no colour, no update check) and returns its combined output; a failing
 * command's output ends in "FAILED" instead of throwing, so a test can assert on a refusal.
 */
export async function terraformCommand(dir: string, ...args: string[]): Promise<string> {
  return run(TERRAFORM, [...args, '-no-color'], { cwd: dir, env: TERRAFORM_ENV })
    .then((r) => r.stdout + r.stderr, (e) => `${e.stdout}${e.stderr}FAILED`);
}

/** Terraform's JSON UI actions as `show -json` spells them: a replacement deletes, a removal from state forgets. */
const SHOW_ACTIONS: Record<string, string[]> = { replace: ['delete', 'create'], remove: ['forget'], noop: ['no-op'] };

/**
 * The `planned_change` messages of a `-json` plan or apply as a `show -json` plan with only `resource_changes`
 * addresses and actions (harness/lifecycle.ts reads either).
 */
function announced(output: string): any {
  const messages = output.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line));
  return {
    resource_changes: messages.filter((m) => m.type === 'planned_change')
      .map((m) => ({ address: m.change.resource.addr, change: { actions: SHOW_ACTIONS[m.change.action] ?? [m.change.action] } })),
  };
}

/** The diagnostics of a `-json` run as terraform prints them without it: "Error: <summary>", the address, the detail. */
function diagnosticsText(output: string): string {
  return output.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line))
    .filter((m) => m.type === 'diagnostic')
    .map(({ diagnostic: d }) => `${d.severity === 'error' ? 'Error' : 'Warning'}: ${d.summary}\n${d.address ? `  with ${d.address}\n` : ''}${d.detail ?? ''}\n`)
    .join('\n');
}

/**
 * A configuration whose state stays in its working directory: a stack's own backend (a local path relative to
 * cdktf.out, Terraform Cloud) would share state between runs, or leave this machine.
 */
export function withLocalState(config: any): any {
  const terraform = { ...config.terraform, backend: { local: { path: 'terraform.tfstate' } } };
  delete terraform.cloud;
  return { ...config, terraform };
}

/**
 * A synthesized stack's cdk.tf.json run by the real terraform against providers given by `env` (the stand-ins of
 * harness/providers: `startStandInProviders().env`), in a temp directory of its own (its own lock file: never the
 * real providers' hashes). Every method is async, so stacks run in parallel; `remove()` cannot fail a run.
 */
export class TerraformStack {
  readonly dir: string;
  private readonly env: NodeJS.ProcessEnv;

  /** `config`: the cdk.tf.json content (object) or a path to it; `timeoutMs`: per command (busy 2-core machines). */
  constructor(config: object | string, env: NodeJS.ProcessEnv, private readonly timeoutMs = 120_000) {
    this.dir = mkdtempSync(join(tmpdir(), 'registry-stack-'));
    const json = typeof config === 'string' ? fs.readFile(config, 'utf8').then((text) => JSON.parse(text)) : Promise.resolve(config);
    this.written = json.then((c) => this.write(c));
    this.env = { ...TERRAFORM_ENV, ...env };
  }

  private readonly written: Promise<void>;

  /** Replaces the configuration (the same environment synthesized with other settings): state stays. */
  async setConfig(config: object): Promise<void> {
    await this.written;
    await this.write(config);
  }

  /** Writes the configuration with its state in this directory (withLocalState). */
  private write(config: any): Promise<void> {
    return fs.writeFile(join(this.dir, 'cdk.tf.json'), JSON.stringify(withLocalState(config), null, 1));
  }

  /**
   * Drift the stand-in providers report on refresh from now on (harness/providers/README.md):
   * `{ "<type>": { "<id>": <patch deep-merged over the state> } }`; `undefined` ends it.
   */
  async setDrift(drift: Record<string, Record<string, unknown>> | undefined): Promise<void> {
    if (!drift) {
      delete this.env.STANDIN_DRIFT_FILE;
      return;
    }
    const file = join(this.dir, 'drift.json');
    await fs.writeFile(file, JSON.stringify(drift));
    this.env.STANDIN_DRIFT_FILE = file;
  }

  /**
   * The environment of one command. Providers attached through TF_REATTACH_PROVIDERS (`attachedEnv` of
   * harness/providers) are left out of `init`, which would otherwise skip them (no lock file entry, no check of the
   * pinned versions against the mirror), and out of commands with drift: the drift file reaches a provider at launch.
   */
  private envFor(command: string): NodeJS.ProcessEnv {
    if (command !== 'init' && !this.env.STANDIN_DRIFT_FILE) return this.env;
    const { TF_REATTACH_PROVIDERS: _attached, ...env } = this.env;
    return env;
  }

  /** Runs `terraform <args> -no-color`; throws with terraform's output when it fails. */
  async run(...args: string[]): Promise<string> {
    await this.written;
    try {
      const r = await run(TERRAFORM, [...args, '-no-color'], { cwd: this.dir, env: this.envFor(args[0]), timeout: this.timeoutMs, maxBuffer: 64 << 20 });
      return r.stdout + r.stderr;
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message?: string };
      const stdout = args.includes('-json') ? diagnosticsText(e.stdout ?? '') : e.stdout ?? '';
      throw new Error(`terraform ${args.join(' ')} failed in ${this.dir}:\n${stdout}${e.stderr ?? e.message}`);
    }
  }

  /** terraform.tfvars.json from a JS object (values stay literal: `${` is not a template in tfvars). */
  async setVariables(vars: Record<string, unknown>): Promise<void> {
    await fs.writeFile(join(this.dir, 'terraform.tfvars.json'), JSON.stringify(vars, null, 1));
  }

  init(): Promise<string> {
    return this.run('init', '-input=false');
  }

  validate(): Promise<string> {
    return this.run('validate');
  }

  /** `plan -out` then `show -json` of that plan: the parsed plan (resource_changes, planned_values, ...). */
  async plan(...args: string[]): Promise<any> {
    await this.run('plan', '-input=false', '-out=tfplan', ...args);
    return JSON.parse(await this.run('show', '-json', 'tfplan'));
  }

  /**
   * `plan -detailed-exitcode -out`: `'no changes'` when terraform finds nothing to change (exit code 0: no
   * resource and no output changes), otherwise the parsed plan as `plan()` returns it (one `show -json` fewer for a
   * plan that must be empty).
   */
  async planForChanges(...args: string[]): Promise<any> {
    await this.written;
    const command = ['plan', '-input=false', '-detailed-exitcode', '-out=tfplan', ...args, '-no-color'];
    try {
      await run(TERRAFORM, command, { cwd: this.dir, env: this.envFor('plan'), timeout: this.timeoutMs, maxBuffer: 64 << 20 });
      return 'no changes';
    } catch (err) {
      const e = err as { code?: unknown; stdout?: string; stderr?: string; message?: string };
      if (e.code !== 2) throw new Error(`terraform ${command.join(' ')} failed in ${this.dir}:\n${e.stdout ?? ''}${e.stderr ?? e.message}`);
    }
    return JSON.parse(await this.run('show', '-json', 'tfplan'));
  }

  /**
   * `plan -json`: the changes terraform announces, shaped as `plan()` returns them but reduced to addresses and
   * actions (`before`/`after` absent). One command instead of two for a plan whose actions are all a test reads.
   */
  async planActions(...args: string[]): Promise<any> {
    return announced(await this.run('plan', '-input=false', '-json', ...args));
  }

  /**
   * `apply -auto-approve -json`, what `cdktf deploy` runs: the plan it applied, as `planActions()` returns it (one
   * plan instead of a plan, its `show -json` and an apply of the saved plan).
   */
  async applyAnnounced(): Promise<any> {
    return announced(await this.run('apply', '-input=false', '-auto-approve', '-json'));
  }

  /** Applies the last saved plan (after `plan()`), or plans and applies at once. */
  async apply(fromPlan = false): Promise<string> {
    return fromPlan ? this.run('apply', '-input=false', 'tfplan') : this.run('apply', '-input=false', '-auto-approve');
  }

  /** The state as `show -json` prints it. */
  async state(): Promise<any> {
    return JSON.parse(await this.run('show', '-json'));
  }

  destroy(): Promise<string> {
    return this.run('destroy', '-input=false', '-auto-approve');
  }

  async remove(): Promise<void> {
    await fs.rm(this.dir, { recursive: true, force: true, maxRetries: 3 }).catch(() => undefined);
  }
}
