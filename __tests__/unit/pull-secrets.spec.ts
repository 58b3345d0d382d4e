import { environment, synth, byPath, address } from '../../harness/synth';

describe('RegistryPullSecrets', () => {
  const { json } = synth(environment('dev'));
  const secret = byPath(json, 'kubernetes_secret_v1', 'pull-secrets/secret');
  const password = address(json, 'random_password', 'pull-secrets/password');

  test('one kubernetes.io/dockerconfigjson secret per listed namespace', () => {
    expect(secret.type).toBe('kubernetes.io/dockerconfigjson');
    expect(secret.for_each).toBe('${toset(var.pull_secret_namespaces)}');
    expect(secret.metadata.namespace).toBe('${each.value}');
    expect(secret.metadata.name).toBe('${format("%s-pull", var.app_name)}');
  });

  test('the namespace list is validated (DNS-1123 labels, no repeats) and may be empty', () => {
    const variable = json.variable.pull_secret_namespaces;
    expect(variable).toMatchObject({ type: 'list(string)', default: [] });
    const conditions = variable.validation.map((v: any) => v.condition).join('\n');
    expect(conditions).toContain('alltrue([for x in var.pull_secret_namespaces');
    expect(conditions).toContain('length(distinct(var.pull_secret_namespaces))');
  });

  test('.dockerconfigjson is jsonencode(auths -> host:port -> username, password, base64 auth) for every registry host', () => {
    const doc = secret.data['.dockerconfigjson'];
    expect(doc).toMatch(/^\$\{jsonencode\(\{"auths" = \{ for key, val in toset\(/);
    // host:port as image references write it (no port on 443: __tests__/unit/image-hosts.test.ts evaluates it).
    expect(doc).toContain('"${val}${var.external_port == 443 ? "" : ":${var.external_port}"}"');
    expect(doc).toContain('"username" = format("%s-pull", var.app_name)');
    expect(doc).toContain(`"password" = ${password}.result`);
    expect(doc).toContain(`"auth" = base64encode(format("%s:%s", format("%s-pull", var.app_name), ${password}.result))`);
  });

  test('the pull user joins htpasswd with its stable cost-4 hash, only while some namespace is listed', () => {
    const htpasswd = byPath(json, 'kubernetes_secret_v1', 'auth/htpasswd').data.htpasswd;
    const hash = address(json, 'terraform_data', 'pull-secrets/hash');
    expect(htpasswd).toContain(
      `(length(var.pull_secret_namespaces) >= 1) ? [format("%s:%s", format("%s-pull", var.app_name), ${hash}.output.hash)] : []`,
    );
    expect(byPath(json, 'terraform_data', 'pull-secrets/hash')).toMatchObject({
      input: { hash: `\${bcrypt(${password}.result, 4)}` },
      lifecycle: { ignore_changes: ['input'], replace_triggered_by: [password] },
    });
    expect(byPath(json, 'random_password', 'pull-secrets/password')).toMatchObject({ length: 32, special: false });
  });

  test('registry_users may not take the pull user\'s name', () => {
    const conditions = json.variable.registry_users.validation.map((v: any) => v.condition);
    expect(conditions).toContain('${!contains(var.registry_users, "${var.app_name}-pull")}');
  });

  test('fails when a default namespace is not a DNS-1123 label', () => {
    expect(() => synth(environment('dev', { variables: { pull_secret_namespaces: ['Team_A'] } }))).toThrow(
      'environment dev: variables.pull_secret_namespaces[0]: "Team_A" is not allowed; expected a DNS-1123 label',
    );
  });
});
