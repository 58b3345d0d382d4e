import { App } from 'cdktf';
import { ValidateBinaryVersion } from 'cdktf/lib/validations/validate-binary-version';
import type { EnvironmentSettings } from './environments';
import { RegistryStack } from './registry-stack';

export interface SynthesizeOptions {
  /** @default - cdk.tf.json per stack under cdktf.out (the cdktf CLI sets CDKTF_OUTDIR) */
  readonly outdir?: string;
  /** Where messages go. @default console */
  readonly log?: Pick<Console, 'log' | 'error'>;
  /** Say which stacks went where (the cdktf CLI reports on its own). @default true */
  readonly report?: boolean;
}

/**
 * One App, one RegistryStack per environment, synthesized. A bad setting is the operator's to fix: it is printed
 * as the message alone (no stack trace into our code) and the exit code is 1.
 */
export function synthesize(environments: readonly EnvironmentSettings[], options: SynthesizeOptions = {}): number {
  const log = options.log ?? console;
  const app = new App(options.outdir ? { outdir: options.outdir } : {});
  try {
    refuseDuplicateNames(environments);
    const stacks = environments.map((environment) => new RegistryStack(app, `registry-${environment.name}`, { environment }));
    withEachVersionCheckOnce(() => app.synth());
    if (options.report ?? true) {
      for (const stack of stacks) log.log(`${stack.node.id} -> ${app.outdir}/stacks/${stack.node.id}/cdk.tf.json`);
    }
    return 0;
  } catch (error) {
    log.error(`synth failed: ${(error as Error).message}`);
    return 1;
  }
}

/**
 * Each environment is one stack, `registry-<name>`: a second environment of the same name would otherwise surface as
 * cdktf's construct-name error.
 */
function refuseDuplicateNames(environments: readonly EnvironmentSettings[]): void {
  const seen = new Set<string>();
  for (const { name } of environments) {
    if (seen.has(name)) {
      throw new Error(`environment name: ${JSON.stringify(name)} is not allowed a second time; expected one environment per name (each becomes the stack registry-${name}, with its own state).`);
    }
    seen.add(name);
  }
}

/**
 * cdktf checks the local terraform's version for every terraform_data resource and import block, each time by
 * running `terraform version` (ValidateTerraformVersion): 15 runs, ~0.85 s of a ~2 s synth of the six stacks. Each
 * distinct check (its command, constraint and hint) runs once here and its answer is reused. The stacks' own
 * `required_version` (lib/providers.ts) makes terraform itself refuse an older version at init and plan.
 */
function withEachVersionCheckOnce<T>(run: () => T): T {
  const proto = ValidateBinaryVersion.prototype;
  const original = proto.validate;
  const answers = new Map<string, string[]>();
  proto.validate = function validateOnce(this: ValidateBinaryVersion): string[] {
    const key = JSON.stringify(this);
    let answer = answers.get(key);
    if (!answer) answers.set(key, (answer = original.call(this)));
    return answer;
  };
  try {
    return run();
  } finally {
    proto.validate = original;
  }
}
