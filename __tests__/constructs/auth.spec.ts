/** RegistryAuth and RegistryPullSecrets alone: optional props and what they create. */
import { RegistryAuth } from '../../lib/auth';
import { RegistryPullSecrets } from '../../lib/pull-secrets';
import { byPath, only, synthConstruct } from '../../harness/synth';

const authProps = { namespace: 'registry', htpasswdSecretName: 'registry-htpasswd', httpSecretName: 'registry-http-secret' };

describe('RegistryAuth alone', () => {
  test('one generated password per user, 32 letters and digits by default; a 64-character shared http secret', () => {
    const { json } = synthConstruct((scope) => new RegistryAuth(scope, 'auth', { ...authProps, users: ['admin', 'ci'], htpasswdEntries: [] }));
    const users = byPath(json, 'random_password', 'auth/user-passwords');
    expect(users.for_each).toBe('${toset(["admin", "ci"])}');
    expect(users).toMatchObject({ length: 32, special: false });
    expect(byPath(json, 'random_password', 'auth/http-secret-value')).toMatchObject({ length: 64, special: false });
  });

  test('passwordLength changes the generated users\' passwords only', () => {
    const { json } = synthConstruct((scope) => new RegistryAuth(scope, 'auth', { ...authProps, users: ['admin'], htpasswdEntries: [], passwordLength: 48 }));
    expect(byPath(json, 'random_password', 'auth/user-passwords').length).toBe(48);
    expect(byPath(json, 'random_password', 'auth/http-secret-value').length).toBe(64);
  });

  test('the htpasswd file joins generated lines, extra lines and kept entries, in that order, ending in a newline', () => {
    const { json } = synthConstruct((scope) => new RegistryAuth(scope, 'auth', {
      ...authProps, users: ['admin'], htpasswdEntries: ['kept:$2y$hash'], extraHtpasswdLines: ['extra:$2a$hash'],
    }));
    const htpasswd: string = byPath(json, 'kubernetes_secret_v1', 'auth/htpasswd').data.htpasswd;
    expect(htpasswd.indexOf('bcrypt_hash')).toBeLessThan(htpasswd.indexOf('extra:$2a$hash'));
    expect(htpasswd.indexOf('extra:$2a$hash')).toBeLessThan(htpasswd.indexOf('kept:$2y$hash'));
    expect(htpasswd).toMatch(/, "\\n"\]\)\}$/);
  });
});

describe('RegistryPullSecrets alone', () => {
  test('a dockerconfigjson secret per namespace with an entry per host:port; the user joins htpasswd only while a namespace is listed', () => {
    const { json, result, resolve } = synthConstruct((scope) => new RegistryPullSecrets(scope, 'pull', {
      namespaces: ['ci', 'apps'], secretName: 'registry-pull', username: 'registry-pull', registryHosts: ['r.example.com:5000'],
    }));
    const secret = only(json, 'kubernetes_secret_v1');
    expect(secret.for_each).toBe('${toset(["ci", "apps"])}');
    expect(secret.type).toBe('kubernetes.io/dockerconfigjson');
    expect(secret.data['.dockerconfigjson']).toContain('r.example.com:5000');
    expect(resolve(result.htpasswdLines)).toMatch(/length\(\["ci", "apps"\]\) >= 1/);
    expect(only(json, 'random_password')).toMatchObject({ length: 32, special: false });
  });

  test('passwordLength sets the pull user\'s password length', () => {
    const { json } = synthConstruct((scope) => new RegistryPullSecrets(scope, 'pull', {
      namespaces: [], secretName: 's', username: 'u', registryHosts: [], passwordLength: 40,
    }));
    expect(only(json, 'random_password').length).toBe(40);
  });
});
