/**
 * Gateway API with TLS terminated at the Gateway: the registry on the names clients already use, on 443, with the
 * certificate of an HTTPS listener (an existing one, or one this stack creates with cert-manager's Gateway
 * annotation). Objects: an HTTPRoute (`/v2` of the registry names to the registry Service), a BackendTLSPolicy, the
 * data plane's own policy objects that lift its upload limits, and in create mode the Gateway.
 *
 * The hop from the Gateway to the registry stays TLS (BackendTLSPolicy, gateway.networking.k8s.io/v1 in the
 * Standard channel since v1.4): the registry keeps its one TLS port, and every request carries a password (basic
 * auth), which plain HTTP would show to anyone who can capture traffic on the pod network. The Gateway checks the
 * registry's certificate against the registry's CA (a ConfigMap) or, for a public issuer, the system roots, for the
 * first registry name.
 *
 * Large pushes must not meet the data plane's defaults: Envoy Gateway times a request out after 15 s and an idle
 * stream after 5 min; NGINX Gateway Fabric refuses bodies over 1 MiB and waits 60 s between body reads. The policy
 * objects for the supported data planes (`dataPlane`) lift them; others are not supported (README).
 *
 * Like the TLSRoute exposure, the objects go in through a local Helm chart whose template prints the values
 * (lib/local-chart.ts): a plan needs neither the CRDs nor the cluster.
 */
import * as path from 'node:path';
import { Construct } from 'constructs';
import { conditional, FOR_EXPRESSION_VALUE, Fn, forExpression, type IResolvable, Op, type TerraformAsset, Token } from 'cdktf';
import type { Release } from '@cdktf/provider-helm/lib/release';
import { ConfigMapV1 } from '@cdktf/provider-kubernetes/lib/config-map-v1';
import { componentLabels, selectorLabels } from '../labels';
import { localChartRelease } from '../local-chart';
import { NAMESPACE_NAME_LABEL } from '../network-policy';
import { GATEWAY_API_GROUP, GATEWAY_API_VERSION, checkLiteral as checkGatewayLiteral, parentRefTo } from './gateway-common';
import * as rules from '../rules';
import type { ServiceTarget } from './strategy';

export const GATEWAY_HTTPS_CHART_DIR = path.join(__dirname, 'gateway-https-chart');
/** Its own release name: a change between passthrough and https installs one release and removes the other. */
export const GATEWAY_HTTPS_RELEASE_NAME = 'registry-exposure-https';

/** Data planes whose upload limits the stack lifts with their own policy objects. */
export type GatewayDataPlane = 'envoy-gateway' | 'nginx-gateway-fabric';
export const GATEWAY_DATA_PLANES: readonly GatewayDataPlane[] = ['envoy-gateway', 'nginx-gateway-fabric'];
export const ENVOY_GATEWAY_API_VERSION = 'gateway.envoyproxy.io/v1alpha1';
export const NGINX_GATEWAY_FABRIC_API_VERSION = 'gateway.nginx.org/v1alpha1';

/** The registry API: the only path the front door routes. */
export const REGISTRY_API_PATH = '/v2';

/**
 * Limits for uploads through the data plane. No body size limit; no timeout on a whole request (a multi-GiB layer
 * takes as long as the link needs); a transfer that stalls is cut after these times without a byte.
 */
export const UPLOAD_LIMITS = {
  /** Longest pause between two reads of a request body (NGF `client_body_timeout`). */
  bodyTimeout: '10m',
  /** Longest time a stream may carry no byte either way (Envoy `stream_idle_timeout`; the registry may finish a large blob in silence). */
  streamIdleTimeout: '1h',
} as const;

interface GatewayHttpsCommonProps {
  /** The registry Service; the route and policies live in its namespace. */
  readonly target: ServiceTarget;
  /** Names clients use (the route's hostnames; in create mode one listener each). May be a Terraform list. */
  readonly hostnames: string[];
  readonly gatewayName: string;
  readonly gatewayNamespace: string;
  /** The data plane whose policy objects are written. */
  readonly dataPlane: GatewayDataPlane;
  /** The registry's TLS, as the Gateway checks it: the CA PEM and whether it is set (else the system roots). */
  readonly backendCa: { readonly pem: string; readonly isSet: boolean | IResolvable };
}

export interface GatewayHttpsAttachProps extends GatewayHttpsCommonProps {
  readonly mode: 'attach';
  /**
   * The HTTPS listener of the existing Gateway. A Terraform expression that evaluates to "" means the same as
   * leaving it out.
   * @default - none: every listener whose port, protocol and hostname admit the route
   */
  readonly sectionName?: string;
}

export interface GatewayHttpsCreateProps extends GatewayHttpsCommonProps {
  readonly mode: 'create';
  readonly gatewayClassName: string;
  /** Port of the HTTPS listeners (443). */
  readonly listenerPort: number;
  /** cert-manager issuer of the listeners' certificate (the Gateway's annotation). */
  readonly issuerName: string;
  /** `Issuer` (then in the Gateway's namespace) or `ClusterIssuer`. */
  readonly issuerKind: string;
}

