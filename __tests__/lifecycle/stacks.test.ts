/**
 * What every user runs first, on every shipped environment: `terraform apply` (what `cdktf deploy` runs: it plans,
 * shows the plan, applies it), a second plan that must show no changes, and what `cdktf destroy` would do; then day-2
 * changes, each planned on an applied stack and asserted on the plan's actions (terraform's `-json` messages), or on
 * its `show -json` where a test reads values. The real terraform runs the synthesized cdk.tf.json with the tfvars
 * a user writes, against stand-in providers that serve the pinned providers' schemas (harness/providers).
 *
 * Stacks run side by side; each one's commands run in order (one state). Everything starts in beforeAll and the
 * tests read the results, so a slow stack never holds up another.
 *
 * Cost (BENCHMARKS.md): terraform attaches to the stand-in providers running in this process (`attachedEnv`; `init`
 * and the drift plans launch them through the mirror). The second plan refreshes: it proves the state read back
 * matches the configuration. The destroy plan and the day-2 changes (a password, roles, prod's settings) start from
 * that same state and prove what their own change does (`-refresh=false`: a refresh would read back the same state
 * again); the drift plans refresh, as the drift shows only on read.
 */
import { ENVIRONMENTS, EXAMPLE_ENVIRONMENTS } from '../../lib/environments';
import { Exposure } from '../../lib/exposure';
import { Storage } from '../../lib/storage';
import { INGRESS_NGINX_RELEASE_ADDRESS, STORAGE_CLAIM_ADDRESS, STORAGE_VOLUME_ADDRESS } from '../../lib/keep-earlier';
import { address, environment, synth, synthesized, type Synthesized } from '../../harness/synth';
import { startStandInProviders, type StandInProviders } from '../../harness/providers';
import { TerraformStack } from '../../harness/terraform';
import { changes, deletions, forgotten, summary, userVariables } from '../../harness/lifecycle';
import { tempDir, useCleanup } from '../../harness/programs';
import { stackMaterialFromState, startStackRegistry } from '../../harness/programs/stack-registry';
import { runCheck } from '../../lib/check/steps';

const SHIPPED = [...ENVIRONMENTS, ...EXAMPLE_ENVIRONMENTS];
const TIMEOUT = 180_000;

interface Lifecycle {
  readonly stack: TerraformStack;
  readonly first: any;
  /** `'no changes'` (terraform's exit code 0) or the plan. */
  readonly second: any;
  readonly destroy: { plan?: any; error?: string };
}

let providers: StandInProviders;
const lifecycles = new Map<string, Promise<Lifecycle>>();

/** The stack the end-to-end test runs on the real registry: its certificate also names the address tests reach. */
const E2E_STACK = 'dev';

async function lifecycle(name: string): Promise<Lifecycle> {
  const json = synthesized(name);
  const stack = new TerraformStack(json, providers.attachedEnv);
  await stack.setVariables(userVariables(json, name === E2E_STACK ? { registry_ip_addresses: ['127.0.0.1'] } : {}));
  await stack.init();
  const first = await stack.applyAnnounced();
  const second = await stack.planForChanges();
  const destroy = await stack.planActions('-destroy', '-refresh=false').then((plan) => ({ plan }), (err: Error) => ({ error: err.message }));
  return { stack, first, second, destroy };
}

/** The same state planned (not refreshed) with `json` (the environment's settings changed) and its tfvars; errors as text. */
async function planWith(stack: TerraformStack, json: Synthesized, ...args: string[]): Promise<{ plan?: any; error?: string }> {
  await stack.setConfig(json);
  await stack.setVariables(userVariables(json));
  return stack.planActions('-refresh=false', ...args).then((plan) => ({ plan }), (err: Error) => ({ error: err.message }));
}

/** Starts `steps` once the stack's lifecycle is done; a failure is reported by the tests that read it. */
function after<T>(name: string, steps: (stack: TerraformStack) => Promise<T>): Promise<T> {
  const result = lifecycles.get(name)!.then((l) => steps(l.stack));
  result.catch(() => undefined);
  return result;
}

// ---- day 2 on dev: a password rotation, and the annotation `kubectl rollout restart` leaves ----------------------
const devJson = synthesized('dev');
const deploymentAddress = address(devJson, 'kubernetes_deployment_v1', 'registry/deployment');
const alicePassword = `${address(devJson, 'random_password', 'auth/user-passwords')}["alice"]`;
let devDayTwo: Promise<{ rotation: any; restarted: any; edited: any; roles: any }>;

