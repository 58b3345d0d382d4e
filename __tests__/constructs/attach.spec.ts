/**
 * The methods features attach themselves with, each on its shared part alone: a route on the exposure, a protected
 * workload on the network policy, a host and a mirror in node trust, an addition to the registry pod, an output.
 */
import { TerraformStack } from 'cdktf';
import { Exposure } from '../../lib/exposure';
import { IngressNginxTcp } from '../../lib/exposure/ingress-nginx';
import { RegistryNetworkPolicy } from '../../lib/network-policy';
import { RegistryNodeTrust } from '../../lib/node-trust/daemon-set';
import { MIRROR_ENV } from '../../lib/node-trust/script';
import { NodeTrustTargets } from '../../lib/node-trust/targets';
import { RegistryOutputs } from '../../lib/outputs';
import { RegistryPod } from '../../lib/registry/pod';
import { byPath, environment, only, resourcesOf, synthConstruct } from '../../harness/synth';

const target = { namespace: 'registry', serviceName: 'registry', port: 5000 };
const cacheTarget = { namespace: 'registry', serviceName: 'registry-mirror', port: 5000 };

describe('exposure.addRoute()', () => {
  test('a route added after the exposure is bound reaches the Helm values (install)', () => {
    // GIVEN a bound ingress-nginx exposure WHEN a feature adds its route afterwards
    const { json } = synthConstruct((scope, variables) => {
      const binding = Exposure.ingressNginx.install().bind(scope, { target, variables });
      binding.addRoute({ externalPort: 5001, target: cacheTarget });
    });
    // THEN the chart's tcp map routes both ports
    const values: string = only(json, 'helm_release').values[0];
    expect(values).toMatch(/^"tcp":\n/);
    expect(values).toContain('  "${var.external_port}": "registry/registry:5000"\n');
    expect(values).toContain('  "5001": "registry/registry-mirror:5000"\n');
  });

  test('a route reaches the tcp-services keys (configmap-only)', () => {
    const { json } = synthConstruct((scope) => {
      const tcp = new IngressNginxTcp(scope, 'exposure', {
        mode: 'configmap-only', externalPort: 5000, target, controllerNamespace: 'ingress-nginx', tcpConfigMapName: 'tcp',
      });
      tcp.addRoute({ externalPort: 5001, target: cacheTarget });
    });
    expect(only(json, 'kubernetes_config_map_v1_data').data).toEqual({ 5000: 'registry/registry:5000', 5001: 'registry/registry-mirror:5000' });
  });

  test('a route added after a Gateway exposure is bound reaches the Helm values: its own TLSRoute, on its own listeners', () => {
    // GIVEN a bound Gateway exposure (create) WHEN a feature adds its route afterwards
    const { json } = synthConstruct((scope, variables) => {
      Exposure.gateway({ mode: 'create' }).bind(scope, { target, variables }).addRoute({ externalPort: 5001, target: cacheTarget });
    }, environment('example-gateway'));
    // THEN the values hold a second route to the cache's Service, and the Gateway a listener per name on its port
    const values: string = only(json, 'helm_release').values[0];
    expect(values).toContain('"additionalTlsRoutes" = [{"apiVersion" = "gateway.networking.k8s.io/v1", "kind" = "TLSRoute", "metadata" = {"name" = "registry-mirror"');
    expect(values).toContain('"backendRefs" = [{"name" = "registry-mirror", "port" = 5000}]');
    expect(values).toContain('{"name" = format("%s.%d", val, 5001), "hostname" = val, "port" = 5001, "protocol" = "TLS"');
  });

  test('fails when the exposure routes one port only (none)', () => {
    expect(() => synthConstruct((scope, variables) => {
      Exposure.none().bind(scope, { target, variables }).addRoute({ externalPort: 5001, target: cacheTarget });
    }, environment('claim'))).toThrow(/^exposure none: addRoute: is not allowed; expected an exposure that routes a second port/);
  });
});

describe('networkPolicy.protect()', () => {
  test("another workload gets its own policy, admitting the registry's peers to its ports", () => {
    // GIVEN the registry's policy with proxy namespaces, client namespaces, networks and a monitoring namespace
    const { json } = synthConstruct((scope) => {
      const policy = new RegistryNetworkPolicy(scope, 'np', {
        namespace: 'r', name: 'r', podSelector: { app: 'r' }, registryPort: 5000, metricsPort: 5001,
        peerNamespaces: ['ingress-nginx'], allowedClientNamespaces: ['ci'], monitoringNamespace: 'monitoring', clientCidrs: ['10.0.0.0/8'],
      });
      // WHEN a feature protects its workload with it
      policy.protect(scope, 'cache-np', { name: 'r-mirror', podSelector: { app: 'r-mirror' }, registryPort: 5000, metricsPort: 5001 });
    });
    // THEN the workload's policy selects its pods and admits the same peers
    const cache = byPath(json, 'kubernetes_network_policy_v1', 'cache-np/policy');
    expect(cache.metadata.name).toBe('r-mirror');
    expect(cache.spec.pod_selector.match_labels).toEqual({ app: 'r-mirror' });
    expect(cache.spec.dynamic.ingress.for_each).toContain('distinct(concat(["ingress-nginx"], ["ci"]))');
    expect(cache.spec.dynamic.ingress.for_each).toContain('compact(["monitoring"])');
    expect(byPath(json, 'kubernetes_network_policy_v1', 'cache-np/direct-clients').metadata.name).toBe('r-mirror-direct-clients');
    expect(resourcesOf(json, 'kubernetes_network_policy_v1')).toHaveLength(4);
  });
});

