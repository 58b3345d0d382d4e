/** RegistryNetworkPolicy alone: which namespaces (and pods) reach which port, with and without an exposure's peers. */
import { RegistryNetworkPolicy } from '../../lib/network-policy';
import { byPath, only, resourcesOf, synthConstruct } from '../../harness/synth';

const props = { namespace: 'r', name: 'r', podSelector: { app: 'r' }, registryPort: 5000, metricsPort: 5001, monitoringNamespace: '' };

describe('RegistryNetworkPolicy alone', () => {
  test('without an exposure only the listed client namespaces reach the registry port', () => {
    const { json } = synthConstruct((scope) => new RegistryNetworkPolicy(scope, 'np', { ...props, allowedClientNamespaces: ['ci'] }));
    const candidates: string = only(json, 'kubernetes_network_policy_v1').spec.dynamic.ingress.for_each;
    expect(candidates).toContain('zipmap(["5000", "5001"], [["ci"], compact([""])])');
  });

  test("an exposure's peer namespaces are added to the clients, without repeats", () => {
    const { json } = synthConstruct((scope) => new RegistryNetworkPolicy(scope, 'np', { ...props, peerNamespaces: ['ingress-nginx'], allowedClientNamespaces: ['ci'] }));
    const candidates: string = only(json, 'kubernetes_network_policy_v1').spec.dynamic.ingress.for_each;
    expect(candidates).toContain('distinct(concat(["ingress-nginx"], ["ci"]))');
  });

  test('pod peers: a second policy admits those pods (namespace AND labels) to the registry port only; the first is unchanged', () => {
    // GIVEN a proxy identified by namespace and pod labels WHEN the policy is built with it
    const peerPods = [{ namespace: 'gateway-system', podLabels: ['gateway.networking.k8s.io/gateway-name=edge', 'tier='] }];
    const { json } = synthConstruct((scope) => new RegistryNetworkPolicy(scope, 'np', { ...props, peerPods, allowedClientNamespaces: ['ci'] }));
    // THEN the namespace-based policy is the one without peers
    const without = synthConstruct((scope) => new RegistryNetworkPolicy(scope, 'np', { ...props, allowedClientNamespaces: ['ci'] })).json;
    expect(byPath(json, 'kubernetes_network_policy_v1', 'np/policy')).toEqual(only(without, 'kubernetes_network_policy_v1'));
    // AND the second one selects the same pods and admits the peers' pods, by both selectors in one peer
    const peers = byPath(json, 'kubernetes_network_policy_v1', 'np/peer-pods');
    expect(peers.metadata).toEqual({ name: 'r-exposure', namespace: 'r', labels: { 'app.kubernetes.io/component': 'exposure', 'app.kubernetes.io/managed-by': 'private-registry-stack' } });
    expect(peers.spec).toEqual({
      pod_selector: { match_labels: { app: 'r' } },
      policy_types: ['Ingress'],
      ingress: [{
        from: [{
          namespace_selector: { match_labels: { 'kubernetes.io/metadata.name': 'gateway-system' } },
          pod_selector: { match_labels: '${{ for key, val in ["gateway.networking.k8s.io/gateway-name=edge", "tier="]: element(split("=", val), 0) => element(split("=", val), 1) }}' },
        }],
        ports: [{ port: '5000', protocol: 'TCP' }],
      }],
    });
  });

  test('no pod peers, no second policy', () => {
    const { json } = synthConstruct((scope) => new RegistryNetworkPolicy(scope, 'np', { ...props, peerPods: [], allowedClientNamespaces: [] }));
    expect(resourcesOf(json, 'kubernetes_network_policy_v1')).toHaveLength(1);
  });

  test('selects the registry pods, ingress only', () => {
    const { json } = synthConstruct((scope) => new RegistryNetworkPolicy(scope, 'np', { ...props, allowedClientNamespaces: [] }));
    const policy = only(json, 'kubernetes_network_policy_v1');
    expect(policy.spec.pod_selector.match_labels).toEqual({ app: 'r' });
    expect(policy.spec.policy_types).toEqual(['Ingress']);
  });
});