async function rotateAndRestart(stack: TerraformStack) {
  // docs/operations.md, rotate a password: replace the user's random_password
  const rotation = await stack.plan(`-replace=${alicePassword}`, '-refresh=false');
  // docs/security.md: a changed role or anonymous repository
  const roles = await stack.plan('-var=registry_roles=["alice:pull:team-a/*"]', '-var=anonymous_pull_repositories=["public/**"]', '-refresh=false');
  // the annotation a rollout restart writes, as provider 2.38.0 reads it back (upstream #2411)
  const state = await stack.state();
  const id = state.values.root_module.resources.find((r: any) => r.address === deploymentAddress).values.id;
  const annotate = (key: string) => ({
    kubernetes_deployment_v1: { [id]: { spec: [{ template: [{ metadata: [{ annotations: { [key]: '2026-12-06T03:00:12Z' } }] }] }] } },
  });
  await stack.setDrift(annotate('kubectl.kubernetes.io/restartedAt'));
  const restarted = await stack.planActions();
  // any other annotation set by hand is still Terraform's to put back
  await stack.setDrift(annotate('example.com/edited-by-hand'));
  const edited = await stack.planActions();
  await stack.setDrift(undefined);
  return { rotation, restarted, edited, roles };
}

// ---- day 2 on prod (host-path storage, adopted ingress-nginx, preventDestroy): changes of setting ----------------
let prodDayTwo: Promise<Record<'toS3' | 'toStorageClass' | 'toGateway' | 'destroyUnprotected', { plan?: any; error?: string }>>;

async function changeSettings(stack: TerraformStack) {
  const prod = environment('prod');
  const variables = (extra: Record<string, unknown>) => ({ ...prod.variables, ...extra });
  // each plan starts from the same applied state: planning never writes it
  return {
    toS3: await planWith(stack, synth({
      ...prod, storage: Storage.s3({ credentials: 'access-keys' }),
      variables: variables({ s3_bucket: 'registry', s3_region_endpoint: 'https://s3.example.com' }),
    }).json),
    toStorageClass: await planWith(stack, synth({ ...prod, storage: Storage.storageClass(), variables: variables({ storage_class: 'standard' }) }).json),
    toGateway: await planWith(stack, synth({
      ...prod, exposure: Exposure.gateway({ mode: 'create' }), serviceType: 'ClusterIP', variables: variables({ ...environment('example-gateway').variables }),
    }).json),
    destroyUnprotected: await planWith(stack, synth({ ...prod, preventDestroy: false }).json, '-destroy'),
  };
}

beforeAll(async () => {
  providers = await startStandInProviders();
  for (const env of SHIPPED) {
    const run = lifecycle(env.name);
    run.catch(() => undefined);
    lifecycles.set(env.name, run);
  }
  devDayTwo = after('dev', rotateAndRestart);
  prodDayTwo = after('prod', changeSettings);
}, 30_000);

afterAll(async () => {
  await Promise.allSettled([devDayTwo, prodDayTwo, ...lifecycles.values()]);
  const settled = await Promise.allSettled(lifecycles.values());
  await Promise.all(settled.map((r) => (r.status === 'fulfilled' ? r.value.stack.remove() : undefined)));
  await providers?.stop();
}, 60_000);

/** An adopting exposure imports the release (the synthesized `import` block). */
const isAdopted = (name: string) => (synthesized(name).import ?? []).length > 0;

describe.each(SHIPPED.map((env) => [env.name, env] as const))('registry-%s', (name, env) => {
  test('plans and applies, then a second plan shows no changes', async () => {
    const { first, second } = await lifecycles.get(name)!;
    expect(changes(first).length).toBeGreaterThan(10);
    expect(changes(first).every((c) => c.actions.includes('create') || c.actions.includes('update'))).toBe(true);
    // A perpetual diff would show here: every plan would change (and for a pod template, restart) something.
    expect(second === 'no changes' ? [] : summary(second)).toEqual([]);
  }, TIMEOUT);

  // The images live in a claim (and volume) the stack owns, or in a bucket the stack only names.
  const holdsData = Object.keys(synthesized(name).resource).includes('kubernetes_persistent_volume_claim_v1');
  const protects = holdsData && (env.preventDestroy ?? true);
  test(protects
    ? 'destroy fails on prevent_destroy: the data outlives a cdktf destroy'
    : 'destroy goes ahead, and never uninstalls an adopted controller', async () => {
    const { destroy } = await lifecycles.get(name)!;
    if (protects) {
      expect(destroy.error).toMatch(/Instance cannot be destroyed/);
      expect(destroy.error).toMatch(/prevent_destroy/);
    } else {
      expect(destroy.error).toBeUndefined();
      expect(deletions(destroy.plan).length).toBeGreaterThan(0);
      if (isAdopted(name)) expect(deletions(destroy.plan)).not.toContain(INGRESS_NGINX_RELEASE_ADDRESS);
    }
  }, TIMEOUT);
});

