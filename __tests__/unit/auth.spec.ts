import { environment, synth, byPath, address } from '../../harness/synth';

describe('RegistryAuth', () => {
  const { json } = synth(environment('dev'));

  test('generates one random password per user, letters and digits only', () => {
    const passwords = byPath(json, 'random_password', 'auth/user-passwords');
    expect(passwords.for_each).toBe('${toset(var.registry_users)}');
    expect(passwords).toMatchObject({ length: 32, special: false });
  });

  test('the htpasswd lines hold a cost-4 bcrypt of each generated password, kept in state and replaced with the password', () => {
    const secret = byPath(json, 'kubernetes_secret_v1', 'auth/htpasswd');
    const passwords = address(json, 'random_password', 'auth/user-passwords');
    const hashes = address(json, 'terraform_data', 'auth/user-hashes/hash');
    expect(secret.data.htpasswd).toContain(`for key, val in ${hashes}: "\${key}:\${val.output.hash}"`);
    expect(secret.data.htpasswd).toContain('var.htpasswd_entries');
    // bcrypt() re-salts on every plan: its result is read once, at create (ignore_changes), and replaced only with
    // the password (replace_triggered_by)
    expect(byPath(json, 'terraform_data', 'auth/user-hashes/hash')).toMatchObject({
      for_each: `\${${passwords}}`,
      input: { hash: '${bcrypt(each.value.result, 4)}' },
      lifecycle: { ignore_changes: ['input'], replace_triggered_by: [`${passwords}[each.key]`] },
    });
  });

  test('pre-hashed entries come from a sensitive list variable', () => {
    expect(json.variable.htpasswd_entries).toMatchObject({ type: 'list(string)', sensitive: true, default: [] });
  });

  test('http.secret is generated once, shared by every replica through its own secret', () => {
    const value = address(json, 'random_password', 'auth/http-secret-value');
    const secret = byPath(json, 'kubernetes_secret_v1', 'auth/http-secret');
    expect(secret.data).toEqual({ 'http-secret': `\${${value}.result}` });
  });

  test('passwords are a sensitive output keyed by user', () => {
    expect(json.output.registry_passwords.sensitive).toBe(true);
    expect(json.output.registry_passwords.value).toContain('key => val.result');
  });
});
