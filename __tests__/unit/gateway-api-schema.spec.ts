/**
 * The Gateway API validator (harness/gateway-api.ts: the generic harness/crd validator plus named conventions) on
 * the TLSRoute and Gateway shapes the stack emits (TLS passthrough to the registry Service), against the v1 schemas of the Gateway API release in
 * harness/data/gateway-api-<tag>/. Every negative case names the field it expects, with the exact message, and
 * says which layer rejects it: the CRD's schema, one of its CEL rules, the API server's ObjectMeta checks, or one of
 * the conventions (rules the CRD does not enforce: see `conventions: false`).
 */
import { CEL_BLOCKED as BLOCKED } from '../../harness/crd';
import { formatErrors, GatewayApiError, GATEWAY_API_TAG, validateGateway, validateTlsRoute } from '../../harness/gateway-api';

const HOSTNAME_PATTERN = '^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';

function tlsRoute(): any {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'TLSRoute',
    metadata: { name: 'registry', namespace: 'registry', labels: { 'app.kubernetes.io/name': 'registry' } },
    spec: {
      parentRefs: [{ name: 'registry-gateway', namespace: 'gateway-system', sectionName: 'registry-tls' }],
      hostnames: ['registry.example.internal'],
      rules: [{ backendRefs: [{ name: 'registry', port: 5000 }] }],
    },
  };
}

function gateway(): any {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { name: 'registry-gateway', namespace: 'gateway-system' },
    spec: {
      gatewayClassName: 'nginx',
      listeners: [
        {
          name: 'registry-tls',
          port: 443,
          protocol: 'TLS',
          hostname: 'registry.example.internal',
          tls: { mode: 'Passthrough' },
          allowedRoutes: {
            namespaces: { from: 'Selector', selector: { matchLabels: { 'kubernetes.io/metadata.name': 'registry' } } },
            kinds: [{ group: 'gateway.networking.k8s.io', kind: 'TLSRoute' }],
          },
        },
      ],
    },
  };
}

/** A copy of `make()` changed by `change`. */
function variant(make: () => any, change: (obj: any) => void): any {
  const obj = make();
  change(obj);
  return obj;
}

const route = (change: (r: any) => void) => variant(tlsRoute, change);
const gw = (change: (g: any) => void) => variant(gateway, change);
/** Each error's line and origin, and the convention's name for a convention. */
const summary = (errors: GatewayApiError[]) => errors.map((e) => ({ line: formatErrors([e])[0], origin: e.origin, ...(e.origin === 'convention' ? { rule: e.rule } : {}) }));

