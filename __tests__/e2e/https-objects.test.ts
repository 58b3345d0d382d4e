/**
 * The objects of the 443 front door and of the cert-manager TLS mode, as the API server would receive them: the
 * `helm_release` values of a synthesized stack evaluated by the real terraform binary (defaults, then values an
 * operator may set), rendered by the chart's templates (harness/chart-objects.ts). Every object is admitted by its
 * pinned CRD (harness/crd: Gateway API v1.6.1, cert-manager v1.21.1, Envoy Gateway v1.9.0, NGINX Gateway Fabric
 * v2.6.7; the created Gateway also meets the Gateway conventions of harness/gateway-api.ts), and each value is where
 * it belongs.
 */
import * as path from 'node:path';
import { formatErrors, validateCustomResource } from '../../harness/crd';
import { validateGateway } from '../../harness/gateway-api';
import { CERTIFICATE_CHART, chartObjects, HTTPS_EXPOSURE_CHART, one } from '../../harness/chart-objects';
import { synthesized, type Synthesized } from '../../harness/json';
import { tempDir, useCleanup } from '../../harness/programs';

const LABELS = { 'app.kubernetes.io/name': 'registry', 'app.kubernetes.io/component': 'exposure' };

/** Each object's errors as the API server with the pinned CRDs would report them, by kind ([] each: admitted). */
const admitted = (objects: readonly any[]) => Object.fromEntries(objects.map((o) => [o.kind, formatErrors(validateCustomResource(o))]));
const none = (objects: readonly any[]) => Object.fromEntries(objects.map((o) => [o.kind, []]));
const CA = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2FQbGFjZWhvbGRlcg==\n-----END CERTIFICATE-----\n';

