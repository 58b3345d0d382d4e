/** RegistryNetworkPolicy alone: which namespaces reach which port, with and without an exposure's peers. */
import { RegistryNetworkPolicy } from '../../lib/network-policy';
import { only, synthConstruct } from '../../harness/synth';

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

  test('selects the registry pods, ingress only', () => {
    const { json } = synthConstruct((scope) => new RegistryNetworkPolicy(scope, 'np', { ...props, allowedClientNamespaces: [] }));
    const policy = only(json, 'kubernetes_network_policy_v1');
    expect(policy.spec.pod_selector.match_labels).toEqual({ app: 'r' });
    expect(policy.spec.policy_types).toEqual(['Ingress']);
  });
});
