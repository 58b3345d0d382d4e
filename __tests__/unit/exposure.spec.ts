import { parse } from 'yaml';
import { environment, synth, only, address } from '../../harness/synth';
import { Exposure } from '../../lib/exposure';

/** The stack's values with variables and references replaced by the given text, as Helm would receive them. */
function renderedValues(values: string, replacements: Record<string, string>): any {
  let text = values;
  for (const [expression, value] of Object.entries(replacements)) text = text.split(`\${${expression}}`).join(value);
  return parse(text);
}

describe('IngressNginxTcp', () => {
  describe('install', () => {
    const { json } = synth(environment('dev'));
    const release = only(json, 'helm_release');
    const service = address(json, 'kubernetes_service_v1', 'registry/service');

    test('installs the ingress-nginx chart at the pinned version variable, atomically', () => {
      expect(release).toMatchObject({
        chart: 'ingress-nginx',
        repository: 'https://kubernetes.github.io/ingress-nginx',
        version: '${var.ingress_chart_version}',
        namespace: '${var.ingress_namespace}',
        create_namespace: true,
        atomic: true,
        reuse_values: false,
      });
      expect(json.variable.ingress_chart_version.default).toMatch(/^4\.\d+\.\d+$/);
      expect(release.set).toBeUndefined();
    });

    test('values (YAML, not dotted set) route the external port to the Service name, namespace and port', () => {
      expect(release.values).toHaveLength(1);
      const values = renderedValues(release.values[0], {
        'var.external_port': '5000',
        'kubernetes_namespace_v1.namespace.metadata[0].name': 'registry',
        [`${service}.metadata[0].name`]: 'registry',
      });
      expect(values).toEqual({ tcp: { '5000': 'registry/registry:5000' } });
      expect(only(json, 'kubernetes_service_v1').spec.port[0].port).toBe(5000);
    });

    test('the endpoint output is the first domain and the external port', () => {
      expect(json.output.registry_endpoint.value).toBe('${element(var.registry_domains, 0)}${var.external_port == 443 ? "" : ":${var.external_port}"}');
    });
  });

  describe('adopt', () => {
    const { json } = synth(environment('prod'));
    test('imports the existing release and keeps its other values', () => {
      const release = only(json, 'helm_release');
      expect(release.reuse_values).toBe(true);
      expect(release.create_namespace).toBe(false);
      expect(json.import).toEqual([
        { id: '${var.ingress_namespace}/${var.ingress_release_name}', to: address(json, 'helm_release', 'exposure/release') },
      ]);
    });
  });

  describe('configmap-only', () => {
    const { json } = synth(environment('dev', { exposure: Exposure.ingressNginx.configmapOnly() }));
    test("patches only our key in the controller's tcp-services ConfigMap and prints the flag to add", () => {
      expect(json.resource.helm_release).toBeUndefined();
      const data = only(json, 'kubernetes_config_map_v1_data');
      expect(data.metadata).toEqual({ name: '${var.tcp_services_configmap}', namespace: '${var.ingress_namespace}' });
      expect(Object.keys(data.data)).toEqual(['${var.external_port}']);
      expect(data.field_manager).toBe('private-registry-stack');
      expect(json.output.manual_steps.value).toContain('--tcp-services-configmap=${var.ingress_namespace}/${var.tcp_services_configmap}');
    });
  });

  describe('none', () => {
    const { json } = synth(environment('dev', { exposure: Exposure.none(), serviceType: 'LoadBalancer' }));
    test('no controller resources; the endpoint is the Service port', () => {
      expect(json.resource.helm_release).toBeUndefined();
      expect(json.resource.kubernetes_config_map_v1_data).toBeUndefined();
      expect(json.variable.external_port).toBeUndefined();
      expect(json.output.registry_endpoint.value).toBe('${element(var.registry_domains, 0)}:5000');
    });
  });
});

describe('GatewayTlsRoute in the stacks', () => {
  describe('create (example-gateway)', () => {
    const { json } = synth(environment('example-gateway'));
    const service = address(json, 'kubernetes_service_v1', 'registry/service');

    test('the endpoint output is the first domain and the listener port; no ingress-nginx variable', () => {
      expect(json.output.registry_endpoint.value).toBe('${element(var.registry_domains, 0)}${var.gateway_port == 443 ? "" : ":${var.gateway_port}"}');
      for (const name of ['external_port', 'ingress_namespace', 'ingress_release_name', 'ingress_chart_version']) expect(json.variable[name]).toBeUndefined();
      expect(json.variable.gateway_port.default).toBe(5000);
    });

    test('route_status_command: the Gateway, then the route status per parent; not sensitive', () => {
      expect(json.output.route_status_command).toMatchObject({ sensitive: false });
      expect(json.output.route_status_command.value).toBe(
        `kubectl -n \${var.gateway_namespace} get gateway \${var.gateway_name} && kubectl -n \${kubernetes_namespace_v1.namespace.metadata[0].name} get tlsroute \${${service}.metadata[0].name} ` +
        '-o jsonpath=\'{range .status.parents[*]}{.parentRef.namespace}/{.parentRef.name}{" "}{range .conditions[*]}{.type}={.status}({.reason}){" "}{end}{"\\n"}{end}\'',
      );
    });

    test('the release lives in the registry namespace and names the Service, so Terraform creates both first', () => {
      const release = only(json, 'helm_release');
      expect(release.namespace).toBe('${kubernetes_namespace_v1.namespace.metadata[0].name}');
      expect(release.values[0]).toContain(`"backendRefs" = [{"name" = ${service}.metadata[0].name, "port" = 5000}]`);
      expect(json.import).toBeUndefined();
    });

    test('node trust and pull secrets use the names with the listener port (the same host:port clients use)', () => {
      const hosts = JSON.stringify(json.resource);
      expect(hosts).toContain('\\"${val}:${var.gateway_port}\\"');
      expect(hosts).not.toContain('var.external_port');
    });
  });

  describe('attach (gateway-attach)', () => {
    const { json } = synth(environment('gateway-attach'));
    test('the stack holds no Gateway: nothing to change or delete on an existing one', () => {
      const [values] = only(json, 'helm_release').values;
      expect(values).not.toMatch(/"kind" = "Gateway"/);
      expect(JSON.stringify(json.resource)).not.toMatch(/"kind\\?" = \\?"Gateway\\?"/);
      expect(json.import).toBeUndefined();
      expect(json.output.route_status_command.value).toMatch(/^kubectl -n \$\{kubernetes_namespace_v1\.namespace\.metadata\[0\]\.name\} get tlsroute /);
    });
  });
});
