/**
 * The stand-in providers (harness/providers) under the real terraform: init, plan, apply, a no-change plan and
 * destroy per provider, with what the lifecycle tests rely on (real certificates and bcrypt hashes, sensitivity
 * enforced by terraform). Kubernetes and helm (injected drift, import of an adopted release) are exercised on the
 * shipped stacks themselves: __tests__/lifecycle/stacks.test.ts.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startStandInProviders, type StandInProviders } from '../../harness/providers';
import { TerraformStack } from '../../harness/terraform';

const run = promisify(execFile);
const PROVIDERS = {
  kubernetes: { source: 'hashicorp/kubernetes', version: '2.38.0' },
  helm: { source: 'hashicorp/helm', version: '3.1.1' },
  tls: { source: 'hashicorp/tls', version: '4.1.0' },
  random: { source: 'hashicorp/random', version: '3.7.2' },
};

// The tests run concurrently (each is mostly terraform waiting on itself): one server and scratch dir for all,
// started by whichever test comes first.
let started: Promise<[StandInProviders, string]> | undefined;
const start = () => (started ??= Promise.all([startStandInProviders(), mkdtemp(join(tmpdir(), 'stand-in-test-'))]));
const stacks: TerraformStack[] = [];

afterAll(async () => {
  await Promise.all(stacks.map((s) => s.remove()));
  if (!started) return;
  const [providers, scratch] = await started;
  await providers.stop();
  await rm(scratch, { recursive: true, force: true });
});

async function stack(names: Array<keyof typeof PROVIDERS>, body: object, env: NodeJS.ProcessEnv = {}): Promise<[TerraformStack, string]> {
  const [providers, scratch] = await start();
  const required = Object.fromEntries(names.map((n) => [n, PROVIDERS[n]]));
  const s = new TerraformStack({ terraform: { required_providers: required }, ...body }, { ...providers.env, ...env });
  stacks.push(s);
  return [s, await mkdtemp(join(scratch, 'test-'))];
}

const changes = (plan: any) => (plan.resource_changes ?? []).filter((c: any) => !c.change.actions.includes('no-op'));

describe('stand-in providers', () => {
  test.concurrent('tls issues real certificates: SANs present, the leaf chains to the CA', async () => {
    const [s, scratch] = await stack(['tls'], {
      resource: {
        tls_private_key: { ca: { algorithm: 'ECDSA', ecdsa_curve: 'P256' }, server: { algorithm: 'RSA', rsa_bits: 2048 } },
        tls_self_signed_cert: { ca: {
          private_key_pem: '${tls_private_key.ca.private_key_pem}', is_ca_certificate: true, validity_period_hours: 48,
          allowed_uses: ['cert_signing', 'crl_signing'], subject: [{ common_name: 'registry CA', organization: 'test' }],
        } },
        tls_cert_request: { server: {
          private_key_pem: '${tls_private_key.server.private_key_pem}', subject: [{ common_name: 'registry.example' }],
          dns_names: ['registry.example', 'registry.registry.svc'], ip_addresses: ['10.0.0.5'],
        } },
        tls_locally_signed_cert: { server: {
          cert_request_pem: '${tls_cert_request.server.cert_request_pem}', ca_private_key_pem: '${tls_private_key.ca.private_key_pem}',
          ca_cert_pem: '${tls_self_signed_cert.ca.cert_pem}', validity_period_hours: 24, allowed_uses: ['server_auth', 'digital_signature', 'key_encipherment'],
        } },
      },
    });
    await s.init();
    expect(changes(await s.plan()).map((c: any) => c.change.actions[0])).toEqual(['create', 'create', 'create', 'create', 'create']);
    await s.apply(true);
    const resources = (await s.state()).values.root_module.resources as any[];
    const value = (address: string) => resources.find((r) => r.address === address).values;
    await writeFile(join(scratch, 'ca.pem'), value('tls_self_signed_cert.ca').cert_pem);
    await writeFile(join(scratch, 'server.pem'), value('tls_locally_signed_cert.server').cert_pem);
    const text = (await run('openssl', ['x509', '-noout', '-text', '-in', join(scratch, 'server.pem')])).stdout;
    expect(text).toMatch(/DNS:registry\.example, DNS:registry\.registry\.svc, IP Address:10\.0\.0\.5/);
    expect(text).toMatch(/TLS Web Server Authentication/);
    expect((await run('openssl', ['verify', '-CAfile', join(scratch, 'ca.pem'), join(scratch, 'server.pem')])).stdout).toMatch(/server\.pem: OK/);
    expect(value('tls_private_key.server').public_key_openssh).toMatch(/^ssh-rsa AAAA/);
    expect(changes(await s.plan())).toEqual([]);
    await s.destroy();
    expect((await s.state()).values).toBeUndefined();
  }, 90_000);

  test.concurrent('random_password: a bcrypt hash htpasswd verifies, stable on re-plan; keepers force replacement', async () => {
    const [s, scratch] = await stack(['random'], {
      variable: { rotation: { type: 'string', default: '1' } },
      resource: { random_password: { pull: { length: 24, special: false, min_numeric: 3, keepers: { rotation: '${var.rotation}' } } } },
    });
    await s.init();
    await s.apply();
    const password = (await s.state()).values.root_module.resources[0].values;
    expect(password.result).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(password.result.replace(/\D/g, '').length).toBeGreaterThanOrEqual(3);
    expect(password.bcrypt_hash).toMatch(/^\$2a\$10\$/);
    await writeFile(join(scratch, 'htpasswd'), `pull:${password.bcrypt_hash}\n`);
    await expect(run('htpasswd', ['-vb', join(scratch, 'htpasswd'), 'pull', password.result])).resolves.toBeDefined();
    expect(changes(await s.plan())).toEqual([]);
    const rotated = await s.plan('-var', 'rotation=2');
    expect(changes(rotated).map((c: any) => c.change.actions)).toEqual([['delete', 'create']]);
    await s.destroy();
  }, 90_000);

  test.concurrent('sensitivity is served: an output of a secret value without sensitive = true is refused', async () => {
    const [s] = await stack(['random', 'kubernetes'], {
      resource: {
        random_password: { pull: { length: 16 } },
        kubernetes_secret_v1: { auth: { metadata: [{ name: 'auth' }], data: { htpasswd: '${random_password.pull.bcrypt_hash}' } } },
      },
      output: { hash: { value: '${kubernetes_secret_v1.auth.data}' } },
    });
    await s.init();
    await expect(s.plan()).rejects.toThrow(/Output refers to sensitive values/);
  }, 60_000);
});
