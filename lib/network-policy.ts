import { Construct } from 'constructs';
import { Fn, TerraformIterator, Token } from 'cdktf';
import { NetworkPolicyV1 } from '@cdktf/provider-kubernetes/lib/network-policy-v1';
import { NON_EMPTY_VALUES, oneIfAny } from './hcl';
import { componentLabels } from './labels';

/** The label the API server sets on every namespace (Kubernetes >= 1.22): its name, not spoofable by tenants. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

export interface RegistryNetworkPolicyProps {
  readonly namespace: string;
  /** Name of the policy (the registry's app name). */
  readonly name: string;
  /** Labels selecting the registry pods. */
  readonly podSelector: Record<string, string>;
  readonly registryPort: number;
  readonly metricsPort: number;
  /**
   * Namespaces of the proxies that forward client connections to the registry port (the exposure's).
   * @default - none: the registry is not exposed through a proxy
   */
  readonly peerNamespaces?: string[];
  /** More namespaces whose pods may use the registry port (may be a Terraform list variable). */
  readonly allowedClientNamespaces: string[];
  /** Namespace whose pods may scrape the metrics port; empty: nobody (may be a Terraform variable). */
  readonly monitoringNamespace: string;
  /**
   * Source networks (CIDR) that reach the registry port directly, without a proxy (a LoadBalancer or NodePort
   * Service). A second policy admits them; policies add up.
   * @default - none (no second policy)
   */
  readonly clientCidrs?: string[];
}

/**
 * Ingress isolation for the registry pods: the registry port only from the ingress controller's namespace and
 * the namespaces the operator lists, the metrics/debug port (which also serves pprof and expvar) only from the
 * monitoring namespace. Anything else, including other pods in the registry's own namespace, is refused.
 *
 * A rule whose namespace list is empty is left out entirely: an ingress rule without peers would admit everyone.
 * Kubelet probes come from the node and are not subject to NetworkPolicy.
 */
export class RegistryNetworkPolicy extends Construct {
  public readonly policy: NetworkPolicyV1;
  /** Admits `clientCidrs` to the registry port; exists only while the list is not empty. */
  public readonly directClients?: NetworkPolicyV1;

  constructor(scope: Construct, id: string, props: RegistryNetworkPolicyProps) {
    super(scope, id);
    const registryClients = props.peerNamespaces === undefined
      ? props.allowedClientNamespaces
      : Fn.distinct(Fn.concat([props.peerNamespaces, props.allowedClientNamespaces]));
    // Port -> namespaces allowed to reach it, keeping only ports someone may reach.
    const candidates = TerraformIterator.fromMap(Fn.zipmap(
      [String(props.registryPort), String(props.metricsPort)],
      [registryClients, Fn.compact([props.monitoringNamespace])],
    ));
    const rules = TerraformIterator.fromMap(candidates.forExpressionForMap('key', NON_EMPTY_VALUES));

    this.policy = new NetworkPolicyV1(this, 'policy', {
      metadata: { name: props.name, namespace: props.namespace, labels: componentLabels('registry') },
      spec: {
        podSelector: { matchLabels: props.podSelector },
        policyTypes: ['Ingress'],
        // Dynamic block content is written as Terraform JSON: nested block names in snake_case.
        ingress: rules.dynamic({
          from: [
            {
              namespace_selector: {
                match_expressions: [{ key: NAMESPACE_NAME_LABEL, operator: 'In', values: rules.value }],
              },
            },
          ],
          ports: [{ port: rules.key, protocol: 'TCP' }],
        }),
      },
    });

    if (props.clientCidrs) {
      const cidrs = TerraformIterator.fromList(props.clientCidrs);
      this.directClients = new NetworkPolicyV1(this, 'direct-clients', {
        count: Token.asNumber(oneIfAny(Token.asString(props.clientCidrs))),
        metadata: { name: `${props.name}-direct-clients`, namespace: props.namespace, labels: componentLabels('registry') },
        spec: {
          podSelector: { matchLabels: props.podSelector },
          policyTypes: ['Ingress'],
          // One rule per network (a nested dynamic block cannot be written): rules add up like peers do.
          ingress: cidrs.dynamic({
            from: [{ ip_block: [{ cidr: cidrs.value }] }],
            ports: [{ port: String(props.registryPort), protocol: 'TCP' }],
          }),
        },
      });
    }
  }
}
