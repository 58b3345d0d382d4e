import { Construct } from 'constructs';
import { TerraformStack, Token } from 'cdktf';
import { stringify } from 'yaml';
import { Release } from '@cdktf/provider-helm/lib/release';
import { ConfigMapV1Data } from '@cdktf/provider-kubernetes/lib/config-map-v1-data';
import type { ExposureMode } from '../environments';

export const INGRESS_NGINX_REPOSITORY = 'https://kubernetes.github.io/ingress-nginx';

/** The in-cluster Service the TCP route forwards to. */
export interface TcpTarget {
  readonly namespace: string;
  readonly serviceName: string;
  readonly port: number;
}

export interface IngressNginxTcpProps {
  readonly mode: Exclude<ExposureMode, 'none'>;
  /** Port clients connect to on the controller (must not be one ingress-nginx reserves). */
  readonly externalPort: number;
  readonly target: TcpTarget;
  /** Namespace of the controller. */
  readonly controllerNamespace: string;
  /** `install`/`adopt`: the Helm release name. */
  readonly releaseName: string;
  /** `install`/`adopt`: chart version (exact). */
  readonly chartVersion: string;
  /** `configmap-only`: the ConfigMap named by the controller's `--tcp-services-configmap` flag. */
  readonly tcpConfigMapName: string;
}

/** `"<ns>/<svc>:<port>"`, the form ingress-nginx reads from its tcp-services map. */
export function tcpRoute(target: TcpTarget): string {
  return `${target.namespace}/${target.serviceName}:${Token.asString(target.port)}`;
}

/**
 * Chart values routing the external port to the registry. ingress-nginx's chart turns `tcp` into its tcp-services
 * ConfigMap, the controller flag, a container port and a port on the controller Service. Keys are quoted so the
 * port stays a string key whatever YAML reader the chart's renderer uses.
 */
export function tcpValues(externalPort: number, target: TcpTarget): string {
  return stringify(
    { tcp: { [Token.asString(externalPort)]: tcpRoute(target) } },
    { defaultKeyType: 'QUOTE_DOUBLE', defaultStringType: 'QUOTE_DOUBLE', lineWidth: 0 },
  );
}

/**
 * L4 exposure through ingress-nginx's TCP services. The controller passes bytes through: the registry terminates
 * TLS itself, so there is no body-size limit and no second certificate.
 */
export class IngressNginxTcp extends Construct {
  public readonly release?: Release;
  public readonly tcpConfigMap?: ConfigMapV1Data;
  /** What the operator must still do by hand, if anything (configmap-only mode). */
  public readonly manualSteps?: string;

  constructor(scope: Construct, id: string, props: IngressNginxTcpProps) {
    super(scope, id);
    if (props.mode === 'configmap-only') {
      this.tcpConfigMap = new ConfigMapV1Data(this, 'tcp-services', {
        metadata: { name: props.tcpConfigMapName, namespace: props.controllerNamespace },
        data: { [Token.asString(props.externalPort)]: tcpRoute(props.target) },
        // Only our key is managed; other routes in the map are left alone.
        fieldManager: 'private-registry-stack',
        force: true,
      });
      this.manualSteps =
        `Add --tcp-services-configmap=${props.controllerNamespace}/${props.tcpConfigMapName} to the controller's args ` +
        `and port ${Token.asString(props.externalPort)}/TCP to its container ports and Service.`;
      return;
    }
    this.release = new Release(this, 'release', {
      name: props.releaseName,
      namespace: props.controllerNamespace,
      repository: INGRESS_NGINX_REPOSITORY,
      chart: 'ingress-nginx',
      version: props.chartVersion,
      createNamespace: props.mode === 'install',
      values: [tcpValues(props.externalPort, props.target)],
      // adopt: keep every value the release already had and merge ours on top.
      reuseValues: props.mode === 'adopt',
      atomic: true,
      cleanupOnFail: true,
      wait: true,
      timeout: 600,
    });
    if (props.mode === 'adopt') {
      // The same import block release.importFrom() writes, without the check it adds: that one spawns `terraform
      // version` on every synth (~0.2 s, a third of it) to require Terraform >= 1.5, and this stack's cross-variable
      // validations already need 1.9, which Terraform itself enforces at plan time.
      TerraformStack.of(this).addOverride('import', [{
        id: `${props.controllerNamespace}/${props.releaseName}`,
        to: `${this.release.terraformResourceType}.${this.release.friendlyUniqueId}`,
      }]);
    }
  }
}
