import { resourcesOf, synth, TEST_ENVIRONMENTS, type Synthesized } from '../../harness/synth';

/** Secret material written literally into a configuration (PEM blocks, bcrypt hashes, long random-looking tokens). */
const LITERAL_SECRETS: [string, RegExp][] = [
  // A PEM header followed by base64 content (a script may test for the bare header line, which is no secret).
  ['a PEM block', /-----BEGIN [A-Z ]*-----(\\[nr]|\s)*[A-Za-z0-9+/]{20}/],
  ['a private key header', /PRIVATE KEY-----/],
  ['a bcrypt hash', /\$2[aby]\$\d\d\$/],
  ['a JWT', /eyJ[A-Za-z0-9_-]{8,}\./],
];
// Names of lists of namespaces that receive a pull secret say "secret" without holding one; a KMS key id names a
// key without holding it.
const SECRET_NAME = /token|(?<!kms_)key|password|passwd|pem|secret(?!_namespaces$)/;
/** Expressions that carry secret material: generated passwords and keys, the sensitive inputs. */
const SECRET_REFERENCE = /random_password\.[^.]+(\[[^\]]*\])?\.(result|bcrypt_hash)|\.private_key_pem|\bval\.result\b|var\.(kube_token|htpasswd_entries|tls_private_key_pem|s3_access_key|s3_secret_key|redis_password)/;

/** What a scan of one synthesized stack finds wrong; empty when nothing secret is in plain sight. */
function secretFindings(json: Synthesized): string[] {
  const findings: string[] = [];
  // Validation rules and descriptions name the formats (-----BEGIN ..., $2y$10$...): they are not values.
  const text = JSON.stringify(json, (key, value) => (key === 'validation' || key === 'description' ? undefined : value));
  for (const [what, re] of LITERAL_SECRETS) if (re.test(text)) findings.push(`literal ${what}`);
  for (const [name, variable] of Object.entries<any>(json.variable ?? {})) {
    if (SECRET_NAME.test(name) && variable.sensitive !== true) findings.push(`variable ${name} is not sensitive`);
  }
  for (const [name, output] of Object.entries<any>(json.output ?? {})) {
    if (SECRET_REFERENCE.test(JSON.stringify(output.value)) && output.sensitive !== true) findings.push(`output ${name} is not sensitive`);
  }
  // config.yml and plain env values are readable by anyone who may read the ConfigMap or the Deployment.
  for (const configMap of resourcesOf(json, 'kubernetes_config_map_v1')) {
    for (const [key, value] of Object.entries<string>(configMap.data ?? {})) {
      if (SECRET_REFERENCE.test(value)) findings.push(`config map ${configMap.metadata.name} key ${key} holds a secret`);
    }
  }
  for (const deployment of resourcesOf(json, 'kubernetes_deployment_v1')) {
    for (const container of deployment.spec.template.spec.container) {
      for (const entry of container.env ?? []) {
        if (entry.value !== undefined && SECRET_REFERENCE.test(entry.value)) findings.push(`env ${entry.name} of ${container.name} holds a secret`);
      }
    }
  }
  for (const secret of resourcesOf(json, 'kubernetes_secret_v1')) {
    for (const [key, value] of Object.entries<string>(secret.data ?? {})) {
      // a user name is public (it is an output too); every other value comes from Terraform, never a literal
      if (key !== 'username' && !/^\$\{.*\}$/s.test(value)) findings.push(`secret ${secret.metadata.name} key ${key} is a literal`);
    }
  }
  return findings;
}

let stacks: [string, Synthesized][];

beforeAll(() => {
  stacks = TEST_ENVIRONMENTS.map((env) => [env.name, synth(env).json]);
});

describe('secrets in the synthesized configuration', () => {
  test('no stack holds a secret in plain sight', () => {
    for (const [name, json] of stacks) expect({ name, findings: secretFindings(json) }).toEqual({ name, findings: [] });
  });

  test('the secret inputs are sensitive variables and the passwords a sensitive output', () => {
    const [, shared] = stacks.find(([name]) => name === 'shared')!;
    for (const name of ['htpasswd_entries', 'kube_token', 'tls_certificate_pem', 'tls_private_key_pem', 'tls_ca_pem']) {
      expect(shared.variable[name].sensitive).toBe(true);
    }
    expect(shared.output.registry_passwords.sensitive).toBe(true);
    const [, s3] = stacks.find(([name]) => name === 'example-s3')!;
    for (const name of ['s3_access_key', 's3_secret_key', 's3_ca_pem', 'redis_password']) expect(s3.variable[name].sensitive).toBe(true);
  });

  test.each<[string, (json: Synthesized) => void, string]>([
    ['a private key is written into a secret', (j) => {
      resourcesOf(j, 'kubernetes_secret_v1')[0].data['tls.key'] = '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oNr2QfD7Bf8ooAoGCCqGSM49\n-----END EC PRIVATE KEY-----\n';
    }, 'literal a PEM block'],
    ['a private key header is written anywhere', (j) => {
      j.output.registry_endpoint.value = 'BEGIN EC PRIVATE KEY-----';
    }, 'literal a private key header'],
    ['a bcrypt hash is a variable default', (j) => { j.variable.registry_users.default = ['admin:$2y$10$abc']; }, 'literal a bcrypt hash'],
    ['a password is a literal secret value', (j) => { resourcesOf(j, 'kubernetes_secret_v1')[1].data.htpasswd = 'admin:hunter2'; }, 'key htpasswd is a literal'],
    ['the token variable is not sensitive', (j) => { delete j.variable.kube_token.sensitive; }, 'variable kube_token is not sensitive'],
    ['the passwords output is not sensitive', (j) => { j.output.registry_passwords.sensitive = false; }, 'output registry_passwords is not sensitive'],
    ['an S3 secret key is written into config.yml', (j) => {
      const config = resourcesOf(j, 'kubernetes_config_map_v1').find((c) => 'config.yml' in c.data);
      config.data['config.yml'] += 'storage:\n  s3:\n    secretkey: ${var.s3_secret_key}\n';
    }, 'key config.yml holds a secret'],
    ['the Redis password is a plain env value', (j) => {
      resourcesOf(j, 'kubernetes_deployment_v1')[0].spec.template.spec.container[0].env.push({ name: 'REGISTRY_REDIS_PASSWORD', value: '${var.redis_password}' });
    }, 'env REGISTRY_REDIS_PASSWORD of registry holds a secret'],
  ])('fails when %s', (_, mutate, finding) => {
    const json = structuredClone(stacks[0][1]);
    mutate(json);
    expect(secretFindings(json).join('\n')).toContain(finding);
  });
});
