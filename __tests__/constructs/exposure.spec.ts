/** Each exposure bound alone in an empty stack: what it creates and what it hands the network policy and outputs. */
import { Exposure, type ExposureStrategy } from '../../lib/exposure';
import { IngressNginxTcp } from '../../lib/exposure/ingress-nginx';
import { environment, only, resourcesOf, synthConstruct } from '../../harness/synth';

const target = { namespace: 'registry', serviceName: 'registry', port: 5000 };

function bindAlone(exposure: ExposureStrategy) {
  return synthConstruct((scope, variables) => ({
    clientPort: exposure.clientPort(variables),
    binding: exposure.bind(scope, { target, variables }),
  }), environment('dev', { exposure }));
}

describe('Exposure.ingressNginx alone', () => {
  test('install: a Helm release routing the external port to the Service; the controller namespace is the peer', () => {
    const { json, result, resolve } = bindAlone(Exposure.ingressNginx.install());
    const release = only(json, 'helm_release');
    expect(release).toMatchObject({ chart: 'ingress-nginx', create_namespace: true, reuse_values: false, atomic: true });
    expect(release.values[0]).toBe('"tcp":\n  "${var.external_port}": "registry/registry:5000"\n');
    expect(result.clientPort).toBe('${var.external_port}');
    expect(resolve(result.binding.peerNamespaces)).toEqual(['${var.ingress_namespace}']);
    expect(result.binding.manualSteps).toBeUndefined();
    expect(json.import).toBeUndefined();
  });

  test('adopt: the release is imported and keeps its values', () => {
    const { json } = bindAlone(Exposure.ingressNginx.adopt());
    expect(only(json, 'helm_release')).toMatchObject({ reuse_values: true, create_namespace: false });
    expect(json.import).toHaveLength(1);
  });

  test('configmap-only: only our key in the controller ConfigMap, and the steps left to the operator', () => {
    const { json, result, resolve } = bindAlone(Exposure.ingressNginx.configmapOnly());
    expect(resourcesOf(json, 'helm_release')).toEqual([]);
    expect(only(json, 'kubernetes_config_map_v1_data')).toMatchObject({ force: true, field_manager: 'private-registry-stack' });
    const steps: string = resolve(result.binding.manualSteps);
    expect(steps).toMatch(/^1\. Before the first apply, make sure the ConfigMap exists/);
    expect(steps).toContain('kubectl -n ${var.ingress_namespace} get configmap ${var.tcp_services_configmap} || kubectl -n ${var.ingress_namespace} create configmap ${var.tcp_services_configmap}');
    expect(steps).toContain('2. Add --tcp-services-configmap=${var.ingress_namespace}/${var.tcp_services_configmap}');
  });

  test('IngressNginxTcp takes Helm settings only in Helm modes (a configmap-only construct has no release)', () => {
    const { result } = synthConstruct((scope) => new IngressNginxTcp(scope, 'exposure', {
      mode: 'configmap-only', externalPort: 5000, target, controllerNamespace: 'ingress-nginx', tcpConfigMapName: 'tcp',
    }));
    expect(result.release).toBeUndefined();
    expect(result.tcpConfigMap).toBeDefined();
  });
});

describe('Exposure.none() alone', () => {
  test('creates nothing; clients use the Service port; no proxy peers; their networks come from allowed_client_cidrs', () => {
    const { json, result, variables, resolve } = bindAlone(Exposure.none());
    expect(json.resource ?? {}).toEqual({});
    expect(result.clientPort).toBe('5000');
    expect(result.binding.peerNamespaces).toBeUndefined();
    expect(resolve(result.binding.clientCidrs)).toBe('${var.allowed_client_cidrs}');
    expect(variables.names).toEqual(['allowed_client_cidrs']);
  });
});