describe(`gateway-api-schema (Gateway API ${GATEWAY_API_TAG})`, () => {
  describe('TLSRoute', () => {
    test('the route we emit is valid: parentRefs name/namespace/sectionName, hostnames, one rule with backendRefs name+port', () => {
      expect(validateTlsRoute(tlsRoute())).toEqual([]);
    });

    test('a wildcard hostname (one leading "*." label) is valid', () => {
      expect(validateTlsRoute(route((r) => (r.spec.hostnames = ['*.example.internal', 'registry.example.internal'])))).toEqual([]);
    });

    test('uppercase hostname: the item pattern and the RFC 1123 CEL rule', () => {
      expect(summary(validateTlsRoute(route((r) => (r.spec.hostnames = ['Registry.example.internal']))))).toEqual([
        { line: `spec.hostnames[0]: Invalid value: "Registry.example.internal": should match '${HOSTNAME_PATTERN}'`, origin: 'schema' },
        { line: 'spec.hostnames: Invalid value: Hostnames must be valid based on RFC-1123', origin: 'cel' },
      ]);
    });

    test('IP as hostname: the pattern lets 10.0.0.1 through, the isIP CEL rule does not (IPv6 fails the pattern too)', () => {
      expect(summary(validateTlsRoute(route((r) => (r.spec.hostnames = ['10.0.0.1']))))).toEqual([
        { line: 'spec.hostnames: Invalid value: Hostnames cannot contain an IP', origin: 'cel' },
      ]);
      expect(formatErrors(validateTlsRoute(route((r) => (r.spec.hostnames = ['fd00::1']))))).toEqual([
        `spec.hostnames[0]: Invalid value: "fd00::1": should match '${HOSTNAME_PATTERN}'`,
        'spec.hostnames: Invalid value: Hostnames cannot contain an IP',
        'spec.hostnames: Invalid value: Hostnames must be valid based on RFC-1123',
      ]);
    });

    test('a wildcard that is not the whole first label', () => {
      expect(formatErrors(validateTlsRoute(route((r) => (r.spec.hostnames = ['registry.*.internal']))))).toEqual([
        `spec.hostnames[0]: Invalid value: "registry.*.internal": should match '${HOSTNAME_PATTERN}'`,
        'spec.hostnames: Invalid value: Wildcards on hostnames must be the first label, and the rest of hostname must be valid based on RFC-1123',
      ]);
      expect(formatErrors(validateTlsRoute(route((r) => (r.spec.hostnames = ['*registry.example.internal']))))).toEqual([
        `spec.hostnames[0]: Invalid value: "*registry.example.internal": should match '${HOSTNAME_PATTERN}'`,
        'spec.hostnames: Invalid value: Wildcards on hostnames must be the first label, and the rest of hostname must be valid based on RFC-1123',
      ]);
    });

    test('backendRef port 0 and 65536', () => {
      expect(formatErrors(validateTlsRoute(route((r) => (r.spec.rules[0].backendRefs[0].port = 0))))).toEqual([
        'spec.rules[0].backendRefs[0].port: Invalid value: 0: should be greater than or equal to 1',
      ]);
      expect(formatErrors(validateTlsRoute(route((r) => (r.spec.rules[0].backendRefs[0].port = 65536))))).toEqual([
        'spec.rules[0].backendRefs[0].port: Invalid value: 65536: should be less than or equal to 65535',
      ]);
    });

    test('backendRef without port: a Service (group "" and kind Service, both defaulted) needs one; another kind does not', () => {
      expect(summary(validateTlsRoute(route((r) => delete r.spec.rules[0].backendRefs[0].port)))).toEqual([
        { line: 'spec.rules[0].backendRefs[0]: Invalid value: Must have port for Service reference', origin: 'cel' },
      ]);
      expect(validateTlsRoute(route((r) => (r.spec.rules[0].backendRefs[0] = { group: 'example.com', kind: 'Backend', name: 'registry' })))).toEqual([]);
    });

    test('a port given as a string is a type error, and then no CEL rule runs (as in the API server)', () => {
      expect(formatErrors(validateTlsRoute(route((r) => {
        r.spec.rules[0].backendRefs[0].port = '5000';
        r.spec.hostnames = ['10.0.0.1'];
      })))).toEqual([
        'spec.rules[0].backendRefs[0].port: Invalid value: "string": must be of type integer: "5000"',
        ': Invalid value: "object": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation',
      ]);
    });

    test('missing parentRefs: the CRD admits it; the convention tlsroute-has-parent does not', () => {
      const orphan = route((r) => delete r.spec.parentRefs);
      expect(validateTlsRoute(orphan, { conventions: false })).toEqual([]);
      expect(summary(validateTlsRoute(orphan))).toEqual([
        { line: 'spec.parentRefs: Required value: the route must name the Gateway it attaches to (convention tlsroute-has-parent)', origin: 'convention', rule: 'tlsroute-has-parent' },
      ]);
      expect(formatErrors(validateTlsRoute(route((r) => (r.spec.parentRefs = [])), { conventions: false }))).toEqual([]);
    });

    test('missing hostnames and rules: required in v1', () => {
      expect(formatErrors(validateTlsRoute(route((r) => {
        delete r.spec.hostnames;
        delete r.spec.rules;
      })))).toEqual(['spec.hostnames: Required value', 'spec.rules: Required value', BLOCKED]);
      expect(formatErrors(validateTlsRoute(route((r) => (r.spec.hostnames = [])))))
        .toEqual(['spec.hostnames: Invalid value: 0: should have at least 1 items']);
    });

    test('hostnames: at most 1024 (the schema\'s maxItems, not 16); backendRefs at most 16; exactly one rule', () => {
      const names = (n: number) => Array.from({ length: n }, (_, i) => `r${i}.example.internal`);
      expect(validateTlsRoute(route((r) => (r.spec.hostnames = names(1024))))).toEqual([]);
      expect(formatErrors(validateTlsRoute(route((r) => (r.spec.hostnames = names(1025))))))
        .toEqual(['spec.hostnames: Too many: 1025: must have at most 1024 items', BLOCKED]);
      const backends = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `registry-${i}`, port: 5000 }));
      expect(validateTlsRoute(route((r) => (r.spec.rules[0].backendRefs = backends(16))))).toEqual([]);
      expect(formatErrors(validateTlsRoute(route((r) => (r.spec.rules[0].backendRefs = backends(17))))))
        .toEqual(['spec.rules[0].backendRefs: Too many: 17: must have at most 16 items', BLOCKED]);
      expect(formatErrors(validateTlsRoute(route((r) => r.spec.rules.push(r.spec.rules[0])))))
        .toEqual(['spec.rules: Too many: 2: must have at most 1 items', BLOCKED]);
    });

    test('unknown fields (strict field validation), in spec and deeper', () => {
      expect(summary(validateTlsRoute(route((r) => (r.spec.hostName = 'registry.example.internal'))))).toEqual([
        { line: 'spec.hostName: Unknown field: not declared in the schema (strict field validation)', origin: 'schema' },
      ]);
      expect(formatErrors(validateTlsRoute(route((r) => (r.spec.rules[0].backendRefs[0].weigth = 1))))).toEqual([
        'spec.rules[0].backendRefs[0].weigth: Unknown field: not declared in the schema (strict field validation)',
      ]);
      expect(formatErrors(validateTlsRoute(route((r) => (r.extra = true))))).toEqual([
        'extra: Unknown field: not declared in the schema (strict field validation)',
      ]);
    });

    test('two parentRefs to the same Gateway: sectionName on both or neither, and distinct', () => {
      const second = (sectionName?: string) => route((r) => r.spec.parentRefs.push({ name: 'registry-gateway', namespace: 'gateway-system', ...(sectionName ? { sectionName } : {}) }));
      expect(validateTlsRoute(second('registry-tls-2'))).toEqual([]);
      expect(summary(validateTlsRoute(second()))).toEqual([
        { line: 'spec.parentRefs: Invalid value: sectionName must be specified when parentRefs includes 2 or more references to the same parent', origin: 'cel' },
      ]);
      expect(summary(validateTlsRoute(second('registry-tls')))).toEqual([
        { line: 'spec.parentRefs: Invalid value: sectionName must be unique when parentRefs includes 2 or more references to the same parent', origin: 'cel' },
      ]);
      // Another namespace is another parent.
      expect(validateTlsRoute(route((r) => r.spec.parentRefs.push({ name: 'registry-gateway', namespace: 'other' })))).toEqual([]);
    });

    test('the envelope: apiVersion v1 and kind TLSRoute; metadata name and namespace are DNS names', () => {
      expect(formatErrors(validateTlsRoute(route((r) => {
        r.apiVersion = 'gateway.networking.k8s.io/v1alpha2';
        r.metadata.name = 'Registry';
        r.metadata.namespace = 'registry.ns';
      })))).toEqual([
        'apiVersion: Unsupported value: "gateway.networking.k8s.io/v1alpha2": supported values: "gateway.networking.k8s.io/v1"',
        'metadata.name: Invalid value: "Registry": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \'-\' or \'.\', and must start and end with an alphanumeric character',
        'metadata.namespace: Invalid value: "registry.ns": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \'-\', and must start and end with an alphanumeric character',
        BLOCKED,
      ]);
      expect(formatErrors(validateTlsRoute(route((r) => (r.kind = 'TCPRoute'))))).toEqual(['kind: Unsupported value: "TCPRoute": supported values: "TLSRoute"', BLOCKED]);
      expect(formatErrors(validateTlsRoute(route((r) => delete r.metadata.name)))).toEqual(['metadata.name: Required value: name or generateName is required', BLOCKED]);
    });
  });

  describe('Gateway', () => {
    test('the Gateway we emit is valid: one TLS Passthrough listener, routes from the registry namespace by selector', () => {
      expect(validateGateway(gateway())).toEqual([]);
    });

    test('Passthrough listener with certificateRefs: the CRD admits it (ignored there); the convention does not', () => {
      const withCert = gw((g) => (g.spec.listeners[0].tls.certificateRefs = [{ name: 'registry-tls' }]));
      expect(validateGateway(withCert, { conventions: false })).toEqual([]);
      expect(summary(validateGateway(withCert))).toEqual([
        { line: 'spec.listeners[0].tls.certificateRefs: Forbidden: must be empty when tls.mode is Passthrough (the Gateway does not terminate TLS) (convention passthrough-no-certificate-refs)', origin: 'convention', rule: 'passthrough-no-certificate-refs' },
      ]);
    });

    test('TLS listener without tls: the CEL rule "tls mode must be set for protocol TLS"', () => {
      expect(summary(validateGateway(gw((g) => delete g.spec.listeners[0].tls)))).toEqual([
        { line: 'spec.listeners: Invalid value: tls mode must be set for protocol TLS', origin: 'cel' },
      ]);
    });

    test('TLS listener with tls: {}: mode defaults to Terminate, which needs certificateRefs or options', () => {
      expect(summary(validateGateway(gw((g) => (g.spec.listeners[0].tls = {}))))).toEqual([
        // CEL: size() of an absent field is an error, and `error || error` is an error: the API server reports it so.
        { line: 'spec.listeners[0].tls: Invalid value: "object": no such key: certificateRefs evaluating rule: certificateRefs or options must be specified when mode is Terminate', origin: 'cel' },
      ]);
    });

    test('tls.mode is an enum: "passthrough" is not "Passthrough"', () => {
      expect(formatErrors(validateGateway(gw((g) => (g.spec.listeners[0].tls.mode = 'passthrough')), { conventions: false }))).toEqual([
        'spec.listeners[0].tls.mode: Unsupported value: "passthrough": supported values: "Terminate", "Passthrough"',
        BLOCKED,
      ]);
    });

    test('listener port 0, and a missing port', () => {
      expect(formatErrors(validateGateway(gw((g) => (g.spec.listeners[0].port = 0))))).toEqual([
        'spec.listeners[0].port: Invalid value: 0: should be greater than or equal to 1',
      ]);
      expect(formatErrors(validateGateway(gw((g) => delete g.spec.listeners[0].port)))).toEqual(['spec.listeners[0].port: Required value', BLOCKED]);
    });

    test('listener names are unique (list-map key and CEL rule)', () => {
      const twice = gw((g) => g.spec.listeners.push({ ...structuredClone(g.spec.listeners[0]), port: 8443 }));
      expect(summary(validateGateway(twice))).toEqual([
        { line: 'spec.listeners[1]: Duplicate value: {"name":"registry-tls"}', origin: 'schema' },
        { line: 'spec.listeners: Invalid value: Listener name must be unique within the Gateway', origin: 'cel' },
      ]);
    });

    test('port, protocol and hostname are unique together; another hostname on the same port is fine', () => {
      const second = (hostname: string) => gw((g) => g.spec.listeners.push({ ...structuredClone(g.spec.listeners[0]), name: 'registry-tls-2', hostname }));
      expect(summary(validateGateway(second('registry.example.internal')))).toEqual([
        { line: 'spec.listeners: Invalid value: Combination of port, protocol and hostname must be unique for each listener', origin: 'cel' },
      ]);
      expect(validateGateway(second('mirror.example.internal'))).toEqual([]);
    });

    test('listener hostname: lowercase DNS name or one leading wildcard label; an IP only breaks the convention', () => {
      expect(validateGateway(gw((g) => (g.spec.listeners[0].hostname = '*.example.internal')))).toEqual([]);
      expect(formatErrors(validateGateway(gw((g) => (g.spec.listeners[0].hostname = 'Registry.example.internal'))))).toEqual([
        `spec.listeners[0].hostname: Invalid value: "Registry.example.internal": should match '${HOSTNAME_PATTERN}'`,
      ]);
      const ip = gw((g) => (g.spec.listeners[0].hostname = '10.0.0.1'));
      expect(validateGateway(ip, { conventions: false })).toEqual([]);
      expect(formatErrors(validateGateway(ip))).toEqual([
        'spec.listeners[0].hostname: Invalid value: "10.0.0.1": must be a DNS name, not an IP (convention listener-hostname-not-ip)',
      ]);
    });

    test('allowedRoutes: kinds other than TLSRoute on a Passthrough listener break the convention; the kind pattern is schema', () => {
      const tcp = gw((g) => g.spec.listeners[0].allowedRoutes.kinds.push({ kind: 'TCPRoute' }));
      expect(validateGateway(tcp, { conventions: false })).toEqual([]);
      expect(summary(validateGateway(tcp))).toEqual([
        { line: 'spec.listeners[0].allowedRoutes.kinds[1]: Unsupported value: {"kind":"TCPRoute","group":"gateway.networking.k8s.io"}: a Passthrough listener admits only {"group":"gateway.networking.k8s.io","kind":"TLSRoute"} (convention passthrough-allows-only-tlsroute)', origin: 'convention', rule: 'passthrough-allows-only-tlsroute' },
      ]);
      expect(formatErrors(validateGateway(gw((g) => (g.spec.listeners[0].allowedRoutes.kinds = [{ kind: 'TLS Route' }]))))).toEqual([
        'spec.listeners[0].allowedRoutes.kinds[0].kind: Invalid value: "TLS Route": should match \'^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$\'',
        'spec.listeners[0].allowedRoutes.kinds[0]: Unsupported value: {"kind":"TLS Route","group":"gateway.networking.k8s.io"}: a Passthrough listener admits only {"group":"gateway.networking.k8s.io","kind":"TLSRoute"} (convention passthrough-allows-only-tlsroute)',
      ]);
    });

    test('allowedRoutes.namespaces: from is an enum; Selector needs a non-empty, well-formed selector (convention)', () => {
      expect(formatErrors(validateGateway(gw((g) => (g.spec.listeners[0].allowedRoutes.namespaces.from = 'selector'))))).toEqual([
        'spec.listeners[0].allowedRoutes.namespaces.from: Unsupported value: "selector": supported values: "All", "Selector", "Same"',
        BLOCKED,
      ]);
      const noSelector = gw((g) => delete g.spec.listeners[0].allowedRoutes.namespaces.selector);
      expect(validateGateway(noSelector, { conventions: false })).toEqual([]);
      expect(formatErrors(validateGateway(noSelector))).toEqual([
        'spec.listeners[0].allowedRoutes.namespaces.selector: Required value: a non-empty selector is required when from is Selector (convention namespace-selector-when-from-selector)',
      ]);
      expect(formatErrors(validateGateway(gw((g) => (g.spec.listeners[0].allowedRoutes.namespaces.selector = {}))))).toHaveLength(1);
      const expression = (x: object) => gw((g) => (g.spec.listeners[0].allowedRoutes.namespaces.selector = { matchExpressions: [x] }));
      expect(validateGateway(expression({ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['registry'] }))).toEqual([]);
      expect(formatErrors(validateGateway(expression({ key: 'kubernetes.io/metadata.name', operator: 'In' })))).toEqual([
        'spec.listeners[0].allowedRoutes.namespaces.selector.matchExpressions[0].values: Invalid value: null: must be non-empty for operator In (convention namespace-selector-when-from-selector)',
      ]);
      expect(formatErrors(validateGateway(expression({ key: 'kubernetes.io/metadata.name', operator: 'Equals', values: ['registry'] })))).toEqual([
        'spec.listeners[0].allowedRoutes.namespaces.selector.matchExpressions[0].operator: Unsupported value: "Equals": supported values: "In", "NotIn", "Exists", "DoesNotExist" (convention namespace-selector-when-from-selector)',
      ]);
      expect(formatErrors(validateGateway(gw((g) => (g.spec.listeners[0].allowedRoutes.namespaces.selector.matchLabels = { app: 5 }))))).toEqual([
        'spec.listeners[0].allowedRoutes.namespaces.selector.matchLabels[app]: Invalid value: "integer": must be of type string: 5',
        ': Invalid value: "object": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation',
      ]);
    });

    test('other protocol rules: no tls on HTTP/TCP/UDP, no hostname on TCP/UDP, HTTPS only terminates', () => {
      expect(formatErrors(validateGateway(gw((g) => (g.spec.listeners[0].protocol = 'TCP')), { conventions: false }))).toEqual([
        'spec.listeners: Invalid value: tls must not be specified for protocols [\'HTTP\', \'TCP\', \'UDP\']',
        'spec.listeners: Invalid value: hostname must not be specified for protocols [\'TCP\', \'UDP\']',
      ]);
      expect(formatErrors(validateGateway(gw((g) => (g.spec.listeners[0].protocol = 'HTTPS')), { conventions: false }))).toEqual([
        'spec.listeners: Invalid value: tls mode must be Terminate for protocol HTTPS',
      ]);
    });

    test('unknown fields, missing gatewayClassName, no listeners, more than 64 listeners', () => {
      expect(formatErrors(validateGateway(gw((g) => (g.spec.listeners[0].tls.passthrough = true))))).toEqual([
        'spec.listeners[0].tls.passthrough: Unknown field: not declared in the schema (strict field validation)',
      ]);
      expect(formatErrors(validateGateway(gw((g) => (g.spec.className = 'nginx'))))).toEqual([
        'spec.className: Unknown field: not declared in the schema (strict field validation)',
      ]);
      expect(formatErrors(validateGateway(gw((g) => delete g.spec.gatewayClassName)))).toEqual(['spec.gatewayClassName: Required value', BLOCKED]);
      expect(formatErrors(validateGateway(gw((g) => (g.spec.listeners = [])))))
        .toEqual(['spec.listeners: Invalid value: 0: should have at least 1 items']);
      const many = gw((g) => (g.spec.listeners = Array.from({ length: 65 }, (_, i) => ({ ...structuredClone(g.spec.listeners[0]), name: `l${i}`, port: 1000 + i }))));
      expect(formatErrors(validateGateway(many))).toEqual(['spec.listeners: Too many: 65: must have at most 64 items', BLOCKED]);
    });

    test('spec.addresses: the schema\'s oneOf, and its CEL rules (unique values, Hostname characters), all evaluated', () => {
      expect(summary(validateGateway(gw((g) => (g.spec.addresses = [{ type: 'IPAddress', value: '10.0.0.300' }]))))).toEqual([
        { line: 'spec.addresses[0]: Invalid value: {"type":"IPAddress","value":"10.0.0.300"}: must validate one and only one schema (oneOf), 0 matched', origin: 'schema' },
      ]);
      expect(formatErrors(validateGateway(gw((g) => (g.spec.addresses = [{ type: 'IPAddress', value: '10.0.0.1' }, { type: 'IPAddress', value: '10.0.0.1' }]))))).toEqual([
        'spec.addresses: Invalid value: IPAddress values must be unique',
      ]);
      expect(formatErrors(validateGateway(gw((g) => (g.spec.addresses = [{ type: 'Hostname', value: 'Gateway.example.internal' }]))))).toEqual([
        'spec.addresses[0]: Invalid value: Hostname value must be empty or contain only valid characters (matching ^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$)',
      ]);
      expect(validateGateway(gw((g) => (g.spec.addresses = [{ type: 'Hostname', value: 'gateway.example.internal' }, { type: 'IPAddress', value: 'fd00::1' }])))).toEqual([]);
    });
  });
});
