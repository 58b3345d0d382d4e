/**
 * A local Helm chart whose templates print its values, shipped as a cdktf asset and installed by `helm_release`: how
 * the stack creates custom resources (Gateway API, prometheus-operator) so a plan needs neither their CRDs nor the
 * cluster. The objects are the values, evaluated by Terraform first.
 */
import { Construct } from 'constructs';
import { AssetType, Fn, Lazy, TerraformAsset } from 'cdktf';
import { Release } from '@cdktf/provider-helm/lib/release';

export interface LocalChartReleaseProps {
  readonly name: string;
  readonly namespace: string;
  /** The chart directory, copied into the stack's directory on synth. */
  readonly chartDir: string;
  /** The chart's values: the objects it prints; a function is called when the stack is synthesized. */
  readonly values: Record<string, unknown> | (() => Record<string, unknown>);
}

/**
 * The chart asset (construct id `chart`) and its release (`releaseId`) in `scope`; both ids are addresses in state.
 * The release waits for the objects and rolls back a failed install (atomic, 300 s).
 */
export function localChartRelease(scope: Construct, releaseId: string, props: LocalChartReleaseProps): { chart: TerraformAsset; release: Release } {
  const chart = new TerraformAsset(scope, 'chart', { path: props.chartDir, type: AssetType.DIRECTORY });
  const release = new Release(scope, releaseId, {
    name: props.name,
    namespace: props.namespace,
    chart: chart.path,
    // JSON is YAML: Helm reads this as the values. Terraform evaluates the references (names, lists, ports) first.
    values: [typeof props.values === 'function'
      ? Lazy.stringValue({ produce: () => Fn.jsonencode((props.values as () => Record<string, unknown>)()) })
      : Fn.jsonencode(props.values)],
    atomic: true,
    cleanupOnFail: true,
    wait: true,
    timeout: 300,
  });
  return { chart, release };
}
