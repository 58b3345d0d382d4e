/**
 * The 443 front door's test stacks through the real terraform on the stand-in providers: apply (a plan applied), a second plan
 * with no changes (the shipped example-https runs in stacks.test.ts), and the per-run checks only Terraform can make:
 * node trust of a cert-manager issuer refuses an empty CA at plan time, naming the variable.
 */
import { synthesized } from '../../harness/json';
import { summary, userVariables } from '../../harness/lifecycle';
import { startStandInProviders, type StandInProviders } from '../../harness/providers';
import { TerraformStack } from '../../harness/terraform';

const CA = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2FQbGFjZWhvbGRlcg==\n-----END CERTIFICATE-----\n';
const TIMEOUT = 240_000;

let providers: StandInProviders;
const stacks: TerraformStack[] = [];

async function stackOf(name: string, values: Record<string, unknown>): Promise<TerraformStack> {
  const json = synthesized(name);
  // Attached to the providers running in this process (init still installs them from the mirror).
  const stack = new TerraformStack(json, providers.attachedEnv);
  stacks.push(stack);
  await stack.setVariables(userVariables(json, values));
  await stack.init();
  return stack;
}

beforeAll(async () => {
  providers = await startStandInProviders();
}, 30_000);

afterAll(async () => {
  await Promise.all(stacks.map((s) => s.remove()));
  await providers?.stop();
}, 60_000);

describe.each([
  ['https-attach', {}],
  ['ingress-http', {}],
  ['cert-manager-passthrough', { cert_manager_ca_pem: CA }],
])('registry-%s', (name, values) => {
  test('plans and applies, then a second plan shows no changes', async () => {
    const stack = await stackOf(name, values);
    expect(summary(await stack.applyAnnounced()).length).toBeGreaterThan(0);
    const second = await stack.planForChanges();
    expect(second === 'no changes' ? [] : summary(second)).toEqual([]);
  }, TIMEOUT);
});

test('node trust of a cert-manager issuer: an empty cert_manager_ca_pem fails the plan, naming the variable', async () => {
  const stack = await stackOf('cert-manager-passthrough', { cert_manager_ca_pem: '' });
  const error = await stack.plan().then(() => '', (err: Error) => err.message.replace(/\s+/g, ' '));
  expect(error).toContain('Resource precondition failed');
  expect(error).toContain('cert_manager_ca_pem: "" is not allowed with node trust; expected the PEM of the issuer\'s CA');
}, TIMEOUT);
