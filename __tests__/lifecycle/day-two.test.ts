/**
 * Day-2 changes as `cdktf deploy` plans them, on the real terraform with the stand-in providers (harness/providers):
 * each starts from an applied stack and asserts on the plan JSON what the cluster would see.
 * - dev: a rotated password reaches the pods in the same plan; the restartedAt annotation a GC window (or
 *   `kubectl rollout restart`) writes is not undone;
 * - prod (host-path storage, adopted ingress-nginx, preventDestroy): switching storage kind or exposure keeps the
 *   claim, the volume and the controller; destroy never uninstalls the adopted controller.
 */
import { Exposure } from '../../lib/exposure';
import { Storage } from '../../lib/storage';
import { INGRESS_NGINX_RELEASE_ADDRESS, STORAGE_CLAIM_ADDRESS, STORAGE_VOLUME_ADDRESS } from '../../lib/keep-earlier';
import { address, environment, synth, synthesized, type Synthesized } from '../../harness/synth';
import { startStandInProviders, type StandInProviders } from '../../harness/providers';
import { TerraformStack } from '../../harness/terraform';
import { changes, deletions, forgotten, summary, userVariables } from '../../harness/lifecycle';

let providers: StandInProviders;
const stacks: TerraformStack[] = [];

/** A stack applied from `json` with the tfvars a user writes. */
async function applied(json: Synthesized): Promise<TerraformStack> {
  const stack = new TerraformStack(json, providers.env);
  stacks.push(stack);
  await stack.setVariables(userVariables(json));
  await stack.init();
  await stack.apply();
  return stack;
}

/** The same state planned with `json` (the environment's settings changed), with its tfvars. */
async function planWith(stack: TerraformStack, json: Synthesized, ...args: string[]): Promise<any> {
  await stack.setConfig(json);
  await stack.setVariables(userVariables(json));
  return stack.plan(...args);
}

let dev: Promise<TerraformStack>;
let prod: Promise<TerraformStack>;

beforeAll(async () => {
  providers = await startStandInProviders();
  dev = applied(synthesized('dev'));
  prod = applied(synthesized('prod'));
  dev.catch(() => undefined);
  prod.catch(() => undefined);
}, 30_000);

afterAll(async () => {
  await Promise.allSettled([dev, prod]);
  await Promise.all(stacks.map((s) => s.remove()));
  await providers?.stop();
}, 30_000);

describe('registry-dev after apply', () => {
  const json = synthesized('dev');
  const deployment = address(json, 'kubernetes_deployment_v1', 'registry/deployment');

  test('rotating a user password updates the htpasswd Secret and rolls the Deployment in the same plan', async () => {
    // GIVEN an applied stack WHEN alice's password is replaced (docs/operations.md: rotate a password)
    const stack = await dev;
    const password = `${address(json, 'random_password', 'auth/user-passwords')}["alice"]`;
    const plan = await stack.plan(`-replace=${password}`);
    // THEN the password, the htpasswd Secret and the pod template change together
    const byAddress = new Map(changes(plan).map((c) => [c.address, c]));
    expect(byAddress.get(password)?.actions).toEqual(['delete', 'create']);
    expect(byAddress.get(address(json, 'kubernetes_secret_v1', 'auth/htpasswd'))?.actions).toEqual(['update']);
    const rollout = byAddress.get(deployment);
    expect(rollout?.actions).toEqual(['update']);
    // the content hash on the pod template is recomputed from the new Secret: the pods roll in this apply
    expect(rollout?.afterUnknown.spec[0].template[0].metadata[0].annotations).toBeTruthy();
    expect(summary(plan)).toHaveLength(3);
  }, 120_000);

  test('a rollout restart (restartedAt on the pod template) is not undone by the next plan', async () => {
    // GIVEN the annotation `kubectl rollout restart` writes, as the provider reads it back (issue #2411)
    const stack = await dev;
    const state = await stack.state();
    const id = state.values.root_module.resources.find((r: any) => r.address === deployment).values.id;
    await stack.setDrift({
      kubernetes_deployment_v1: {
        [id]: { spec: [{ template: [{ metadata: [{ annotations: { 'kubectl.kubernetes.io/restartedAt': '2026-12-06T03:00:00Z' } }] }] }] },
      },
    });
    try {
      // WHEN the stack is planned again THEN nothing changes (an update would restart the registry)
      expect(summary(await stack.plan())).toEqual([]);
    } finally {
      await stack.setDrift(undefined);
    }
  }, 120_000);
});

describe('registry-prod after apply (host-path storage, adopted ingress-nginx)', () => {
  const prodEnv = environment('prod');
  const gatewayVariables = environment('example-gateway').variables;
  const s3Variables = environment('example-s3').variables;

  test('switching to S3 storage releases the volume and claim from state instead of deleting them', async () => {
    // GIVEN prod applied WHEN its storage becomes S3
    const stack = await prod;
    const { json } = synth({
      ...prodEnv,
      storage: Storage.s3({ credentials: 'access-keys' }),
      variables: { ...prodEnv.variables, s3_bucket: s3Variables?.s3_bucket, s3_region_endpoint: 'https://s3.example.com' },
    });
    const plan = await planWith(stack, json);
    // THEN nothing of the data is deleted: the images stay on the node, the claim in the cluster
    expect(deletions(plan)).toEqual([]);
    expect(forgotten(plan).sort()).toEqual([STORAGE_CLAIM_ADDRESS, STORAGE_VOLUME_ADDRESS].sort());
  }, 120_000);

  test('switching to a storage class cannot replace the claim: the plan stops on prevent_destroy', async () => {
    const stack = await prod;
    const { json } = synth({ ...prodEnv, storage: Storage.storageClass(), variables: { ...prodEnv.variables, storage_class: 'standard' } });
    await expect(planWith(stack, json)).rejects.toThrow(/Instance cannot be destroyed[\s\S]*persistent_volume_claim/);
  }, 120_000);

  test('switching from the adopted controller to a Gateway releases the controller, never uninstalls it', async () => {
    const stack = await prod;
    const { json } = synth({ ...prodEnv, exposure: Exposure.gateway({ mode: 'create' }), serviceType: 'ClusterIP', variables: { ...prodEnv.variables, ...gatewayVariables } });
    const plan = await planWith(stack, json);
    expect(deletions(plan)).toEqual([]);
    expect(forgotten(plan)).toContain(INGRESS_NGINX_RELEASE_ADDRESS);
  }, 120_000);

  test('with preventDestroy: false, destroy still never uninstalls the adopted controller', async () => {
    const stack = await prod;
    const { json } = synth({ ...prodEnv, preventDestroy: false });
    await expect(planWith(stack, json, '-destroy')).rejects.toThrow(/Instance cannot be destroyed[\s\S]*helm_release/);
  }, 120_000);
});