describe('the HTTPS route and Certificate objects the stack emits, evaluated by terraform', () => {
  const cleanup = useCleanup();
  let dir: string;
  let runs = 0;
  const stacks: Record<string, Synthesized> = {};
  const https = (stack: string, values: Record<string, unknown> = {}) => chartObjects(stacks[stack], path.join(dir, `run-${runs++}`), HTTPS_EXPOSURE_CHART, values);
  const certificate = (stack: string, values: Record<string, unknown> = {}) => chartObjects(stacks[stack], path.join(dir, `run-${runs++}`), CERTIFICATE_CHART, values);

  beforeAll(async () => {
    dir = await tempDir(cleanup, 'https-objects-');
    for (const name of ['example-https', 'https-attach', 'cert-manager-passthrough']) stacks[name] = synthesized(name);
  });

  describe("create, Envoy Gateway (example-https: Exposure.gateway({ mode: 'create', route: 'https', dataPlane: 'envoy-gateway' }))", () => {
    test('a valid Gateway with one HTTPS listener per name on 443, its certificate from the ClusterIssuer by annotation', async () => {
      const objects = await https('example-https');
      expect(objects.map((o) => o.kind)).toEqual(['Gateway', 'HTTPRoute', 'BackendTLSPolicy', 'BackendTrafficPolicy', 'ClientTrafficPolicy']);
      expect(admitted(objects)).toEqual(none(objects));
      const gateway = one(objects, 'Gateway');
      expect(formatErrors(validateGateway(gateway))).toEqual([]);
      expect(gateway.metadata).toEqual({
        name: 'registry-gateway', namespace: 'registry-gateway', labels: LABELS, annotations: { 'cert-manager.io/cluster-issuer': 'letsencrypt-dns01' },
      });
      expect(gateway.spec).toEqual({
        gatewayClassName: 'eg',
        listeners: [{
          name: 'registry.example.com',
          hostname: 'registry.example.com',
          port: 443,
          protocol: 'HTTPS',
          tls: { mode: 'Terminate', certificateRefs: [{ group: '', kind: 'Secret', name: 'registry-gateway-registry-tls' }] },
          allowedRoutes: {
            namespaces: { from: 'Selector', selector: { matchLabels: { 'kubernetes.io/metadata.name': 'registry' } } },
            kinds: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute' }],
          },
        }],
      });
    });

    test('the HTTPRoute sends /v2 of the registry names to the registry Service; TLS again to it, checked against the system roots (public issuer)', async () => {
      const objects = await https('example-https');
      expect(one(objects, 'HTTPRoute')).toEqual({
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: { name: 'registry', namespace: 'registry', labels: LABELS },
        spec: {
          parentRefs: [{ name: 'registry-gateway', namespace: 'registry-gateway' }],
          hostnames: ['registry.example.com'],
          rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/v2' } }], backendRefs: [{ name: 'registry', port: 5000 }] }],
        },
      });
      expect(one(objects, 'BackendTLSPolicy').spec).toEqual({
        targetRefs: [{ group: '', kind: 'Service', name: 'registry' }],
        validation: { hostname: 'registry.example.com', wellKnownCACertificates: 'System' },
      });
    });

    test("Envoy's request timeout is off and its stream idle timeout is an hour, on the route and on the created Gateway", async () => {
      const objects = await https('example-https');
      expect(one(objects, 'BackendTrafficPolicy')).toEqual({
        apiVersion: 'gateway.envoyproxy.io/v1alpha1',
        kind: 'BackendTrafficPolicy',
        metadata: { name: 'registry', namespace: 'registry', labels: LABELS },
        spec: {
          targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'registry' }],
          timeout: { http: { requestTimeout: '0s', streamIdleTimeout: '1h' } },
        },
      });
      expect(one(objects, 'ClientTrafficPolicy')).toEqual({
        apiVersion: 'gateway.envoyproxy.io/v1alpha1',
        kind: 'ClientTrafficPolicy',
        metadata: { name: 'registry-gateway', namespace: 'registry-gateway', labels: LABELS },
        spec: {
          targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'registry-gateway' }],
          timeout: { http: { streamIdleTimeout: '1h' } },
        },
      });
    });

    test("a private CA issuer (Issuer kind, its CA given): the Issuer annotation, and the Gateway checks the registry against that CA's ConfigMap", async () => {
      const objects = await https('example-https', { cert_manager_issuer_kind: 'Issuer', cert_manager_issuer_name: 'registry-ca', cert_manager_ca_pem: CA });
      expect(admitted(objects)).toEqual(none(objects));
      expect(one(objects, 'Gateway').metadata.annotations).toEqual({ 'cert-manager.io/issuer': 'registry-ca' });
      expect(one(objects, 'BackendTLSPolicy').spec.validation).toEqual({
        hostname: 'registry.example.com', caCertificateRefs: [{ group: '', kind: 'ConfigMap', name: 'registry-ca' }],
      });
    });

    test('the Certificate names the registry names only, from the named issuer, into the Secret the registry mounts', async () => {
      const [cert] = await certificate('example-https');
      expect(formatErrors(validateCustomResource(cert))).toEqual([]);
      expect(cert).toEqual({
        apiVersion: 'cert-manager.io/v1',
        kind: 'Certificate',
        metadata: { name: 'registry', namespace: 'registry', labels: { 'app.kubernetes.io/component': 'tls', 'app.kubernetes.io/managed-by': 'private-registry-stack' } },
        spec: {
          secretName: 'registry-certificate',
          secretTemplate: { labels: { 'app.kubernetes.io/component': 'tls', 'app.kubernetes.io/managed-by': 'private-registry-stack' } },
          dnsNames: ['registry.example.com'],
          ipAddresses: [],
          issuerRef: { group: 'cert-manager.io', kind: 'ClusterIssuer', name: 'letsencrypt-dns01' },
          privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
          usages: ['server auth', 'digital signature'],
        },
      });
    });
  });

  describe("attach, NGINX Gateway Fabric (https-attach: Exposure.gateway({ mode: 'attach', route: 'https', dataPlane: 'nginx-gateway-fabric' }))", () => {
    test("the route on the existing Gateway's named HTTPS listener; the generated CA checks the registry; NGF's body limit and body timeout lifted", async () => {
      const objects = await https('https-attach');
      expect(objects.map((o) => o.kind)).toEqual(['HTTPRoute', 'BackendTLSPolicy', 'ClientSettingsPolicy']);
      expect(admitted(objects)).toEqual(none(objects));
      expect(one(objects, 'HTTPRoute').spec.parentRefs).toEqual([{ name: 'shared-gateway', namespace: 'gateway-system', sectionName: 'https' }]);
      expect(one(objects, 'BackendTLSPolicy').spec.validation).toEqual({
        hostname: 'registry.dev.example.internal', caCertificateRefs: [{ group: '', kind: 'ConfigMap', name: 'registry-ca' }],
      });
      expect(one(objects, 'ClientSettingsPolicy')).toEqual({
        apiVersion: 'gateway.nginx.org/v1alpha1',
        kind: 'ClientSettingsPolicy',
        metadata: { name: 'registry', namespace: 'registry', labels: LABELS },
        spec: { targetRef: { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'registry' }, body: { maxSize: '0', timeout: '10m' } },
      });
    });

    test('gateway_section_name empty: the parentRef names no listener', async () => {
      const objects = await https('https-attach', { gateway_section_name: '' });
      expect(admitted(objects)).toEqual(none(objects));
      expect(one(objects, 'HTTPRoute').spec.parentRefs).toEqual([{ name: 'shared-gateway', namespace: 'gateway-system' }]);
    });
  });

  test('cert-manager behind TLS passthrough: the Certificate asks a namespaced private CA issuer for the registry names', async () => {
    const [cert] = await certificate('cert-manager-passthrough', { registry_domains: ['registry.example.com'], cert_manager_ca_pem: CA });
    expect(formatErrors(validateCustomResource(cert))).toEqual([]);
    expect(cert.spec).toMatchObject({
      secretName: 'registry-certificate',
      dnsNames: ['registry.example.com'],
      issuerRef: { group: 'cert-manager.io', kind: 'Issuer', name: 'registry-ca' },
    });
  });
});