export type GatewayHttpsRouteProps = GatewayHttpsAttachProps | GatewayHttpsCreateProps;

const checkLiteral = (field: string, value: unknown, fieldRules: readonly rules.Rule[]) => checkGatewayLiteral('GatewayHttpsRoute', field, value, fieldRules);

/** One of two objects, picked by Terraform (objects of different shapes cannot be a conditional's two results). */
function either(condition: unknown, whenTrue: Record<string, unknown>, whenFalse: Record<string, unknown>): Record<string, unknown> {
  return Fn.jsondecode(Token.asString(conditional(condition, Fn.jsonencode(whenTrue), Fn.jsonencode(whenFalse)))) as Record<string, unknown>;
}

/** The registry's HTTPRoute, BackendTLSPolicy and the data plane's policies (and the created Gateway), in one chart. */
export class GatewayHttpsRoute extends Construct {
  public readonly chart: TerraformAsset;
  public readonly release: Release;
  /** The registry's CA for the BackendTLSPolicy (absent, by count, when the CA PEM is ""). */
  public readonly caConfigMap: ConfigMapV1;
  /** A kubectl command that shows whether the Gateway accepted the route. */
  public readonly statusCommand: string;

  constructor(scope: Construct, id: string, private readonly props: GatewayHttpsRouteProps) {
    super(scope, id);
    checkLiteral('hostnames', props.hostnames, [rules.nonEmptyList, rules.each(rules.domainName), rules.each(rules.notAnIpAddress), rules.uniqueList]);
    checkLiteral('gatewayName', props.gatewayName, [rules.dns1123Subdomain]);
    checkLiteral('gatewayNamespace', props.gatewayNamespace, [rules.dns1123Label]);
    checkLiteral('dataPlane', props.dataPlane, [rules.oneOf(GATEWAY_DATA_PLANES)]);
    if (props.mode === 'attach' && props.sectionName !== undefined) checkLiteral('sectionName', props.sectionName, [rules.dns1123Subdomain]);
    if (props.mode === 'create') {
      checkLiteral('gatewayClassName', props.gatewayClassName, [rules.dns1123Subdomain]);
      checkLiteral('listenerPort', props.listenerPort, [rules.tcpPort]);
    }
    const { namespace, serviceName } = props.target;
    this.caConfigMap = new ConfigMapV1(this, 'backend-ca', {
      count: typeof props.backendCa.isSet === 'boolean' ? Number(props.backendCa.isSet) : Token.asNumber(conditional(props.backendCa.isSet, 1, 0)),
      metadata: { name: this.caConfigMapName, namespace, labels: componentLabels('exposure') },
      data: { 'ca.crt': props.backendCa.pem },
    });
    const routeStatus = `kubectl -n ${namespace} get httproute ${serviceName} -o jsonpath='{range .status.parents[*]}` +
      `{.parentRef.namespace}/{.parentRef.name}{" "}{range .conditions[*]}{.type}={.status}({.reason}){" "}{end}{"\\n"}{end}'`;
    this.statusCommand = props.mode === 'create' ? `kubectl -n ${props.gatewayNamespace} get gateway ${props.gatewayName} && ${routeStatus}` : routeStatus;
    ({ chart: this.chart, release: this.release } = localChartRelease(this, 'gateway-https-objects', {
      name: GATEWAY_HTTPS_RELEASE_NAME,
      namespace,
      chartDir: GATEWAY_HTTPS_CHART_DIR,
      values: { objects: this.objects },
    }));
  }

  /** `<service>-ca`: the registry's CA, as the BackendTLSPolicy names it. */
  private get caConfigMapName(): string {
    return Fn.format('%s-ca', [this.props.target.serviceName]);
  }

  /** Every object the chart prints, in order. */
  get objects(): Record<string, unknown>[] {
    return [...(this.gateway ? [this.gateway] : []), this.httpRoute, this.backendTlsPolicy, ...this.dataPlanePolicies];
  }

  private metadata(name: string, namespace = this.props.target.namespace): Record<string, unknown> {
    return { name, namespace, labels: selectorLabels(this.props.target.serviceName, 'exposure') };
  }

  /** `/v2` of the registry names to the registry Service, on the HTTPS listener(s). One rule: see the NGF note in docs. */
  get httpRoute(): Record<string, unknown> {
    const props = this.props;
    const parentRef = parentRefTo({ name: props.gatewayName, namespace: props.gatewayNamespace }, props.mode === 'attach' ? props.sectionName : undefined);
    return {
      apiVersion: GATEWAY_API_VERSION,
      kind: 'HTTPRoute',
      metadata: this.metadata(props.target.serviceName),
      spec: {
        parentRefs: [parentRef],
        hostnames: props.hostnames,
        rules: [{
          matches: [{ path: { type: 'PathPrefix', value: REGISTRY_API_PATH } }],
          // A Service in the route's own namespace: no ReferenceGrant needed.
          backendRefs: [{ name: props.target.serviceName, port: props.target.port }],
        }],
      },
    };
  }

