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
  /** With a GC window: plans after `kubectl rollout restart` set its annotation, and after another annotation. */
  readonly restarted?: { restartedAt: any; otherAnnotation: any };
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
  const restarted = json.resource.kubernetes_cron_job_v1 ? await restartDrift(stack) : undefined;
  const destroy = await stack.plan('-destroy').then((plan) => ({ plan }), (err: Error) => ({ error: err.message }));
  return { stack, first, second, restarted, destroy };
}

/** The registry Deployment's pod template as the cluster has it after a window's `kubectl rollout restart`. */
async function restartDrift(stack: TerraformStack): Promise<NonNullable<Run['restarted']>> {
  const deployments = (await stack.state()).values.root_module.resources.filter((r: any) => r.type === 'kubernetes_deployment_v1');
  const annotate = (key: string) => Object.fromEntries(deployments.map((d: any) => [
    d.values.id, { spec: [{ template: [{ metadata: [{ annotations: { [key]: '2026-12-06T03:00:12Z' } }] }] }] },
  ]));
  await stack.setDrift({ kubernetes_deployment_v1: annotate('kubectl.kubernetes.io/restartedAt') });
  const restartedAt = await stack.plan();
  await stack.setDrift({ kubernetes_deployment_v1: annotate('example.com/edited-by-hand') });
  const otherAnnotation = await stack.plan();
  await stack.setDrift(undefined);
  return { restartedAt, otherAnnotation };
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

  if (synthesized(name).resource.kubernetes_cron_job_v1) {
    test('a GC window\'s `kubectl rollout restart` leaves no change to plan (ignore_changes on exactly its annotation)', async () => {
      const { restarted } = await runs.get(name)!;
      expect(summary(restarted!.restartedAt)).toEqual([]);
      // any other annotation set by hand is still drift Terraform puts right (on each Deployment it was set on)
      const other = changes(restarted!.otherAnnotation);
      expect(other.length).toBeGreaterThan(0);
      expect(other.map((c) => [c.address.split('.')[0], c.actions])).toEqual(other.map(() => ['kubernetes_deployment_v1', ['update']]));
    }, 120_000);
  }

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