describe('nodeTrust.addHost() / addMirror()', () => {
  const base = { namespace: 'trust', caPem: 'CA', image: 'busybox:1.37.0' };
  const envOf = (json: any) => Object.fromEntries(only(json, 'kubernetes_daemon_set_v1').spec.template.spec.container[0].env.map((e: any) => [e.name, e.value]));

  test("a mirror reaches the script's environment and adds the registries.conf.d mount", () => {
    const { json, result } = synthConstruct((scope) => {
      const targets = new NodeTrustTargets(['r.example.com:5000']);
      targets.addMirror({ hostPort: 'r.example.com:5001', upstreamRegistry: 'docker.io', upstreamUrl: 'https://registry-1.docker.io', basicAuth: 'bWlycm9yLXB1bGw6cA==' });
      return new RegistryNodeTrust(scope, 'nt', { ...base, ...targets.props });
    });
    expect(envOf(json)).toMatchObject({
      [MIRROR_ENV.host]: 'r.example.com:5001', [MIRROR_ENV.upstream]: 'docker.io', [MIRROR_ENV.upstreamUrl]: 'https://registry-1.docker.io',
    });
    expect(only(json, 'kubernetes_daemon_set_v1').spec.template.spec.volume.map((v: any) => v.name)).toContain('containers-registries');
    // the cache's credential from a Secret beside the DaemonSet (a Secret is not readable across namespaces)
    const credential = only(json, 'kubernetes_secret_v1');
    expect(credential.data).toEqual({ auth: 'bWlycm9yLXB1bGw6cA==' });
    const authEnv = only(json, 'kubernetes_daemon_set_v1').spec.template.spec.container[0].env.find((e: any) => e.name === MIRROR_ENV.auth);
    expect(authEnv.value_from.secret_key_ref).toMatchObject({ key: 'auth', name: expect.stringContaining('mirror-credential') });
    expect(result.script).toContain('registries.conf.d');
  });

  test('without a mirror: no mirror env; a host added joins the registry hosts', () => {
    const { json } = synthConstruct((scope) => {
      const targets = new NodeTrustTargets(['r.example.com:5000']);
      targets.addHost('r.example.com:5002');
      return new RegistryNodeTrust(scope, 'nt', { ...base, ...targets.props });
    });
    const env = envOf(json);
    expect(env[MIRROR_ENV.host]).toBeUndefined();
    expect(env.REGISTRY_HOSTS).toBe('${join(" ", concat(["r.example.com:5000"], ["r.example.com:5002"]))}');
  });

  test('fails when a second mirror is added', () => {
    const targets = new NodeTrustTargets([]);
    const mirror = { hostPort: 'h:1', upstreamRegistry: 'docker.io', upstreamUrl: 'https://registry-1.docker.io', basicAuth: 'YTpi' };
    targets.addMirror(mirror);
    expect(() => targets.addMirror(mirror)).toThrow(/^node trust: addMirror: is not allowed twice/);
  });
});

describe('RegistryPod', () => {
  test("fails when a feature adds to the pod after the server is built", () => {
    const pod = new RegistryPod();
    pod.addEnvFrom({ configMapRef: { name: 'switch' } });
    expect(pod.serverProps.envFrom).toEqual([{ configMapRef: { name: 'switch' } }]);
    pod.builtAs({} as never);
    expect(() => pod.addEnvFrom({ configMapRef: { name: 'late' } })).toThrow(/^registry pod: addEnvFrom: is not allowed after the server is built/);
  });

  test('without additions the server gets no envFrom and no cache', () => {
    expect(new RegistryPod().serverProps).toEqual({ cache: undefined });
  });
});

describe('outputs.add()', () => {
  test("a feature's output is stack-level under its own name; unmarked unless sensitive", () => {
    const { json } = synthConstruct((scope) => {
      const outputs = new RegistryOutputs(scope as TerraformStack, {
        stackName: 'registry-t', clientPort: '5000', caPem: 'CA', users: [], passwords: {}, certificateExpiresAt: 'never',
      });
      outputs.add('mirror_endpoint', 'r.example.com:5001', 'the cache');
    });
    expect(json.output.mirror_endpoint).toEqual({ value: 'r.example.com:5001', description: 'the cache' });
    expect(json.output.registry_passwords.sensitive).toBe(true);
  });
});