  /** The Gateway speaks TLS to the registry and checks its certificate for the first registry name. */
  get backendTlsPolicy(): Record<string, unknown> {
    const { target, backendCa, hostnames } = this.props;
    const hostname = Fn.element(hostnames, 0);
    const byCa = { hostname, caCertificateRefs: [{ group: '', kind: 'ConfigMap', name: this.caConfigMapName }] };
    const bySystem = { hostname, wellKnownCACertificates: 'System' };
    return {
      apiVersion: GATEWAY_API_VERSION,
      kind: 'BackendTLSPolicy',
      metadata: this.metadata(target.serviceName),
      spec: {
        targetRefs: [{ group: '', kind: 'Service', name: target.serviceName }],
        validation: typeof backendCa.isSet === 'boolean' ? (backendCa.isSet ? byCa : bySystem) : either(backendCa.isSet, byCa, bySystem),
      },
    };
  }

  /** The data plane's own objects that lift its upload limits (on the route; on the created Gateway for Envoy's listener). */
  get dataPlanePolicies(): Record<string, unknown>[] {
    const props = this.props;
    const routeRef = { group: GATEWAY_API_GROUP, kind: 'HTTPRoute', name: props.target.serviceName };
    if (props.dataPlane === 'nginx-gateway-fabric') {
      return [{
        apiVersion: NGINX_GATEWAY_FABRIC_API_VERSION,
        kind: 'ClientSettingsPolicy',
        metadata: this.metadata(props.target.serviceName),
        // client_max_body_size 0 (no limit; default 1m) and client_body_timeout (default 60s).
        spec: { targetRef: routeRef, body: { maxSize: '0', timeout: UPLOAD_LIMITS.bodyTimeout } },
      }];
    }
    const backendTraffic = {
      apiVersion: ENVOY_GATEWAY_API_VERSION,
      kind: 'BackendTrafficPolicy',
      metadata: this.metadata(props.target.serviceName),
      // The route's request timeout (15 s by default) off; the route's stream idle timeout overrides the listener's 5 min.
      spec: { targetRefs: [routeRef], timeout: { http: { requestTimeout: '0s', streamIdleTimeout: UPLOAD_LIMITS.streamIdleTimeout } } },
    };
    if (props.mode !== 'create') return [backendTraffic];
    return [backendTraffic, {
      apiVersion: ENVOY_GATEWAY_API_VERSION,
      kind: 'ClientTrafficPolicy',
      metadata: this.metadata(props.gatewayName, props.gatewayNamespace),
      // The created Gateway's listeners: the same stream idle timeout for the client side.
      spec: {
        targetRefs: [{ group: GATEWAY_API_GROUP, kind: 'Gateway', name: props.gatewayName }],
        timeout: { http: { streamIdleTimeout: UPLOAD_LIMITS.streamIdleTimeout } },
      },
    }];
  }

  /** Create mode: the Gateway, one HTTPS listener per name, its certificate made by cert-manager's gateway-shim. */
  get gateway(): Record<string, unknown> | undefined {
    const props = this.props;
    if (props.mode !== 'create') return undefined;
    const issuerAnnotation = Token.isUnresolved(props.issuerKind)
      ? Token.asString(conditional(Op.eq(props.issuerKind, 'ClusterIssuer'), 'cert-manager.io/cluster-issuer', 'cert-manager.io/issuer'))
      : props.issuerKind === 'ClusterIssuer' ? 'cert-manager.io/cluster-issuer' : 'cert-manager.io/issuer';
    return {
      apiVersion: GATEWAY_API_VERSION,
      kind: 'Gateway',
      metadata: {
        ...this.metadata(props.gatewayName, props.gatewayNamespace),
        annotations: Fn.zipmap([issuerAnnotation], [props.issuerName]),
      },
      spec: {
        gatewayClassName: props.gatewayClassName,
        listeners: forExpression(props.hostnames, {
          name: FOR_EXPRESSION_VALUE,
          hostname: FOR_EXPRESSION_VALUE,
          port: props.listenerPort,
          protocol: 'HTTPS',
          tls: {
            mode: 'Terminate',
            // One Secret for every listener: cert-manager makes one Certificate with all their names.
            certificateRefs: [{ group: '', kind: 'Secret', name: Fn.format('%s-registry-tls', [props.gatewayName]) }],
          },
          allowedRoutes: {
            namespaces: { from: 'Selector', selector: { matchLabels: { [NAMESPACE_NAME_LABEL]: props.target.namespace } } },
            kinds: [{ group: GATEWAY_API_GROUP, kind: 'HTTPRoute' }],
          },
        }),
      },
    };
  }
}
