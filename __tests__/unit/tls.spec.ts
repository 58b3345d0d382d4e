import { environment, synth, only, byPath, address } from '../../harness/synth';

describe('RegistryTls', () => {
  describe('generated mode', () => {
    const { json } = synth(environment('dev'));

    test('makes ECDSA P-256 keys for the CA and the leaf (not the provider default P224)', () => {
      const keys = Object.values(json.resource.tls_private_key);
      expect(keys).toHaveLength(2);
      for (const key of keys) expect(key).toMatchObject({ algorithm: 'ECDSA', ecdsa_curve: 'P256' });
    });

    test('the CA is a CA that can sign certificates and CRLs', () => {
      const ca = only(json, 'tls_self_signed_cert');
      expect(ca.is_ca_certificate).toBe(true);
      expect(ca.allowed_uses).toEqual(expect.arrayContaining(['cert_signing', 'crl_signing']));
    });

    test('the leaf carries SANs: the registry domains, the in-cluster service names and the IPs', () => {
      const request = only(json, 'tls_cert_request');
      expect(request.dns_names).toContain('var.registry_domains');
      expect(request.dns_names).toContain('format("%s.%s.svc", var.app_name, kubernetes_namespace_v1.namespace.metadata[0].name)');
      expect(request.dns_names).toContain('.svc.cluster.local');
      expect(request.ip_addresses).toBe('${var.registry_ip_addresses}');
    });

    test('the leaf is a server certificate signed by the CA, renewed early as configured', () => {
      const leaf = only(json, 'tls_locally_signed_cert');
      expect(leaf.allowed_uses).toEqual(['digital_signature', 'key_encipherment', 'server_auth']);
      expect(leaf.ca_cert_pem).toBe(`\${${address(json, 'tls_self_signed_cert', 'tls/ca')}.cert_pem}`);
      expect(leaf.validity_period_hours).toBe('${var.cert_validity_hours}');
      expect(leaf.early_renewal_hours).toBe('${var.cert_early_renewal_hours}');
    });

    test('one kubernetes.io/tls secret holds tls.crt, tls.key and ca.crt as PEM contents, not file paths', () => {
      const secret = byPath(json, 'kubernetes_secret_v1', 'tls/secret');
      expect(secret.type).toBe('kubernetes.io/tls');
      expect(Object.keys(secret.data).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
      expect(secret.data['tls.crt']).toMatch(/^\$\{tls_locally_signed_cert\..*\.cert_pem\}$/);
      expect(secret.data['tls.key']).toMatch(/^\$\{tls_private_key\..*leaf-key.*\.private_key_pem\}$/);
      expect(secret.data['ca.crt']).toMatch(/^\$\{tls_self_signed_cert\..*\.cert_pem\}$/);
    });
  });

  describe('provided mode', () => {
    const { json } = synth(environment('dev', { tlsMode: 'provided' }));

    test('creates no tls provider resources and takes the PEMs from sensitive variables', () => {
      expect(json.resource.tls_private_key).toBeUndefined();
      expect(json.resource.tls_self_signed_cert).toBeUndefined();
      for (const name of ['tls_certificate_pem', 'tls_private_key_pem', 'tls_ca_pem']) {
        expect(json.variable[name]).toMatchObject({ type: 'string', sensitive: true });
        expect(json.variable[name].default).toBeUndefined();
      }
      const secret = byPath(json, 'kubernetes_secret_v1', 'tls/secret');
      expect(secret.data).toEqual({
        'tls.crt': '${var.tls_certificate_pem}',
        'tls.key': '${var.tls_private_key_pem}',
        'ca.crt': '${var.tls_ca_pem}',
      });
    });

    test('publishes the CA certificate (public material) without the sensitive mark of its variable', () => {
      expect(json.output.ca_certificate_pem).toMatchObject({ value: '${nonsensitive(var.tls_ca_pem)}', sensitive: false });
    });
  });
});
