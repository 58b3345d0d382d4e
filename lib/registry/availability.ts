import { Construct } from 'constructs';
import { HorizontalPodAutoscalerV2 } from '@cdktf/provider-kubernetes/lib/horizontal-pod-autoscaler-v2';
import { PodDisruptionBudgetV1 } from '@cdktf/provider-kubernetes/lib/pod-disruption-budget-v1';
import type { RegistryContext } from '../context';
import { componentLabels } from '../labels';

export interface RegistryAutoscalingProps {
  /** Fewest pods (the `replicas` variable). */
  readonly minReplicas: number;
  /** Most pods. */
  readonly maxReplicas: number;
  /** Average CPU use, in percent of the container's CPU request, the autoscaler aims at. */
  readonly cpuPercent: number;
}

export interface RegistryAvailabilityProps {
  readonly namespace: string;
  /** Name of the registry Deployment (the budget and the autoscaler are named after it). */
  readonly name: string;
  /** Labels selecting the registry pods. */
  readonly podSelector: Record<string, string>;
  /**
   * Scale the Deployment with a HorizontalPodAutoscaler on CPU.
   * @default - no autoscaler: `replicas` pods
   */
  readonly autoscaling?: RegistryAutoscalingProps;
}

/**
 * Availability of several registry pods: a PodDisruptionBudget that lets a drain or a cluster upgrade evict one pod
 * at a time (maxUnavailable 1: with a single replica a drain still proceeds, where minAvailable 1 would block it
 * forever), and an optional HorizontalPodAutoscaler.
 */
export class RegistryAvailability extends Construct {
  public readonly disruptionBudget: PodDisruptionBudgetV1;
  public readonly autoscaler?: HorizontalPodAutoscalerV2;

  /** Availability of the registry's pods: the budget, and the autoscaler when the environment sets `autoscaling`. */
  static attach(context: RegistryContext): RegistryAvailability {
    const vars = context.variables;
    return new RegistryAvailability(context.scope, 'availability', {
      namespace: context.namespace,
      name: context.server.deployment.metadata.name,
      podSelector: context.server.selector,
      autoscaling: context.environment.autoscaling
        ? { minReplicas: vars.number('replicas'), maxReplicas: vars.number('max_replicas'), cpuPercent: vars.number('autoscaling_cpu_percent') }
        : undefined,
    });
  }

  constructor(scope: Construct, id: string, props: RegistryAvailabilityProps) {
    super(scope, id);
    const metadata = { name: props.name, namespace: props.namespace, labels: componentLabels('registry') };
    this.disruptionBudget = new PodDisruptionBudgetV1(this, 'disruption-budget', {
      metadata,
      spec: { maxUnavailable: '1', selector: { matchLabels: props.podSelector } },
    });
    if (props.autoscaling) {
      this.autoscaler = new HorizontalPodAutoscalerV2(this, 'autoscaler', {
        metadata,
        spec: {
          minReplicas: props.autoscaling.minReplicas,
          maxReplicas: props.autoscaling.maxReplicas,
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: props.name },
          metric: [{
            type: 'Resource',
            resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: props.autoscaling.cpuPercent } },
          }],
        },
      });
    }
  }
}
