/**
 * Every Gateway API object the stack emits, as the API server would receive it, admitted by the Gateway API v1.6.1
 * Standard-channel CRDs (openAPIV3Schema + the CEL rules, harness/gateway-api.ts): the `helm_release` values of a
 * synthesized stack evaluated by the real terraform binary (defaults, then other values an operator may set),
 * rendered by the chart's templates (harness/gateway-objects.ts). Both modes: the route attached to an existing
 * Gateway (gateway-attach), the route plus the Gateway the stack creates (gateway-create), and both with the
 * pull-through cache's route beside the registry's (example-gateway, gateway-attach-mirror).
 */
import * as path from 'node:path';
import { formatErrors, validateGateway, validateTlsRoute } from '../../harness/gateway-api';
import { gatewayObjects, gatewayObjectsVariants, type GatewayObjects } from '../../harness/gateway-objects';
import { synthesized } from '../../harness/json';
import { tempDir, useCleanup } from '../../harness/programs';

const valid = (objects: GatewayObjects) => ({
  tlsRoute: formatErrors(validateTlsRoute(objects.tlsRoute)),
  ...(objects.additionalTlsRoutes.length > 0 ? { additionalTlsRoutes: objects.additionalTlsRoutes.map((r) => formatErrors(validateTlsRoute(r))) } : {}),
  gateway: objects.gateway === undefined ? 'none' : formatErrors(validateGateway(objects.gateway)),
});

/** 247 characters: four 60-character labels and `r<i>`, the longest name the variables accept. */
const long = (i: number) => `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.r${String(i).padStart(2, '0')}`;

/** The values each test evaluates, per stack: one terraform init and apply per stack evaluates them all. */
const VARIANTS = {
  'gateway-attach': {
    defaults: {},
    noSectionName: { gateway_section_name: '' },
    otherNames: { namespace: 'images', app_name: 'oci', registry_domains: ['a.example.com', 'registry'], gateway_name: 'edge.v2', gateway_namespace: 'infra' },
  },
  'gateway-create': {
    defaults: {},
    oneDomainOn443: { registry_domains: ['registry.example.com'], gateway_port: 443, gateway_class_name: 'eg', namespace: 'images' },
    domains64: { registry_domains: Array.from({ length: 64 }, (_, i) => `r${i}.example.com`) },
  },
  'example-gateway': {
    defaults: {},
    longest: { registry_domains: Array.from({ length: 32 }, (_, i) => long(i)), gateway_port: 443, mirror_external_port: 65535 },
  },
  'gateway-attach-mirror': { defaults: {} },
} satisfies Record<string, Record<string, Record<string, unknown>>>;
type Stack = keyof typeof VARIANTS;

