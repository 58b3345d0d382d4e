/**
 * What the lifecycle suite (__tests__/lifecycle) needs besides harness/terraform.ts: the tfvars a user would write
 * for a stack, and readings of a plan as `terraform show -json` prints it.
 */
import type { Synthesized } from './json';

/** A plan's `resource_changes` entry, reduced to what the assertions read. */
export interface Change {
  readonly address: string;
  readonly actions: string[];
  readonly before: any;
  readonly after: any;
  readonly afterUnknown: any;
}

/** Every resource change of a plan that does something (no-op and read left out). */
export function changes(plan: any): Change[] {
  return (plan.resource_changes ?? [])
    .filter((r: any) => !r.change.actions.every((a: string) => a === 'no-op' || a === 'read'))
    .map((r: any) => ({ address: r.address, actions: r.change.actions, before: r.change.before, after: r.change.after, afterUnknown: r.change.after_unknown }));
}

/** The plan's changes as "address: actions" lines (readable in a failed assertion). */
export function summary(plan: any): string[] {
  return changes(plan).map((c) => `${c.address}: ${c.actions.join('+')}`);
}

/** Addresses the plan deletes (including the delete half of a replacement). */
export function deletions(plan: any): string[] {
  return changes(plan).filter((c) => c.actions.includes('delete')).map((c) => c.address);
}

/** Addresses the plan releases from state without deleting (`removed` with `destroy = false`). */
export function forgotten(plan: any): string[] {
  return changes(plan).filter((c) => c.actions.includes('forget')).map((c) => c.address);
}

/** A placeholder CA certificate: the variable rules check its PEM shape; the stand-in providers store it as given. */
const PEM = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2FQbGFjZWhvbGRlcg==\n-----END CERTIFICATE-----\n';

/**
 * Values for the variables a user must set (those without a default), by the variable's name, plus the ones a user
 * of that stack sets first: users and their roles (a role for a user not in the list fails the plan), domains. Only variables the stack declares are set: a tfvars entry for an
 * undeclared variable would be a mistake of ours.
 */
const USER_VALUES: Record<string, unknown> = {
  registry_users: ['alice', 'ci'],
  registry_roles: ['alice:admin', 'ci:push:**'],
  registry_domains: ['registry.example.com'],
  s3_access_key: 'AKIAIOSFODNN7EXAMPLE',
  s3_secret_key: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  s3_ca_pem: PEM,
};

export function userVariables(json: Pick<Synthesized, 'variable'>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [name, variable] of Object.entries(json.variable)) {
    if (name in USER_VALUES) values[name] = USER_VALUES[name];
    else if (variable.default === undefined) throw new Error(`userVariables: no value for ${name}, which has no default`);
  }
  return { ...values, ...extra };
}
