/** RegistryTls alone, in an empty stack: both sources, the optional CA name, what each mode creates. */
import { RegistryTls } from '../../lib/tls';
import { only, resourcesOf, synthConstruct } from '../../harness/synth';

const common = { namespace: 'registry', secretName: 'registry-tls' };

describe('RegistryTls alone', () => {
  test('generated: a CA, a leaf for the given names and one kubernetes.io/tls secret with the CA beside the pair', () => {
    // GIVEN two DNS names and an IP
    const { json, result, resolve } = synthConstruct((scope) => new RegistryTls(scope, 'tls', {
      ...common, mode: 'generated', dnsNames: ['registry.example.com', 'r.example.com'], ipAddresses: ['192.0.2.10'],
      validityHours: 48, earlyRenewalHours: 24,
    }));
    // THEN the leaf names them, lives as long as asked, and the secret carries tls.crt, tls.key and ca.crt
    const request = only(json, 'tls_cert_request');
    expect(request.dns_names).toEqual(['registry.example.com', 'r.example.com']);
    expect(request.ip_addresses).toEqual(['192.0.2.10']);
    expect(request.subject[0].common_name).toBe('${element(["registry.example.com", "r.example.com"], 0)}');
    expect(only(json, 'tls_locally_signed_cert')).toMatchObject({ validity_period_hours: 48, early_renewal_hours: 24 });
    const secret = only(json, 'kubernetes_secret_v1');
    expect(secret.type).toBe('kubernetes.io/tls');
    expect(Object.keys(secret.data).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
    expect(resolve(result.caPem)).toMatch(/tls_self_signed_cert\.tls_ca_[A-F0-9]+\.cert_pem/);
  });

  test('generated: the CA is named "private-registry-stack CA" unless caCommonName says otherwise', () => {
    const build = (caCommonName?: string) => synthConstruct((scope) => new RegistryTls(scope, 'tls', {
      ...common, mode: 'generated', dnsNames: ['r.example.com'], ipAddresses: [], validityHours: 48, earlyRenewalHours: 24, caCommonName,
    })).json;
    expect(only(build(), 'tls_self_signed_cert').subject[0].common_name).toBe('private-registry-stack CA');
    expect(only(build('Acme Registry CA'), 'tls_self_signed_cert').subject[0].common_name).toBe('Acme Registry CA');
  });

  test('provided: no key or certificate is generated; the secret holds exactly the PEMs given', () => {
    // GIVEN provided PEMs
    const provided = { certificate: 'CERT PEM', privateKey: 'KEY PEM', ca: 'CA PEM' };
    // WHEN the construct is built
    const { json, result } = synthConstruct((scope) => new RegistryTls(scope, 'tls', { ...common, mode: 'provided', provided }));
    // THEN nothing from the tls provider exists and the CA attribute is the provided CA
    for (const type of ['tls_private_key', 'tls_self_signed_cert', 'tls_cert_request', 'tls_locally_signed_cert']) {
      expect(resourcesOf(json, type)).toEqual([]);
    }
    expect(only(json, 'kubernetes_secret_v1').data).toEqual({ 'tls.crt': 'CERT PEM', 'tls.key': 'KEY PEM', 'ca.crt': 'CA PEM' });
    expect(result.caPem).toBe('CA PEM');
  });
});
