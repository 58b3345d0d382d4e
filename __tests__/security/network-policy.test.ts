/**
 * The registry's NetworkPolicy: its shape in every environment, and which namespaces reach which port, evaluated
 * by the real terraform binary from the synthesized for_each expression (one init, one test run).
 */
import { DEBUG_PORT, REGISTRY_PORT } from '../../lib/registry/config';
import { NAMESPACE_NAME_LABEL } from '../../lib/network-policy';
import { byPath, resourcesOf, synthesized, testEnvironmentNames, type Synthesized } from '../../harness/json';
import { hcl, runBlock, TerraformWorkspace, type RunResult } from '../../harness/terraform';
import { environment, synth, TEST_ENVIRONMENTS } from '../../harness/synth';
import { GatewayExposure } from '../../lib/exposure/gateway';
import { REQUIRED_VARS } from '../validation/cases';

const policyOf = (json: Synthesized) => resourcesOf(json, 'kubernetes_network_policy_v1');
/** The registry's main policy (its logical id drops the repeated "policy": network-policy_<hash>). */
const mainPolicy = (json: Synthesized) => byPath(json, 'kubernetes_network_policy_v1', 'network-policy');

/** Which namespaces reach which port, for given variables: [stack, variables, expected port -> namespaces]. */
const REACH: [string, 'dev' | 'claim', Record<string, unknown>, Record<string, string[]>][] = [
  ['the ingress controller alone reaches the registry by default', 'dev', {}, { [REGISTRY_PORT]: ['ingress-nginx'] }],
  ['listed clients and the monitoring namespace are added', 'dev',
    { allowed_client_namespaces: ['ci', 'ingress-nginx'], monitoring_namespace: 'monitoring' },
    { [REGISTRY_PORT]: ['ingress-nginx', 'ci'], [DEBUG_PORT]: ['monitoring'] }],
  ['without exposure only the monitoring namespace is let in', 'claim', {}, { [DEBUG_PORT]: ['monitoring'] }],
  ['without exposure, clients or monitoring nobody is let in', 'claim', { monitoring_namespace: '' }, {}],
];

/** Which pods of which namespace reach the registry port through a Gateway: [title, variables, namespace, labels]. */
const GATEWAY_PEERS: [string, Record<string, unknown>, string, Record<string, string>][] = [
  ['the data-plane pods of the Gateway, by their labels', {}, 'envoy-gateway-system',
    { 'gateway.envoyproxy.io/owning-gateway-name': 'shared-gateway', 'gateway.envoyproxy.io/owning-gateway-namespace': 'gateway-system' }],
  ["no proxy namespace: the Gateway's; no labels: every pod there", { gateway_proxy_namespace: '', gateway_proxy_pod_labels: [] }, 'gateway-system', {}],
  ['a label with an empty value and a prefixed key', { gateway_proxy_pod_labels: ['app=', 'example.com/role=proxy'] }, 'envoy-gateway-system',
    { app: '', 'example.com/role': 'proxy' }],
];

let stacks: [string, Synthesized][];
let results: Map<string, RunResult>;
let workspace: TerraformWorkspace;

beforeAll(() => {
  stacks = testEnvironmentNames().map((name) => [name, synthesized(name)]);
  workspace = new TerraformWorkspace();
  for (const name of ['dev', 'claim'] as const) {
    const [, json] = stacks.find(([stack]) => stack === name)!;
    const [policy, direct] = policyOf(json);
    const outputs: Record<string, { value: unknown }> = { ingress_rules: { value: policy.spec.dynamic.ingress.for_each } };
    if (direct) {
      outputs.direct_count = { value: direct.count };
      outputs.direct_cidrs = { value: direct.spec.dynamic.ingress.for_each };
    }
    workspace.addStack(name, json, outputs);
  }
  REACH.forEach(([, stack, vars, expected], i) => workspace.addTestFile(`reach${i}`, [
    runBlock('reach', stack, { ...REQUIRED_VARS[stack], ...vars },
      `  assert {\n    condition = jsonencode(output.ingress_rules) == jsonencode(${hclMap(expected)})\n    error_message = "rules: \${jsonencode(output.ingress_rules)}"\n  }\n`),
  ]));
  const directAssert = (count: number, cidrs: string[]) =>
    `  assert {\n    condition = output.direct_count == ${count} && jsonencode(output.direct_cidrs) == jsonencode(toset(${hcl(cidrs)}))\n` +
    `    error_message = "direct: \${output.direct_count} \${jsonencode(output.direct_cidrs)}"\n  }\n`;
  workspace.addTestFile('direct-none', [runBlock('direct', 'claim', REQUIRED_VARS.claim, directAssert(0, []))]);
  workspace.addTestFile('direct-some', [runBlock('direct', 'claim',
    { ...REQUIRED_VARS.claim, allowed_client_cidrs: ['203.0.113.0/24', '2001:db8::/32'] }, directAssert(1, ['203.0.113.0/24', '2001:db8::/32']))]);
  const [, attach] = stacks.find(([stack]) => stack === 'gateway-attach')!;
  const peer = byPath(attach, 'kubernetes_network_policy_v1', 'network-policy/peer-pods').spec.ingress[0].from[0];
  workspace.addStack('gateway-attach', attach, {
    peer_namespace: { value: peer.namespace_selector.match_labels['kubernetes.io/metadata.name'] },
    peer_labels: { value: peer.pod_selector.match_labels },
  });
  GATEWAY_PEERS.forEach(([, vars, namespace, labels], i) => workspace.addTestFile(`gateway${i}`, [
    runBlock('peers', 'gateway-attach', vars,
      `  assert {\n    condition = output.peer_namespace == ${hcl(namespace)} && jsonencode(output.peer_labels) == jsonencode(${hclMap(labels)})\n` +
      `    error_message = "peers: \${output.peer_namespace} \${jsonencode(output.peer_labels)}"\n  }\n`),
  ]));
  workspace.addTestFile('wrong', [runBlock('wrong', 'dev', {},
    `  assert {\n    condition = contains(keys(output.ingress_rules), "${DEBUG_PORT}")\n    error_message = "metrics port closed"\n  }\n`)]);
  results = workspace.test();
});

