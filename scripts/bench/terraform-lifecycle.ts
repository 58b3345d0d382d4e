/**
 * Terraform on the shipped stacks, as the lifecycle suite runs it: init, plan, apply, a second plan, per stack, on
 * the stand-in providers (harness/providers), one stack at a time. Baseline in the same run: the same commands on a
 * configuration that only requires the four providers (what launching them costs before any resource).
 * CPU is terraform's (and curl's, which hands each launch over); the providers answer from this process.
 * Beside the stacks as users run them, registry-dev once more with the suite's Go runtime settings (GOGC=400,
 * harness/terraform.ts GO_RUNTIME_ENV): what the tests' terraform costs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { synthesize } from '../../lib/app';
import { ENVIRONMENTS, EXAMPLE_ENVIRONMENTS } from '../../lib/environments';
import { PROVIDERS } from '../../harness/providers/schema-source';
import { startStandInProviders } from '../../harness/providers';
import { userVariables } from '../../harness/lifecycle';
import { GO_RUNTIME_ENV, withLocalState } from '../../harness/terraform';
import { Cleanup, tempDir } from '../../harness/programs';
import { runOnce, Sample } from './measure';

export interface TerraformRow {
  readonly name: string;
  readonly samples: Sample[];
}

const STEPS: Array<[string, string[]]> = [
  ['init', ['init', '-input=false', '-no-color']],
  ['plan', ['plan', '-input=false', '-no-color', '-out=tfplan']],
  ['apply', ['apply', '-input=false', '-no-color', 'tfplan']],
  ['second plan', ['plan', '-input=false', '-no-color', '-detailed-exitcode']],
];

export async function measureTerraform(cleanup: Cleanup, runs: number, log: (l: string) => void): Promise<TerraformRow[]> {
  const providers = await startStandInProviders();
  cleanup.add(() => providers.stop());
  const out = await tempDir(cleanup, 'bench-tf-synth-');
  if (synthesize([...ENVIRONMENTS, ...EXAMPLE_ENVIRONMENTS], { outdir: out, report: false }) !== 0) throw new Error('synth failed');
  const required = Object.fromEntries(Object.entries(PROVIDERS).map(([name, p]) => [name, { source: `hashicorp/${name}`, version: p.version }]));
  const stack = (s: string) => JSON.parse(fs.readFileSync(path.join(out, 'stacks', s, 'cdk.tf.json'), 'utf8'));
  const configs: Array<[string, any, Record<string, string>?]> = [
    ['providers only (baseline)', { terraform: { required_providers: required } }],
    ...fs.readdirSync(path.join(out, 'stacks')).sort().map((s): [string, any] => [s, stack(s)]),
    [`registry-dev, GOGC=${GO_RUNTIME_ENV.GOGC} as the suite runs it`, stack('registry-dev'), GO_RUNTIME_ENV],
  ];
  const rows: TerraformRow[] = [];
  for (const [name, config, extraEnv] of configs) {
    const samples = new Map<string, Sample[]>(STEPS.map(([step]) => [step, []]));
    for (let run = 0; run < runs; run++) {
      const dir = await tempDir(cleanup, 'bench-tf-');
      fs.writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify(withLocalState(config)));
      if (config.variable) fs.writeFileSync(path.join(dir, 'terraform.tfvars.json'), JSON.stringify(userVariables(config)));
      for (const [step, args] of STEPS) samples.get(step)!.push(await runOnce('terraform', args, { cwd: dir, env: { ...providers.env, ...extraEnv } as Record<string, string> }));
    }
    for (const [step] of STEPS) rows.push({ name: `${name}: ${step}`, samples: samples.get(step)! });
    log(`  ${name} done`);
  }
  return rows;
}
