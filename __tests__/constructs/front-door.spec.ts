/**
 * The 443 front door's constructs: the HTTP Ingress for ingress-nginx and the HTTPS Gateway route bound alone, and
 * the cert-manager TLS mode in a stack (what it creates instead of the Secret, and what the pod mounts).
 */
import { Exposure, type ExposureStrategy } from '../../lib/exposure';
import { httpIngressAnnotations } from '../../lib/exposure/ingress-nginx';
import { environment, only, resourcesOf, synth, synthConstruct } from '../../harness/synth';

const target = { namespace: 'registry', serviceName: 'registry', port: 5000 };
const tls = { secretName: 'registry-tls', caPem: 'CA PEM', hasCa: true };

function bindAlone(exposure: ExposureStrategy, withTls = true) {
  return synthConstruct((scope, variables) => ({
    clientPort: exposure.clientPort(variables),
    binding: exposure.bind(scope, { target, variables, ...(withTls ? { tls } : {}) }),
  }), environment('dev', { exposure }));
}

describe('Exposure.ingressNginx.http() alone', () => {
  test('an Ingress for /v2 of every registry name, TLS at the controller with the registry Secret, on 443; the controller namespace is the peer', () => {
    const { json, result, resolve } = bindAlone(Exposure.ingressNginx.http());
    const ingress = only(json, 'kubernetes_ingress_v1');
    expect(ingress.metadata.annotations).toEqual({
      'nginx.ingress.kubernetes.io/proxy-body-size': '0',
      'nginx.ingress.kubernetes.io/proxy-request-buffering': 'off',
      'nginx.ingress.kubernetes.io/proxy-read-timeout': '3600',
      'nginx.ingress.kubernetes.io/proxy-send-timeout': '3600',
      'nginx.ingress.kubernetes.io/backend-protocol': 'HTTPS',
      // With a CA: the registry's certificate is checked for the first name.
      'nginx.ingress.kubernetes.io/proxy-ssl-secret': '${format("%s/%s", "registry", "registry-tls")}',
      'nginx.ingress.kubernetes.io/proxy-ssl-verify': 'on',
      'nginx.ingress.kubernetes.io/proxy-ssl-name': '${element(var.registry_domains, 0)}',
      'nginx.ingress.kubernetes.io/proxy-ssl-server-name': 'on',
    });
    expect(ingress.spec.ingress_class_name).toBe('${var.ingress_class_name}');
    expect(ingress.spec.tls).toEqual([{ hosts: '${var.registry_domains}', secret_name: 'registry-tls' }]);
    expect(ingress.spec.dynamic.rule.for_each).toBe('${toset(var.registry_domains)}');
    expect(ingress.spec.dynamic.rule.content.http[0].path[0]).toEqual({
      path: '/v2', path_type: 'Prefix', backend: [{ service: [{ name: 'registry', port: [{ number: 5000 }] }] }],
    });
    expect(result.clientPort).toBe('443');
    expect(resolve(result.binding.peerNamespaces)).toEqual(['${var.ingress_namespace}']);
    expect(resourcesOf(json, 'helm_release')).toEqual([]);
    expect(() => result.binding.addRoute({ externalPort: 5001, target })).toThrow(/addRoute: is not allowed/);
  });

  test('the annotations lift the 1m body limit and stream bodies', () => {
    expect(httpIngressAnnotations()).toMatchObject({ 'nginx.ingress.kubernetes.io/proxy-body-size': '0', 'nginx.ingress.kubernetes.io/proxy-request-buffering': 'off' });
  });

  test('fails when bound without the registry TLS, naming what is missing', () => {
    expect(() => bindAlone(Exposure.ingressNginx.http(), false)).toThrow(/exposure ingress-nginx http: bind: no registry TLS is not allowed; expected the registry's Secret and CA/);
  });
});

describe("Exposure.gateway({ route: 'https' }) alone", () => {
  test("one release of the HTTPS chart, the CA ConfigMap, and the Gateway's data-plane pods as the peer", () => {
    const { json, result, resolve } = bindAlone(Exposure.gateway({ mode: 'attach', route: 'https', dataPlane: 'nginx-gateway-fabric' }));
    expect(only(json, 'helm_release')).toMatchObject({ name: 'registry-exposure-https', atomic: true, wait: true });
    expect(only(json, 'kubernetes_config_map_v1')).toMatchObject({ count: 1, data: { 'ca.crt': 'CA PEM' } });
    expect(resolve(result.binding.peerPods)).toEqual([{
      namespace: '${(length(var.gateway_proxy_namespace) >= 1) ? var.gateway_proxy_namespace : var.gateway_namespace}',
      podLabels: '${var.gateway_proxy_pod_labels}',
    }]);
    expect(result.clientPort).toBe('${var.gateway_port}');
    expect(() => result.binding.addRoute({ externalPort: 5001, target })).toThrow(/addRoute: is not allowed/);
  });
});

describe("tlsMode 'cert-manager' in a stack", () => {
  test('a Certificate release instead of the TLS Secret; the pod mounts the Secret cert-manager writes, after the release', () => {
    const { json } = synth(environment('example-https'));
    const secrets = resourcesOf(json, 'kubernetes_secret_v1').map((s) => s.metadata.name);
    expect(secrets.some((n: string) => n.endsWith('-tls}') || n.endsWith('-tls'))).toBe(false);
    const releases = resourcesOf(json, 'helm_release').map((r) => r.name);
    expect(releases.sort()).toEqual(['registry-certificate', 'registry-exposure-https']);
    const volume = only(json, 'kubernetes_deployment_v1').spec.template.spec.volume.find((v: any) => v.name === 'tls');
    expect(volume.secret.secret_name).toMatch(/^\$\{element\(\[format\("%s-certificate", var\.app_name\), helm_release\.tls_certificate_certificate-objects_[0-9A-F]+\.name\], 0\)\}$/);
    expect(Object.keys(json.output)).toContain('certificate_status_command');
    expect(Object.keys(json.output)).not.toContain('certificate_expires_at');
    expect(json.variable.cert_manager_issuer_name.default).toBe('letsencrypt-dns01');
  });
});
