/**
 * Exposure.gateway() and GatewayTlsRoute alone in an empty stack: what they create, what they hand the network policy
 * and outputs, and what they refuse. The objects as the cluster receives them (Terraform-evaluated, rendered by the
 * chart, checked against the Gateway API CRDs) are in __tests__/e2e/gateway-objects.test.ts.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { AssetType } from 'cdktf';
import { Exposure, type ExposureStrategy } from '../../lib/exposure';
import { GATEWAY_CHART_DIR, GATEWAY_RELEASE_NAME, GatewayTlsRoute, type GatewayTlsRouteProps } from '../../lib/exposure/gateway';
import { renderChart } from '../../harness/gateway-objects';
import { buildStack, environment, only, resourcesOf, synth, synthConstruct } from '../../harness/synth';
import { removeDirectory } from '../../harness/remove';

const target = { namespace: 'registry', serviceName: 'registry', port: 5000 };

function bindAlone(exposure: ExposureStrategy, variables: Record<string, unknown> = {}) {
  return synthConstruct((scope, vars) => ({
    clientPort: exposure.clientPort(vars),
    binding: exposure.bind(scope, { target, variables: vars }),
  }), environment('gateway-attach', { exposure, variables }));
}

type PropsWithoutTarget = GatewayTlsRouteProps extends infer P ? (P extends unknown ? Omit<P, 'target'> : never) : never;

const alone = (props: PropsWithoutTarget) =>
  synthConstruct((scope) => new GatewayTlsRoute(scope, 'exposure', { target, ...props } as GatewayTlsRouteProps));

const attach: PropsWithoutTarget & { mode: 'attach' } = {
  mode: 'attach', hostnames: ['registry.example.internal'], gatewayName: 'shared', gatewayNamespace: 'gateway-system',
};
const create: PropsWithoutTarget & { mode: 'create' } = { ...attach, mode: 'create', gatewayClassName: 'nginx', listenerPort: 5000 };

describe("Exposure.gateway({ mode: 'attach' }) alone", () => {
  test('one Helm release of the local chart holding only the TLSRoute; the data-plane pods are the peers', () => {
    // GIVEN an attach exposure WHEN it is bound
    const { json, result, resolve, variables } = bindAlone(Exposure.gateway({ mode: 'attach' }));
    // THEN the only resource is the release of the chart asset, in the registry's namespace
    expect(Object.keys(json.resource)).toEqual(['helm_release']);
    const release = only(json, 'helm_release');
    expect(release).toMatchObject({ name: GATEWAY_RELEASE_NAME, namespace: 'registry', atomic: true, cleanup_on_fail: true });
    expect(release.chart).toMatch(/^assets\/exposure_chart_[A-F0-9]+\/[A-F0-9]+$/);
    expect(release.repository).toBeUndefined();
    // AND its values hold the route and no Gateway: a Gateway the stack attaches to is never in its state
    expect(release.values).toHaveLength(1);
    expect(release.values[0]).toMatch(/^\$\{jsonencode\(\{"tlsRoute" = \{/);
    expect(release.values[0]).not.toContain('"gateway" =');
    expect(release.values[0]).not.toContain('"kind" = "Gateway"');
    // AND the route names the Gateway by variables, the listener only when gateway_section_name is not empty
    expect(release.values[0]).toContain('"parentRefs" = [merge({"name" = var.gateway_name, "namespace" = var.gateway_namespace}, (length(var.gateway_section_name) >= 1) ? {"sectionName" = var.gateway_section_name} : {})]');
    expect(release.values[0]).toContain('"hostnames" = var.registry_domains');
    // AND clients use the listener's port; the network policy gets the data plane's namespace and pod labels
    expect(result.clientPort).toBe('${var.gateway_port}');
    expect(resolve(result.binding.peerPods)).toEqual([{
      namespace: '${(length(var.gateway_proxy_namespace) >= 1) ? var.gateway_proxy_namespace : var.gateway_namespace}',
      podLabels: '${var.gateway_proxy_pod_labels}',
    }]);
    expect(result.binding.peerNamespaces).toBeUndefined();
    expect(result.binding.statusCommand).toBe(
      'kubectl -n registry get tlsroute registry -o jsonpath=\'{range .status.parents[*]}{.parentRef.namespace}/{.parentRef.name}{" "}' +
      '{range .conditions[*]}{.type}={.status}({.reason}){" "}{end}{"\\n"}{end}\'',
    );
    expect(variables.names.sort()).toEqual([
      'gateway_name', 'gateway_namespace', 'gateway_port', 'gateway_proxy_namespace', 'gateway_proxy_pod_labels',
      'gateway_section_name', 'registry_domains',
    ]);
  });
});

describe("Exposure.gateway({ mode: 'create' }) alone", () => {
  test('the release also holds the Gateway: one TLS Passthrough listener per registry domain, admitting this namespace', () => {
    // GIVEN a create exposure WHEN it is bound
    const { json, result, variables, resolve } = bindAlone(Exposure.gateway({ mode: 'create' }), { gateway_class_name: 'nginx' });
    // THEN the release's values carry the Gateway beside the route
    const [values] = only(json, 'helm_release').values;
    expect(values).toContain('"gateway" = {"apiVersion" = "gateway.networking.k8s.io/v1", "kind" = "Gateway", "metadata" = {"name" = var.gateway_name, "namespace" = var.gateway_namespace');
    expect(values).toContain('"gatewayClassName" = var.gateway_class_name');
    expect(values).toContain(
      '"listeners" = [ for key, val in var.registry_domains: {"name" = val, "hostname" = val, "port" = var.gateway_port, "protocol" = "TLS", ' +
      '"tls" = {"mode" = "Passthrough"}, "allowedRoutes" = {"namespaces" = {"from" = "Selector", "selector" = {"matchLabels" = ' +
      '{"kubernetes.io/metadata.name" = "registry"}}}, "kinds" = [{"group" = "gateway.networking.k8s.io", "kind" = "TLSRoute"}]}}]',
    );
    // AND the route attaches to the Gateway as a whole (each listener takes the name it is for)
    expect(values).toContain('"parentRefs" = [{"name" = var.gateway_name, "namespace" = var.gateway_namespace}]');
    // AND the status command shows the Gateway (address, Programmed) before the route
    expect(resolve(result.binding.statusCommand)).toMatch(/^kubectl -n \$\{var\.gateway_namespace\} get gateway \$\{var\.gateway_name\} && kubectl -n registry get tlsroute registry /);
    expect(variables.names).toContain('gateway_class_name');
    expect(variables.names).not.toContain('gateway_section_name');
  });
});

describe('GatewayTlsRoute alone', () => {
  test('attach: the TLSRoute as plain data, in the Service namespace, to the Service port', () => {
    // GIVEN literal props WHEN the construct is built
    const { result, resolve } = alone({ ...attach, sectionName: 'registry-tls' });
    // THEN the route is exactly this object, and there is no Gateway
    expect(resolve(result.tlsRoute)).toEqual({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'TLSRoute',
      metadata: { name: 'registry', namespace: 'registry', labels: { 'app.kubernetes.io/name': 'registry', 'app.kubernetes.io/component': 'exposure' } },
      spec: {
        parentRefs: [{ name: 'shared', namespace: 'gateway-system', sectionName: 'registry-tls' }],
        hostnames: ['registry.example.internal'],
        rules: [{ backendRefs: [{ name: 'registry', port: 5000 }] }],
      },
    });
    expect(result.gateway).toBeUndefined();
    expect(result.chart.path).toMatch(/^assets\//);
  });

  test('attach without a sectionName: the parentRef has no sectionName key (not an empty one)', () => {
    const { result, resolve } = alone(attach);
    expect(resolve(result.tlsRoute).spec.parentRefs).toEqual([{ name: 'shared', namespace: 'gateway-system' }]);
  });

  test('create: the Gateway with the class and a listener per hostname, built by Terraform from the list', () => {
    const { result, resolve } = alone({ ...create, hostnames: ['a.example.internal', 'b.example.internal'] });
    const gateway = resolve(result.gateway);
    expect(gateway.metadata).toMatchObject({ name: 'shared', namespace: 'gateway-system' });
    expect(gateway.spec.gatewayClassName).toBe('nginx');
    expect(gateway.spec.listeners).toBe(
      '${[ for key, val in ["a.example.internal", "b.example.internal"]: {"name" = val, "hostname" = val, "port" = 5000, "protocol" = "TLS", ' +
      '"tls" = {"mode" = "Passthrough"}, "allowedRoutes" = {"namespaces" = {"from" = "Selector", "selector" = {"matchLabels" = ' +
      '{"kubernetes.io/metadata.name" = "registry"}}}, "kinds" = [{"group" = "gateway.networking.k8s.io", "kind" = "TLSRoute"}]}}]}',
    );
  });

  test('the chart is the directory beside the construct, copied whole as an asset', () => {
    const { result } = alone(attach);
    expect(result.chart.type).toBe(AssetType.DIRECTORY);
    expect(GATEWAY_CHART_DIR).toMatch(/lib\/exposure\/gateway-chart$/);
  });

  test.each<[string, Partial<GatewayTlsRouteProps>, RegExp]>([
    ['a hostname is an IP address', { hostnames: ['10.0.0.1'] }, /^GatewayTlsRoute hostnames\[0\]: "10.0.0.1" is not allowed; expected a DNS name, not an IP address/],
    ['there is no hostname', { hostnames: [] }, /^GatewayTlsRoute hostnames: \[\] is not allowed; expected a list with at least one entry/],
    ['the Gateway name has capitals', { gatewayName: 'Shared' }, /^GatewayTlsRoute gatewayName: "Shared" is not allowed; expected a DNS-1123 subdomain/],
    ['the Gateway namespace has a dot', { gatewayNamespace: 'gateway.system' }, /^GatewayTlsRoute gatewayNamespace: "gateway.system" is not allowed; expected a DNS-1123 label/],
    ['the sectionName is empty instead of left out', { sectionName: '' } as Partial<GatewayTlsRouteProps>, /^GatewayTlsRoute sectionName: "" is not allowed; expected a DNS-1123 subdomain/],
  ])('fails when %s (attach)', (_, change, error) => {
    expect(() => alone({ ...attach, ...change } as PropsWithoutTarget)).toThrow(error);
  });

  test.each<[string, Partial<GatewayTlsRouteProps>, RegExp]>([
    ['the listener port is 0', { listenerPort: 0 }, /^GatewayTlsRoute listenerPort: 0 is not allowed; expected a whole number from 1 to 65535/],
    ['the GatewayClass name has a space', { gatewayClassName: 'envoy gateway' }, /^GatewayTlsRoute gatewayClassName: "envoy gateway" is not allowed/],
  ])('fails when %s (create)', (_, change, error) => {
    expect(() => alone({ ...create, ...change } as PropsWithoutTarget)).toThrow(error);
  });
});

describe('GatewayTlsRoute with a further route (the pull-through cache)', () => {
  const cache = { externalPort: 5001, target: { namespace: 'registry', serviceName: 'registry-mirror', port: 5000 } };
  const listenerTail = '"protocol" = "TLS", "tls" = {"mode" = "Passthrough"}, "allowedRoutes" = {"namespaces" = {"from" = "Selector", "selector" = {"matchLabels" = ' +
    '{"kubernetes.io/metadata.name" = "registry"}}}, "kinds" = [{"group" = "gateway.networking.k8s.io", "kind" = "TLSRoute"}]}}]';

  test('create: a listener per name on each port, and each route pinned to its own listeners by sectionName', () => {
    // GIVEN the construct WHEN a route is added after it was built
    const { result, resolve } = synthConstruct((scope) => {
      const route = new GatewayTlsRoute(scope, 'exposure', { target, ...create, hostnames: ['a.example.internal', 'b.example.internal'] });
      route.addRoute(cache);
      return route;
    });
    const hostnames = '["a.example.internal", "b.example.internal"]';
    // THEN the Gateway has the registry's listeners (named after the name) and the cache's (`<name>.<port>`)
    expect(resolve(result.gateway).spec.listeners).toBe(
      `\${concat([ for key, val in ${hostnames}: {"name" = val, "hostname" = val, "port" = 5000, ${listenerTail}, ` +
      `[ for key, val in ${hostnames}: {"name" = format("%s.%d", val, 5001), "hostname" = val, "port" = 5001, ${listenerTail})}`,
    );
    // AND the registry's route names its own listeners, the cache's route the cache's (no route takes both ports)
    expect(resolve(result.tlsRoute).spec.parentRefs).toBe(
      `\${[ for key, val in ${hostnames}: {"name" = "shared", "namespace" = "gateway-system", "sectionName" = val}]}`,
    );
    const [mirrorRoute] = resolve(result.additionalTlsRoutes);
    expect(mirrorRoute.metadata).toMatchObject({ name: 'registry-mirror', namespace: 'registry' });
    expect(mirrorRoute.spec).toEqual({
      parentRefs: `\${[ for key, val in ${hostnames}: {"name" = "shared", "namespace" = "gateway-system", "sectionName" = format("%s.%d", val, 5001)}]}`,
      hostnames: ['a.example.internal', 'b.example.internal'],
      rules: [{ backendRefs: [{ name: 'registry-mirror', port: 5000 }] }],
    });
  });

  test('attach: the further route on the listener it names, the registry route on its own', () => {
    const { result, resolve } = synthConstruct((scope) => {
      const route = new GatewayTlsRoute(scope, 'exposure', { target, ...attach, sectionName: 'registry-tls' });
      route.addRoute({ ...cache, sectionName: 'mirror-tls' });
      return route;
    });
    expect(resolve(result.tlsRoute).spec.parentRefs).toEqual([{ name: 'shared', namespace: 'gateway-system', sectionName: 'registry-tls' }]);
    expect(resolve(result.additionalTlsRoutes)[0].spec.parentRefs).toEqual([{ name: 'shared', namespace: 'gateway-system', sectionName: 'mirror-tls' }]);
  });

  test.each<[string, Partial<GatewayTlsRouteProps>, object, RegExp]>([
    ['the further route names no listener (attach)', { sectionName: 'registry-tls' }, {}, /^GatewayTlsRoute addRoute: a route without sectionName is not allowed in attach mode/],
    ["the registry's route names no listener (attach)", {}, { sectionName: 'mirror-tls' }, /^GatewayTlsRoute sectionName: none is not allowed with a further route/],
    ["the further route's listener is not a DNS subdomain", { sectionName: 'registry-tls' }, { sectionName: 'Mirror TLS' }, /^GatewayTlsRoute addRoute sectionName: "Mirror TLS" is not allowed/],
  ])('fails when %s', (_, change, routeChange, error) => {
    expect(() => synthConstruct((scope) => {
      new GatewayTlsRoute(scope, 'exposure', { target, ...attach, ...change } as GatewayTlsRouteProps).addRoute({ ...cache, ...routeChange });
    })).toThrow(error);
  });
});

describe('Exposure.gateway() with the pull-through cache in an environment', () => {
  test('create (example-gateway): the release holds the cache route; the cache admits the Gateway data plane', () => {
    // GIVEN example-gateway with the mirror WHEN it is synthesized (today: refused, the Gateway took no second route)
    const { json } = synth(environment('example-gateway'));
    // THEN the one release's values hold the registry route, the Gateway and the cache's route
    const values: string = only(json, 'helm_release').values[0];
    expect(values).toContain('"additionalTlsRoutes" = [{"apiVersion" = "gateway.networking.k8s.io/v1", "kind" = "TLSRoute"');
    expect(values).toContain('"name" = format("%s.%d", val, var.mirror_external_port), "hostname" = val, "port" = var.mirror_external_port');
    // AND the cache's own network policy admits the data-plane pods to the cache's port, as the registry's does
    const exposurePolicies = resourcesOf(json, 'kubernetes_network_policy_v1').filter((p) => p.metadata.labels['app.kubernetes.io/component'] === 'exposure');
    const [mirrorPolicy, registryPolicy] = exposurePolicies.map((p) => p.metadata.name).sort();
    expect(registryPolicy).toBe('${var.app_name}-exposure');
    expect(mirrorPolicy).toMatch(/^\$\{kubernetes_service_v1\.mirror_server_service_[0-9A-F]+\.metadata\[0\]\.name\}-exposure$/);
    for (const policy of exposurePolicies) {
      expect(policy.spec.ingress).toEqual([{
        from: [{
          namespace_selector: { match_labels: { 'kubernetes.io/metadata.name': '${(length(var.gateway_proxy_namespace) >= 1) ? var.gateway_proxy_namespace : var.gateway_namespace}' } },
          pod_selector: { match_labels: expect.stringContaining('var.gateway_proxy_pod_labels') },
        }],
        ports: [{ port: '5000', protocol: 'TCP' }],
      }]);
    }
    // AND nodes pull through <first name>:<mirror_external_port>, the address the Gateway's second listeners serve
    expect(json.output.mirror_endpoint.value).toBe('${format("%s:%s", element(var.registry_domains, 0), var.mirror_external_port)}');
  });

  test('attach (gateway-attach-mirror): the cache route is on gateway_mirror_section_name', () => {
    const { json, stack } = synth(environment('gateway-attach-mirror'));
    expect(stack.variables.names).toContain('gateway_mirror_section_name');
    expect(only(json, 'helm_release').values[0]).toContain('"parentRefs" = [merge({"name" = var.gateway_name, "namespace" = var.gateway_namespace}, (length(var.gateway_mirror_section_name) >= 1) ? {"sectionName" = var.gateway_mirror_section_name} : {})]');
  });

  test.each<[string, string, Record<string, unknown>, RegExp]>([
    ["the registry route names no listener (it would take the cache's too)", 'gateway-attach-mirror', { gateway_section_name: '' },
      /^environment gateway-attach-mirror: variables.gateway_section_name: "" is not allowed; expected a listener name: with the pull-through cache on/],
    ["the cache's listener is the registry's", 'gateway-attach-mirror', { gateway_mirror_section_name: 'registry-tls' },
      /^environment gateway-attach-mirror: variables.gateway_mirror_section_name: "registry-tls" is not allowed; expected a listener other than the registry's \(gateway_section_name\)/],
    ["the cache's port is the registry's", 'example-gateway', { mirror_external_port: 5000 },
      /^environment example-gateway: variables.mirror_external_port: 5000 is not allowed; expected a port other than the registry's \(gateway_port\)/],
    ['a created Gateway would need more than 64 listeners', 'example-gateway', { registry_domains: Array.from({ length: 33 }, (_, i) => `r${i}.example.com`) },
      /^environment example-gateway: variables.registry_domains: .* is not allowed; expected a list of at most 32 entries/],
  ])('fails when %s', (_, name, variables, error) => {
    expect(() => buildStack(environment(name, { variables }))).toThrow(error);
  });
});

describe('Exposure.gateway() in an environment', () => {
  test('fails when the mode is not attach or create', () => {
    expect(() => buildStack(environment('gateway-attach', { exposure: Exposure.gateway({ mode: 'adopt' as any }) })))
      .toThrow(/^environment gateway-attach: exposure.mode: "adopt" is not allowed; expected one of "attach", "create"\.$/);
  });

  test('fails when registry_ip_addresses is not empty: a client connecting by IP sends no SNI to route by', () => {
    expect(() => buildStack(environment('gateway-attach', { variables: { registry_ip_addresses: ['192.0.2.10'] } })))
      .toThrow(/^environment gateway-attach: variables.registry_ip_addresses: \["192.0.2.10"\] is not allowed; expected an empty list \(a client that connects by IP sends no SNI/);
  });

  test('fails when a registry domain is an IP, which Gateway API hostnames cannot be (domainName alone would let it through)', () => {
    expect(() => buildStack(environment('gateway-attach', { variables: { registry_domains: ['registry.example.internal', '10.0.0.1'] } })))
      .toThrow(/^environment gateway-attach: variables.registry_domains\[1\]: "10.0.0.1" is not allowed; expected a DNS name, not an IP address/);
    expect(() => buildStack(environment('dev', { variables: { registry_domains: ['10.0.0.1'] } }))).not.toThrow();
  });

  test('resources: no ingress-nginx resource or variable; the release is the only Helm release', () => {
    const { stack, json } = synth(environment('example-gateway'));
    expect(stack.variables.names).not.toContain('external_port');
    expect(resourcesOf(json, 'helm_release').map((r) => r.name)).toEqual([GATEWAY_RELEASE_NAME]);
    expect(resourcesOf(json, 'kubernetes_config_map_v1_data')).toEqual([]);
  });
});

describe('the chart', () => {
  const route = { kind: 'TLSRoute' };
  const gateway = { kind: 'Gateway' };

  test('its templates print the values whole: the TLSRoute always, the Gateway when the values hold one', () => {
    expect(renderChart({ tlsRoute: route })).toEqual([route]);
    expect(renderChart({ tlsRoute: route, gateway })).toEqual([gateway, route]);
    expect(() => renderChart({ gateway })).toThrow('tlsroute.yaml: .Values.tlsRoute is not set');
  });

  test("the further ports' routes, each as its own document, after the registry's", () => {
    const cacheRoute = { kind: 'TLSRoute', metadata: { name: 'registry-mirror' } };
    expect(renderChart({ tlsRoute: route, gateway, additionalTlsRoutes: [cacheRoute] })).toEqual([gateway, route, cacheRoute]);
    expect(() => renderChart({ tlsRoute: route, additionalTlsRoutes: cacheRoute })).toThrow('tlsroutes-additional.yaml: .Values.additionalTlsRoutes is not a list');
  });

  test('fails when a template computes something (the objects would no longer be the values the tests check)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'chart-'));
    try {
      mkdirSync(path.join(dir, 'templates'));
      writeFileSync(path.join(dir, 'templates', 'tlsroute.yaml'), '{{ toYaml .Values.tlsRoute | replace "a" "b" }}\n');
      expect(() => renderChart({ tlsRoute: route }, dir)).toThrow(/tlsroute.yaml: not a template this renderer knows/);
    } finally {
      removeDirectory(dir);
    }
  });
});
