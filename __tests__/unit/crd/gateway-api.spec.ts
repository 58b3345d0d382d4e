/**
 * The Gateway API v1.6.1 CRDs the HTTPS exposure emits (HTTPRoute, Gateway with an HTTPS listener, BackendTLSPolicy,
 * ReferenceGrant) through validateCustomResource: the shapes the stack emits pass; each CEL rule family they touch,
 * and the schema, refuse a broken one with the API server's message. TLSRoute and the passthrough Gateway:
 * __tests__/unit/gateway-api-schema.spec.ts.
 */
import { CEL_BLOCKED, formatErrors, validateCustomResource } from '../../../harness/crd';

const GATEWAY_API = 'gateway.networking.k8s.io/v1';
const metadata = { name: 'registry', namespace: 'registry', labels: { 'app.kubernetes.io/name': 'registry' } };
const errors = (object: unknown) => formatErrors(validateCustomResource(object));

function httpRoute(spec: Record<string, unknown> = {}): any {
  return {
    apiVersion: GATEWAY_API,
    kind: 'HTTPRoute',
    metadata,
    spec: {
      parentRefs: [{ name: 'shared-gateway', namespace: 'gateway-system', sectionName: 'https' }],
      hostnames: ['registry.example.com'],
      rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/v2/' } }], backendRefs: [{ name: 'registry', port: 5000 }] }],
      ...spec,
    },
  };
}

const rule = (r: Record<string, unknown>) => ({ rules: [{ backendRefs: [{ name: 'registry', port: 5000 }], ...r }] });