describe('the Gateway API objects the stack emits, evaluated by terraform, against the v1.6.1 CRDs', () => {
  const cleanup = useCleanup();
  const evaluated: Partial<Record<Stack, Record<string, GatewayObjects>>> = {};
  /** A copy, so that a test may change what it got. */
  const evaluate = async <S extends Stack>(stack: S, variant: keyof (typeof VARIANTS)[S] & string = 'defaults') =>
    structuredClone(evaluated[stack]![variant]);

  beforeAll(async () => {
    const dir = await tempDir(cleanup, 'gateway-objects-');
    await Promise.all((Object.keys(VARIANTS) as Stack[]).map(async (stack) => {
      evaluated[stack] = await gatewayObjectsVariants(synthesized(stack), path.join(dir, stack), VARIANTS[stack] as Record<string, Record<string, unknown>>);
    }));
  }, 120_000);

  /** What terraform says of values its variable validation must refuse (each in a run of its own). */
  let refusals = 0;
  const refusal = (stack: Stack, values: Record<string, unknown>) =>
    tempDir(cleanup, `gateway-refusal-${refusals++}-`)
      // terraform wraps its messages: compare with whitespace collapsed.
      .then((dir) => gatewayObjects(synthesized(stack), dir, values))
      .then(() => 'accepted', (err: Error) => err.message.replace(/\s+/g, ' '));

  describe("attach (Exposure.gateway({ mode: 'attach' }))", () => {
    test('defaults: one valid TLSRoute to the registry Service, on the named listener of the existing Gateway, and no Gateway', async () => {
      const objects = await evaluate('gateway-attach');
      expect(valid(objects)).toEqual({ tlsRoute: [], gateway: 'none' });
      expect(objects.values).toEqual({ tlsRoute: objects.tlsRoute });
      expect(objects.tlsRoute).toEqual({
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'TLSRoute',
        metadata: { name: 'registry', namespace: 'registry', labels: { 'app.kubernetes.io/name': 'registry', 'app.kubernetes.io/component': 'exposure' } },
        spec: {
          parentRefs: [{ name: 'shared-gateway', namespace: 'gateway-system', sectionName: 'registry-tls' }],
          hostnames: ['registry.dev.example.internal'],
          rules: [{ backendRefs: [{ name: 'registry', port: 5000 }] }],
        },
      });
    });

    test('gateway_section_name empty: the parentRef has no sectionName (every listener that admits the route)', async () => {
      const objects = await evaluate('gateway-attach', 'noSectionName');
      expect(valid(objects)).toEqual({ tlsRoute: [], gateway: 'none' });
      expect(objects.tlsRoute.spec.parentRefs).toEqual([{ name: 'shared-gateway', namespace: 'gateway-system' }]);
    });

    test('other names, namespace and several domains: still valid, each value where it belongs', async () => {
      const objects = await evaluate('gateway-attach', 'otherNames');
      expect(valid(objects)).toEqual({ tlsRoute: [], gateway: 'none' });
      expect(objects.tlsRoute.metadata).toMatchObject({ name: 'oci', namespace: 'images' });
      expect(objects.tlsRoute.spec).toMatchObject({
        parentRefs: [{ name: 'edge.v2', namespace: 'infra', sectionName: 'registry-tls' }],
        hostnames: ['a.example.com', 'registry'],
        rules: [{ backendRefs: [{ name: 'oci', port: 5000 }] }],
      });
    });
  });

  describe("create (Exposure.gateway({ mode: 'create' }))", () => {
    test('defaults: a valid Gateway with one TLS Passthrough listener per domain admitting only the registry namespace, and the route', async () => {
      const objects = await evaluate('gateway-create');
      expect(valid(objects)).toEqual({ tlsRoute: [], gateway: [] });
      const listener = (hostname: string) => ({
        name: hostname,
        hostname,
        port: 5000,
        protocol: 'TLS',
        tls: { mode: 'Passthrough' },
        allowedRoutes: {
          namespaces: { from: 'Selector', selector: { matchLabels: { 'kubernetes.io/metadata.name': 'registry' } } },
          kinds: [{ group: 'gateway.networking.k8s.io', kind: 'TLSRoute' }],
        },
      });
      expect(objects.gateway).toEqual({
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'Gateway',
        metadata: { name: 'registry-gateway', namespace: 'registry-gateway', labels: { 'app.kubernetes.io/name': 'registry', 'app.kubernetes.io/component': 'exposure' } },
        spec: { gatewayClassName: 'nginx', listeners: [listener('registry.example.internal'), listener('registry.gateway.example.internal')] },
      });
      expect(objects.tlsRoute.spec).toEqual({
        parentRefs: [{ name: 'registry-gateway', namespace: 'registry-gateway' }],
        hostnames: ['registry.example.internal', 'registry.gateway.example.internal'],
        rules: [{ backendRefs: [{ name: 'registry', port: 5000 }] }],
      });
    });

    test('one domain, port 443, another class and namespace: valid', async () => {
      const objects = await evaluate('gateway-create', 'oneDomainOn443');
      expect(valid(objects)).toEqual({ tlsRoute: [], gateway: [] });
      expect(objects.gateway.spec.gatewayClassName).toBe('eg');
      expect(objects.gateway.spec.listeners).toHaveLength(1);
      expect(objects.gateway.spec.listeners[0]).toMatchObject({ name: 'registry.example.com', hostname: 'registry.example.com', port: 443 });
      expect(objects.gateway.spec.listeners[0].allowedRoutes.namespaces.selector.matchLabels).toEqual({ 'kubernetes.io/metadata.name': 'images' });
    });

    test('64 domains, the most the variable accepts, give 64 listeners: still valid (listeners maxItems 64)', async () => {
      const objects = await evaluate('gateway-create', 'domains64');
      expect(valid(objects)).toEqual({ tlsRoute: [], gateway: [] });
      expect(objects.gateway.spec.listeners).toHaveLength(64);
    });
  });

  describe('with the pull-through cache (a second port on the same names)', () => {
    const passthrough = (name: string, hostname: string, port: number) => ({
      name, hostname, port, protocol: 'TLS', tls: { mode: 'Passthrough' },
      allowedRoutes: {
        namespaces: { from: 'Selector', selector: { matchLabels: { 'kubernetes.io/metadata.name': 'registry' } } },
        kinds: [{ group: 'gateway.networking.k8s.io', kind: 'TLSRoute' }],
      },
    });
    const names = ['registry.example.internal', 'registry.gateway.example.internal'];

    test("create (example-gateway): valid objects; a listener per name on each port, each route pinned to its port's listeners", async () => {
      const objects = await evaluate('example-gateway');
      expect(valid(objects)).toEqual({ tlsRoute: [], additionalTlsRoutes: [[]], gateway: [] });
      expect(objects.gateway.spec.listeners).toEqual([
        ...names.map((n) => passthrough(n, n, 5000)),
        ...names.map((n) => passthrough(`${n}.5001`, n, 5001)),
      ]);
      const parents = (sections: string[]) => sections.map((sectionName) => ({ name: 'registry-gateway', namespace: 'registry-gateway', sectionName }));
      expect(objects.tlsRoute.spec.parentRefs).toEqual(parents(names));
      expect(objects.additionalTlsRoutes).toEqual([{
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'TLSRoute',
        metadata: { name: 'registry-mirror', namespace: 'registry', labels: { 'app.kubernetes.io/name': 'registry-mirror', 'app.kubernetes.io/component': 'exposure' } },
        spec: { parentRefs: parents(names.map((n) => `${n}.5001`)), hostnames: names, rules: [{ backendRefs: [{ name: 'registry-mirror', port: 5000 }] }] },
      }]);
    });

    test('create: 32 names of 247 characters on ports 443 and 65535, the most the variables accept: still valid (64 listeners)', async () => {
      expect(long(0)).toHaveLength(247);
      const objects = await evaluate('example-gateway', 'longest');
      expect(valid(objects)).toEqual({ tlsRoute: [], additionalTlsRoutes: [[]], gateway: [] });
      expect(objects.gateway.spec.listeners).toHaveLength(64);
      expect(objects.additionalTlsRoutes[0].spec.parentRefs[0].sectionName).toHaveLength(253);
    });

    test('attach (gateway-attach-mirror): valid routes, each on the listener its variable names', async () => {
      const objects = await evaluate('gateway-attach-mirror');
      expect(valid(objects)).toEqual({ tlsRoute: [], additionalTlsRoutes: [[]], gateway: 'none' });
      expect(objects.tlsRoute.spec.parentRefs).toEqual([{ name: 'shared-gateway', namespace: 'gateway-system', sectionName: 'registry-tls' }]);
      expect(objects.additionalTlsRoutes.map((r) => r.spec.parentRefs)).toEqual([[{ name: 'shared-gateway', namespace: 'gateway-system', sectionName: 'registry-mirror-tls' }]]);
    });

    test("terraform refuses a registry route without its listener, and the cache on the registry's listener or port", async () => {
      await expect(refusal('gateway-attach-mirror', { gateway_section_name: '' })).resolves.toContain(
        'gateway_section_name: "" is not allowed; expected a listener name: with the pull-through cache on',
      );
      await expect(refusal('gateway-attach-mirror', { gateway_mirror_section_name: 'registry-tls' })).resolves.toContain(
        'gateway_mirror_section_name: "registry-tls" is not allowed; expected a listener other than the registry\'s (gateway_section_name)',
      );
      await expect(refusal('example-gateway', { mirror_external_port: 5000 })).resolves.toContain(
        'mirror_external_port: "5000" is not allowed; expected a port other than the registry\'s (gateway_port)',
      );
    });
  });

  describe('what keeps invalid objects out', () => {
    test('terraform refuses an IP in registry_domains before Helm would send a route the API server rejects', async () => {
      await expect(refusal('gateway-create', { registry_domains: ['registry.example.internal', '10.0.0.1'] })).resolves.toContain(
        'registry_domains[1]: "10.0.0.1" is not allowed; expected a DNS name, not an IP address',
      );
      await expect(refusal('gateway-create', { registry_domains: Array.from({ length: 65 }, (_, i) => `r${i}.example.com`) })).resolves.toMatch(
        /registry_domains: \[.*\] is not allowed; expected a list of at most 64 entries \(the created Gateway has one listener per name/,
      );
    });

    test('the validator rejects what the rules keep out (so the checks above can fail)', async () => {
      const objects = await evaluate('gateway-create');
      objects.tlsRoute.spec.hostnames = ['10.0.0.1'];
      objects.gateway.spec.listeners = Array.from({ length: 65 }, (_, i) => ({ ...objects.gateway.spec.listeners[0], name: `l${i}`, hostname: `l${i}.example.com` }));
      expect(formatErrors(validateTlsRoute(objects.tlsRoute))).toEqual(['spec.hostnames: Invalid value: Hostnames cannot contain an IP']);
      expect(formatErrors(validateGateway(objects.gateway))).toContainEqual(expect.stringMatching(/^spec\.listeners: Too many: 65: must have at most 64 items/));
    });
  });
});
