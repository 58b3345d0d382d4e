/**
 * The cert-manager v1.21.1 CRDs through validateCustomResource: the Certificate the cert-manager TLS mode emits, the
 * issuers it names (ACME DNS-01, a CA), and what the CRDs refuse. cert-manager's admission webhook checks more
 * (one issuer type, a Certificate's names…); that is not in the CRD and not here.
 */
import { CEL_BLOCKED, formatErrors, validateCustomResource } from '../../../harness/crd';

const CERT_MANAGER = 'cert-manager.io/v1';
const metadata = { name: 'registry', namespace: 'registry', labels: { 'app.kubernetes.io/component': 'tls' } };
const errors = (object: unknown) => formatErrors(validateCustomResource(object));

function certificate(spec: Record<string, unknown> = {}): any {
  return {
    apiVersion: CERT_MANAGER,
    kind: 'Certificate',
    metadata,
    spec: {
      secretName: 'registry-tls',
      secretTemplate: { labels: { 'app.kubernetes.io/component': 'tls' } },
      dnsNames: ['registry.example.com'],
      ipAddresses: ['10.0.0.5'],
      issuerRef: { group: 'cert-manager.io', kind: 'ClusterIssuer', name: 'letsencrypt' },
      privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
      usages: ['server auth', 'digital signature'],
      ...spec,
    },
  };
}

const acme = {
  acme: {
    server: 'https://acme-v02.api.letsencrypt.org/directory',
    email: 'platform@example.com',
    privateKeySecretRef: { name: 'letsencrypt-account' },
    solvers: [{ dns01: { cloudflare: { apiTokenSecretRef: { name: 'cloudflare', key: 'token' } } }, selector: { dnsZones: ['example.com'] } }],
  },
};

describe('cert-manager v1.21.1 CRDs through validateCustomResource', () => {
  describe('Certificate', () => {
    test('the Certificate the cert-manager TLS mode emits is valid', () => {
      expect(errors(certificate())).toEqual([]);
      expect(errors(certificate({ duration: '2160h', renewBefore: '720h' }))).toEqual([]);
    });

    test('enums: key algorithm, rotation policy, usages; an unknown field', () => {
      expect(errors(certificate({ privateKey: { algorithm: 'ecdsa', rotationPolicy: 'Sometimes' }, usages: ['server-auth'], issuer: 'letsencrypt' }))).toEqual([
        'spec.issuer: Unknown field: not declared in the schema (strict field validation)',
        'spec.privateKey.algorithm: Unsupported value: "ecdsa": supported values: "RSA", "ECDSA", "Ed25519"',
        'spec.privateKey.rotationPolicy: Unsupported value: "Sometimes": supported values: "Never", "Always"',
        expect.stringMatching(/^spec\.usages\[0\]: Unsupported value: "server-auth": supported values: "signing", "digital signature", /),
        CEL_BLOCKED,
      ]);
    });

    test('secretName and issuerRef are required', () => {
      expect(errors({ apiVersion: CERT_MANAGER, kind: 'Certificate', metadata, spec: { dnsNames: ['registry.example.com'] } })).toEqual([
        'spec.issuerRef: Required value',
        'spec.secretName: Required value',
        CEL_BLOCKED,
      ]);
    });
  });

  describe('Issuer and ClusterIssuer', () => {
    test('an ACME DNS-01 ClusterIssuer and a CA Issuer are valid', () => {
      expect(errors({ apiVersion: CERT_MANAGER, kind: 'ClusterIssuer', metadata: { name: 'letsencrypt' }, spec: acme })).toEqual([]);
      expect(errors({ apiVersion: CERT_MANAGER, kind: 'Issuer', metadata, spec: { ca: { secretName: 'registry-ca' } } })).toEqual([]);
    });

    test('a ClusterIssuer is cluster-scoped; ACME needs a server', () => {
      expect(errors({ apiVersion: CERT_MANAGER, kind: 'ClusterIssuer', metadata: { name: 'letsencrypt', namespace: 'registry' }, spec: acme })).toEqual([
        'metadata.namespace: Forbidden: not allowed on a cluster-scoped resource (ClusterIssuer)',
      ]);
      expect(errors({ apiVersion: CERT_MANAGER, kind: 'Issuer', metadata, spec: { acme: { privateKeySecretRef: { name: 'account' } } } })).toEqual([
        'spec.acme.server: Required value',
        CEL_BLOCKED,
      ]);
    });

    test('the CRDs\' one CEL rule: a Venafi issuer has exactly one of tpp, cloud, ngts', () => {
      const tpp = { url: 'https://tpp.example.com/vedsdk', credentialsRef: { name: 'tpp' } };
      const venafi = (v: Record<string, unknown>) => ({ apiVersion: CERT_MANAGER, kind: 'Issuer', metadata, spec: { venafi: { zone: 'registry', ...v } } });
      expect(errors(venafi({ tpp }))).toEqual([]);
      expect(errors(venafi({ tpp, cloud: { apiTokenSecretRef: { name: 'cloud', key: 'token' } } }))).toEqual([
        'spec.venafi: Invalid value: exactly one of tpp, cloud, or ngts must be configured',
      ]);
    });
  });
});