afterAll(() => workspace?.remove());

function hclMap(map: Record<string, string[] | string>): string {
  return `{${Object.entries(map).map(([k, v]) => `${hcl(k)} = ${hcl(v)}`).join(', ')}}`;
}

describe('network policy', () => {
  test('every environment isolates the registry pods for ingress, selecting peers by namespace name', () => {
    for (const [, json] of stacks) {
      const policy = mainPolicy(json);
      const deployment = byPath(json, 'kubernetes_deployment_v1', 'registry/deployment');
      expect(policy.spec.policy_types).toEqual(['Ingress']);
      expect(policy.spec.pod_selector.match_labels).toEqual(deployment.spec.selector.match_labels);
      expect(policy.spec.dynamic.ingress.content).toEqual({
        from: [{ namespace_selector: { match_expressions: [{ key: NAMESPACE_NAME_LABEL, operator: 'In', values: '${each.value}' }] } }],
        ports: [{ port: '${each.key}', protocol: 'TCP' }],
      });
      // An ingress rule with no peers would admit every pod: rules without namespaces are dropped.
      expect(policy.spec.dynamic.ingress.for_each).toContain('if length(val) > 0');
    }
  });

  test.each(REACH.map(([title], i) => [title, i] as const))('%s', (_, i) => {
    expect(results.get(`reach${i}/reach`)).toEqual({ status: 'pass', diagnostics: [] });
  });

  test('without exposure, no client network is admitted by default (the second policy does not exist)', () => {
    expect(results.get('direct-none/direct')).toEqual({ status: 'pass', diagnostics: [] });
  });

  test('without exposure, allowed_client_cidrs admits those networks to the registry port only', () => {
    expect(results.get('direct-some/direct')).toEqual({ status: 'pass', diagnostics: [] });
    const [, json] = stacks.find(([name]) => name === 'claim')!;
    const direct = policyOf(json)[1];
    expect(direct.spec.dynamic.ingress.content).toEqual({
      from: [{ ip_block: [{ cidr: '${each.value}' }] }],
      ports: [{ port: String(REGISTRY_PORT), protocol: 'TCP' }],
    });
    expect(direct.spec.pod_selector).toEqual(policyOf(json)[0].spec.pod_selector);
  });

  test('behind an exposure there is no direct-client policy (the proxy is the client)', () => {
    const [, json] = stacks.find(([name]) => name === 'dev')!;
    expect(policyOf(json)).toHaveLength(1);
    expect(json.variable.allowed_client_cidrs).toBeUndefined();
  });

  test('a Gateway exposure admits its data-plane pods (namespace AND labels) to the registry port alone, in a policy of its own', () => {
    // Whether an environment is a Gateway one comes from its exposure setting, never its name: an operator's
    // `staging-gw` is one too.
    const settings = [...TEST_ENVIRONMENTS, environment('example-gateway', { name: 'staging-gw' })];
    const all: [string, Synthesized][] = [...stacks, ['staging-gw', synth(settings.at(-1)!).json]];
    for (const [name, json] of all) {
      const env = settings.find((e) => e.name === name)!;
      const gateway = env.exposure instanceof GatewayExposure;
      // With the pull-through cache, its own policy admits the same pods to the cache's port.
      const peerPolicies = policyOf(json).filter((p) => p.metadata.name.endsWith('-exposure'));
      expect({ name, peerPolicies: peerPolicies.length }).toEqual({ name, peerPolicies: gateway ? (env.mirror ? 2 : 1) : 0 });
      if (!gateway) continue;
      if (env.mirror) {
        const cachePeers = byPath(json, 'kubernetes_network_policy_v1', 'mirror/network-policy/peer-pods');
        expect(cachePeers.spec.ingress).toEqual([{ ...byPath(json, 'kubernetes_network_policy_v1', 'network-policy/peer-pods').spec.ingress[0] }]);
        expect(cachePeers.spec.pod_selector).toEqual(byPath(json, 'kubernetes_network_policy_v1', 'mirror/network-policy').spec.pod_selector);
      }
      const peers = byPath(json, 'kubernetes_network_policy_v1', 'network-policy/peer-pods');
      expect(peers.spec.pod_selector).toEqual(mainPolicy(json).spec.pod_selector);
      expect(peers.spec.ingress).toHaveLength(1);
      expect(peers.spec.ingress[0].ports).toEqual([{ port: String(REGISTRY_PORT), protocol: 'TCP' }]);
      expect(Object.keys(peers.spec.ingress[0].from[0]).sort()).toEqual(['namespace_selector', 'pod_selector']);
    }
  });

  test.each(GATEWAY_PEERS.map(([title], i) => [title, i] as const))('Gateway peers: %s', (_, i) => {
    expect(results.get(`gateway${i}/peers`)).toEqual({ status: 'pass', diagnostics: [] });
  });

  test('fails when the metrics port is expected open by default (the assertions can fail)', () => {
    expect(results.get('wrong/wrong')?.status).toBe('fail');
  });
});