function httpsGateway(tls: Record<string, unknown>): any {
  return {
    apiVersion: GATEWAY_API,
    kind: 'Gateway',
    metadata: { name: 'registry-gateway', namespace: 'gateway-system', annotations: { 'cert-manager.io/cluster-issuer': 'letsencrypt' } },
    spec: {
      gatewayClassName: 'eg',
      listeners: [{
        name: 'registry.example.com',
        hostname: 'registry.example.com',
        port: 443,
        protocol: 'HTTPS',
        tls,
        allowedRoutes: { namespaces: { from: 'Selector', selector: { matchLabels: { 'kubernetes.io/metadata.name': 'registry' } } }, kinds: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute' }] },
      }],
    },
  };
}

function backendTlsPolicy(validation: Record<string, unknown>): any {
  return { apiVersion: GATEWAY_API, kind: 'BackendTLSPolicy', metadata, spec: { targetRefs: [{ group: '', kind: 'Service', name: 'registry' }], validation } };
}

describe('Gateway API v1.6.1 CRDs through validateCustomResource', () => {
  describe('HTTPRoute', () => {
    test('the route the HTTPS exposure emits is valid (v1 and the served v1beta1)', () => {
      expect(errors(httpRoute())).toEqual([]);
      expect(errors({ ...httpRoute(), apiVersion: 'gateway.networking.k8s.io/v1beta1' })).toEqual([]);
    });

    test('path match rules: absolute path, valid characters', () => {
      const path = (value: string) => rule({ matches: [{ path: { type: 'PathPrefix', value } }] });
      expect(errors(httpRoute(path('v2/')))).toEqual([
        "spec.rules[0].matches[0].path: Invalid value: value must be an absolute path and start with '/' when type one of ['Exact', 'PathPrefix']",
      ]);
      expect(errors(httpRoute(path('/v2/ x')))).toEqual([
        "spec.rules[0].matches[0].path: Invalid value: must only contain valid characters (matching ^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$) for types ['Exact', 'PathPrefix']",
      ]);
    });

    test('timeouts: Gateway API durations, and backendRequest not longer than request', () => {
      expect(errors(httpRoute(rule({ timeouts: { request: '0s', backendRequest: '1h' } })))).toEqual([]);
      expect(errors(httpRoute(rule({ timeouts: { request: '10s', backendRequest: '1m' } })))).toEqual([
        'spec.rules[0].timeouts: Invalid value: backendRequest timeout cannot be longer than request timeout',
      ]);
      expect(errors(httpRoute(rule({ timeouts: { request: '10 minutes' } })))).toEqual([
        "spec.rules[0].timeouts.request: Invalid value: \"10 minutes\": should match '^([0-9]{1,5}(h|m|s|ms)){1,4}$'",
      ]);
    });

    test('backendRefs: a Service needs a port', () => {
      expect(errors(httpRoute({ rules: [{ backendRefs: [{ name: 'registry' }] }] }))).toEqual([
        'spec.rules[0].backendRefs[0]: Invalid value: Must have port for Service reference',
      ]);
    });

    test('parentRefs: sectionName on all references to one Gateway or none', () => {
      expect(errors(httpRoute({ parentRefs: [{ name: 'gw', sectionName: 'https' }, { name: 'gw' }] }))).toEqual([
        'spec.parentRefs: Invalid value: sectionName must be specified when parentRefs includes 2 or more references to the same parent',
      ]);
    });

    test('hostnames: the pattern (an IP passes it: HTTPRoute v1.6.1 has no isIP rule, unlike TLSRoute)', () => {
      expect(errors(httpRoute({ hostnames: ['Registry.example.com'] }))).toEqual([
        "spec.hostnames[0]: Invalid value: \"Registry.example.com\": should match '^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$'",
      ]);
      expect(errors(httpRoute({ hostnames: ['10.0.0.1'] }))).toEqual([]);
    });
  });

  describe('Gateway with an HTTPS listener (create mode)', () => {
    const certificateRefs = [{ group: '', kind: 'Secret', name: 'registry-gateway-registry-tls' }];

    test('Terminate with the certificate cert-manager makes is valid', () => {
      expect(errors(httpsGateway({ mode: 'Terminate', certificateRefs }))).toEqual([]);
    });

    test('HTTPS only terminates; Terminate needs certificateRefs (an empty list leaves size(options) to fail)', () => {
      expect(errors(httpsGateway({ mode: 'Passthrough' }))).toEqual(['spec.listeners: Invalid value: tls mode must be Terminate for protocol HTTPS']);
      expect(errors(httpsGateway({ mode: 'Terminate', certificateRefs: [] }))).toEqual([
        'spec.listeners[0].tls: Invalid value: "object": no such key: options evaluating rule: certificateRefs or options must be specified when mode is Terminate',
      ]);
    });
  });

  describe('BackendTLSPolicy', () => {
    const ca = { caCertificateRefs: [{ group: '', kind: 'ConfigMap', name: 'registry-ca' }] };

    test('by the registry CA (a ConfigMap) or by the system trust store: valid', () => {
      expect(errors(backendTlsPolicy({ hostname: 'registry.example.com', ...ca }))).toEqual([]);
      expect(errors(backendTlsPolicy({ hostname: 'registry.example.com', wellKnownCACertificates: 'System' }))).toEqual([]);
    });

    test('exactly one of caCertificateRefs and wellKnownCACertificates', () => {
      expect(errors(backendTlsPolicy({ hostname: 'registry.example.com', wellKnownCACertificates: 'System', ...ca }))).toEqual([
        'spec.validation: Invalid value: must not contain both CACertificateRefs and WellKnownCACertificates',
      ]);
      expect(errors(backendTlsPolicy({ hostname: 'registry.example.com' }))).toEqual([
        'spec.validation: Invalid value: must specify either CACertificateRefs or WellKnownCACertificates',
      ]);
    });

    test('subjectAltNames: the field that matches the type', () => {
      expect(errors(backendTlsPolicy({ hostname: 'registry.example.com', ...ca, subjectAltNames: [{ type: 'Hostname' }, { type: 'URI', uri: 'spiffe://x', hostname: 'x.example.com' }] }))).toEqual([
        'spec.validation.subjectAltNames[0]: Invalid value: SubjectAltName element must contain Hostname, if Type is set to Hostname',
        'spec.validation.subjectAltNames[1]: Invalid value: SubjectAltName element must not contain Hostname, if Type is not set to Hostname',
      ]);
    });

    test('the hostname is required', () => {
      expect(errors(backendTlsPolicy(ca))).toEqual(['spec.validation.hostname: Required value', CEL_BLOCKED]);
    });
  });

  describe('ReferenceGrant', () => {
    test('a grant for routes of another namespace is valid (v1beta1 stored, v1 served)', () => {
      const grant = (apiVersion: string) => ({ apiVersion, kind: 'ReferenceGrant', metadata, spec: { from: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: 'gateway-system' }], to: [{ group: '', kind: 'Service' }] } });
      expect(errors(grant('gateway.networking.k8s.io/v1beta1'))).toEqual([]);
      expect(errors(grant('gateway.networking.k8s.io/v1'))).toEqual([]);
    });

    test('from needs a namespace; to at least one item', () => {
      expect(errors({ apiVersion: GATEWAY_API, kind: 'ReferenceGrant', metadata, spec: { from: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute' }], to: [] } })).toEqual([
        'spec.from[0].namespace: Required value',
        'spec.to: Invalid value: 0: should have at least 1 items',
        CEL_BLOCKED,
      ]);
    });
  });
});
