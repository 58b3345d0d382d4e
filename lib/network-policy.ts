import { Construct } from 'constructs';
import { FOR_EXPRESSION_VALUE, Fn, forExpression, TerraformIterator, Token } from 'cdktf';
import { NetworkPolicyV1 } from '@cdktf/provider-kubernetes/lib/network-policy-v1';
import { NON_EMPTY_VALUES, oneIfAny } from './hcl';
import { componentLabels } from './labels';

/** The label the API server sets on every namespace (Kubernetes >= 1.22): its name, not spoofable by tenants. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** Pods selected by namespace and labels: a proxy that is one workload among others in its namespace. */
export interface PodPeer {
  /** Namespace of the pods (may be a Terraform expression). */
  readonly namespace: string;
  /** Labels the pods carry, as `key=value` terms (may be a Terraform list variable); empty: every pod there. */
  readonly podLabels: string[];
}

/** `["k=v", ...]` as the map `{ k = v }` (a Terraform for expression, so the list may be a variable). */
export function labelTermsToMap(terms: string[]): Record<string, string> {
  const part = (index: number) => Fn.element(Fn.split('=', Token.asString(FOR_EXPRESSION_VALUE)), index);
  return Token.asStringMap(forExpression(terms, part(1), part(0)));
}

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
  /**
   * Pods of the proxies that forward client connections to the registry port, by namespace and labels: a second
   * policy (`<name>-exposure`) admits them; policies add up, so the first one is unchanged.
   * @default - none
   */
  readonly peerPods?: PodPeer[];
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

/** Another workload served like the registry (a feature's: the pull-through cache), for `protect()`. */
export interface ProtectedWorkload {
  /** Name of its policy. */
  readonly name: string;
  /** Labels selecting its pods. */
  readonly podSelector: Record<string, string>;
  /** The port clients use. */
  readonly registryPort: number;
  /** Its metrics/debug port. */
  readonly metricsPort: number;
}

/**
 * Ingress isolation for the registry pods: the registry port only from the exposure's proxies (the ingress
 * controller's namespace, or a Gateway's data-plane pods by namespace and labels) and the namespaces the operator
 * lists, the metrics/debug port (which also serves pprof and expvar) only from the monitoring namespace. Anything
 * else, including other pods in the registry's own namespace, is refused.
 *
 * A rule whose namespace list is empty is left out entirely: an ingress rule without peers would admit everyone.
 * Kubelet probes come from the node and are not subject to NetworkPolicy.
 */
export class RegistryNetworkPolicy extends Construct {
  public readonly policy: NetworkPolicyV1;
  /** Admits `clientCidrs` to the registry port; exists only while the list is not empty. */
  public readonly directClients?: NetworkPolicyV1;
  /** The policy admitting `peerPods` to the registry port (absent without them). */
  public readonly peerPodsPolicy?: NetworkPolicyV1;

  constructor(scope: Construct, id: string, private readonly props: RegistryNetworkPolicyProps) {
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
    if (props.peerPods && props.peerPods.length > 0) {
      // Both selectors in one peer: pods with these labels in that namespace (not either of them).
      this.peerPodsPolicy = new NetworkPolicyV1(this, 'peer-pods', {
        metadata: { name: `${props.name}-exposure`, namespace: props.namespace, labels: componentLabels('exposure') },
        spec: {
          podSelector: { matchLabels: props.podSelector },
          policyTypes: ['Ingress'],
          ingress: [{
            from: props.peerPods.map((peer) => ({
              namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: peer.namespace } },
              podSelector: { matchLabels: labelTermsToMap(peer.podLabels) },
            })),
            ports: [{ port: String(props.registryPort), protocol: 'TCP' }],
          }],
        },
      });
    }
  }

  /**
   * Isolates another workload in the registry's namespace the same way: its own policy (in `scope`, under `id`)
   * admitting the same proxies, client namespaces, networks and monitoring namespace to its ports.
   */
  protect(scope: Construct, id: string, workload: ProtectedWorkload): RegistryNetworkPolicy {
    const { peerNamespaces, peerPods, allowedClientNamespaces, monitoringNamespace, clientCidrs } = this.props;
    return new RegistryNetworkPolicy(scope, id, {
      namespace: this.props.namespace, ...workload, peerNamespaces, peerPods, allowedClientNamespaces, monitoringNamespace, clientCidrs,
    });
  }
}
