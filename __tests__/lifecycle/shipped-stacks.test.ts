/**
 * What every user runs first, on every shipped environment: `terraform plan` (what `cdktf deploy` shows), apply,
 * and a second plan that must show no changes; then what `cdktf destroy` would do. The real terraform runs the
 * synthesized cdk.tf.json with the tfvars a user writes, against stand-in providers that serve the pinned
 * providers' schemas (harness/providers). The stacks run side by side; each one's steps run in order.
 */
import { ENVIRONMENTS, EXAMPLE_ENVIRONMENTS } from '../../lib/environments';
import { INGRESS_NGINX_RELEASE_ADDRESS } from '../../lib/keep-earlier';
import { synthesized } from '../../harness/json';
import { startStandInProviders, type StandInProviders } from '../../harness/providers';
import { TerraformStack } from '../../harness/terraform';
import { changes, deletions, summary, userVariables } from '../../harness/lifecycle';

const SHIPPED = [...ENVIRONMENTS, ...EXAMPLE_ENVIRONMENTS];

interface Run {
  readonly stack: TerraformStack;
  readonly first: any;
  readonly second: any;
  readonly destroy: { plan?: any; error?: string };
}

let providers: StandInProviders;
const runs = new Map<string, Promise<Run>>();

async function lifecycle(name: string): Promise<Run> {
  const json = synthesized(name);
  const stack = new TerraformStack(json, providers.env);
  await stack.setVariables(userVariables(json));
  await stack.init();
  const first = await stack.plan();
  await stack.apply(true);
  const second = await stack.plan();
  const destroy = await stack.plan('-destroy').then((plan) => ({ plan }), (err: Error) => ({ error: err.message }));
  return { stack, first, second, destroy };
}

beforeAll(async () => {
  providers = await startStandInProviders();
  for (const env of SHIPPED) {
    const run = lifecycle(env.name);
    run.catch(() => undefined); // reported by the test that reads it
    runs.set(env.name, run);
  }
}, 30_000);

afterAll(async () => {
  const settled = await Promise.allSettled(runs.values());
  await Promise.all(settled.map((r) => (r.status === 'fulfilled' ? r.value.stack.remove() : undefined)));
  await providers?.stop();
}, 30_000);

describe.each(SHIPPED.map((env) => [env.name, env] as const))('registry-%s', (name, env) => {
  test('plans and applies, then a second plan shows no changes', async () => {
    const { first, second } = await runs.get(name)!;
    expect(changes(first).length).toBeGreaterThan(10);
    expect(changes(first).every((c) => c.actions.includes('create') || c.actions.includes('update'))).toBe(true);
    // A perpetual diff would show here: every plan would change (and for a pod template, restart) something.
    expect(summary(second)).toEqual([]);
  }, 120_000);

  // The images live in a claim (and volume) the stack owns, or in a bucket the stack only names.
  const holdsData = Object.keys(synthesized(name).resource).includes('kubernetes_persistent_volume_claim_v1');
  const protects = holdsData && (env.preventDestroy ?? true);
  test(protects
    ? 'destroy fails on prevent_destroy: the data outlives a cdktf destroy'
    : 'destroy deletes none of what the stack adopted or shares, and no data', async () => {
    const { destroy } = await runs.get(name)!;
    if (protects) {
      expect(destroy.error).toMatch(/Instance cannot be destroyed/);
      expect(destroy.error).toMatch(/prevent_destroy/);
    } else {
      expect(destroy.error).toBeUndefined();
      expect(deletions(destroy.plan).length).toBeGreaterThan(0);
      // an adopted controller is never uninstalled (adopt mode guards it with prevent_destroy of its own)
      if (isAdopted(name)) expect(deletions(destroy.plan)).not.toContain(INGRESS_NGINX_RELEASE_ADDRESS);
    }
  }, 120_000);
});

/** An adopting exposure imports the release (the synthesized `import` block). */
function isAdopted(name: string): boolean {
  return (synthesized(name).import ?? []).length > 0;
}