describe('day 2 on registry-dev', () => {
  test('rotating a user password replaces its cost-4 hash, updates the htpasswd Secret and rolls the Deployment in the same plan', async () => {
    const { rotation } = await devDayTwo;
    const byAddress = new Map(changes(rotation).map((c) => [c.address, c]));
    expect(byAddress.get(alicePassword)?.actions).toEqual(['delete', 'create']);
    // the hash is kept in state (bcrypt() re-salts on every plan: the second plans above show no change) and is
    // replaced with its password, not on its own
    const aliceHash = `${address(devJson, 'terraform_data', 'auth/user-hashes/hash')}["alice"]`;
    expect(byAddress.get(aliceHash)?.actions).toEqual(['delete', 'create']);
    expect([...byAddress.keys()].filter((a) => a.startsWith('terraform_data.')).sort()).toEqual([aliceHash]);
    expect(byAddress.get(address(devJson, 'kubernetes_secret_v1', 'auth/htpasswd'))?.actions).toEqual(['update']);
    const rollout = byAddress.get(deploymentAddress);
    expect(rollout?.actions).toEqual(['update']);
    // the content hash on the pod template is recomputed from the new Secret: the pods roll in this apply
    expect(rollout?.afterUnknown.spec[0].template[0].metadata[0].annotations).toBeTruthy();
    expect(summary(rotation)).toHaveLength(4);
  }, TIMEOUT);

  test('a changed role rewrites the grants file and rolls the Deployment in the same plan, nothing else', async () => {
    const { roles } = await devDayTwo;
    const frontConfig = address(devJson, 'kubernetes_config_map_v1', 'registry/front-config');
    expect(summary(roles).sort()).toEqual([`${deploymentAddress}: update`, `${frontConfig}: update`].sort());
    const rollout = changes(roles).find((c) => c.address === deploymentAddress)!;
    // the grants file's hash is known at plan time: the new value is in the plan, not "known after apply"
    const annotations = (plan: any) => plan.spec[0].template[0].metadata[0].annotations;
    expect(annotations(rollout.after)['private-registry-stack/grants-sha256']).not.toBe(annotations(rollout.before)['private-registry-stack/grants-sha256']);
  }, TIMEOUT);

  test('a rollout restart (restartedAt on the pod template) is not undone by the next plan', async () => {
    const { restarted, edited } = await devDayTwo;
    // an update here would strip the annotation and restart the registry once more
    expect(summary(restarted)).toEqual([]);
    expect(summary(edited)).toEqual([`${deploymentAddress}: update`]);
  }, TIMEOUT);
});

describe('day 2 on registry-prod (host-path storage, adopted ingress-nginx)', () => {
  test('switching to S3 storage releases the volume and claim from state instead of deleting them', async () => {
    const { toS3 } = await prodDayTwo;
    expect(toS3.error).toBeUndefined();
    // nothing of the data is deleted: the images stay on the node, the claim in the cluster
    expect(deletions(toS3.plan)).toEqual([]);
    expect(forgotten(toS3.plan).sort()).toEqual([STORAGE_CLAIM_ADDRESS, STORAGE_VOLUME_ADDRESS].sort());
  }, TIMEOUT);

  test('switching to a storage class cannot replace the claim: the plan stops on prevent_destroy', async () => {
    const { toStorageClass } = await prodDayTwo;
    expect(toStorageClass.error).toMatch(/Instance cannot be destroyed[\s\S]*persistent_volume_claim/);
  }, TIMEOUT);

  test('switching from the adopted controller to a Gateway releases the controller, never uninstalls it', async () => {
    const { toGateway } = await prodDayTwo;
    expect(toGateway.error).toBeUndefined();
    expect(deletions(toGateway.plan)).toEqual([]);
    expect(forgotten(toGateway.plan)).toContain(INGRESS_NGINX_RELEASE_ADDRESS);
  }, TIMEOUT);

  test('with preventDestroy: false, destroy still never uninstalls the adopted controller', async () => {
    const { destroyUnprotected } = await prodDayTwo;
    expect(destroyUnprotected.error).toMatch(/Instance cannot be destroyed[\s\S]*helm_release/);
  }, TIMEOUT);
});

describe(`registry-${E2E_STACK} as Terraform applied it, on the real registry`, () => {
  const cleanup = useCleanup();

  test('serves TLS with the tls provider\'s certificate and admits a generated user: every registry-check step passes', async () => {
    // GIVEN the applied state: the Secrets, config.yml and env exactly as Terraform sent them (no local stand-ins)
    const { stack } = await lifecycles.get(E2E_STACK)!;
    await devDayTwo.catch(() => undefined); // one command at a time on this stack's directory
    const { material, values } = await stackMaterialFromState(devJson, await stack.state(), await tempDir(cleanup, 'dev-state-'));
    // WHEN the synthesized pod runs them on the real registry
    const registry = await startStackRegistry(cleanup, devJson, { material, values });
    // THEN a client that trusts only the CA output logs in as a generated user and pushes, pulls and deletes
    const [user, password] = Object.entries(material.users)[0] as [string, string];
    const result = await runCheck({ target: `127.0.0.1:${registry.port}`, username: user, password, caPem: material.tls.caPem });
    expect(result.steps.filter((step) => !step.ok)).toEqual([]);
    expect(result.ok).toBe(true);
    // AND a wrong password is refused
    const refused = await runCheck({ target: `127.0.0.1:${registry.port}`, username: user, password: `${password}x`, caPem: material.tls.caPem });
    expect(refused.ok).toBe(false);
  }, TIMEOUT);
});
