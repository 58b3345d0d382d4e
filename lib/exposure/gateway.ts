/**
 * Gateway API exposure: a TLSRoute (gateway.networking.k8s.io/v1, TLS passthrough) from the registry's namespace to
 * its Service, attached to a Gateway that exists or to one this stack creates. The Gateway routes by SNI and passes
 * the TLS stream through; the registry keeps terminating TLS, so node trust, pull secrets and registry-check are
 * unchanged.
 *
 * How the objects reach the cluster (docs/gateway-api.md has the comparison): the kubernetes provider has no typed
 * Gateway API resources, and `kubernetes_manifest` needs the API server and the CRDs at plan time. Here a local Helm
 * chart (gateway-chart/, shipped as a cdktf asset inside the stack's directory) is installed by `helm_release`; its
 * templates only print the values, and the values are the objects, written below and evaluated by Terraform. A plan
 * needs neither the CRDs nor (for a first install) the cluster; Terraform Cloud receives the chart with the
 * configuration.
 */
import * as path from 'node:path';
import { Construct } from 'constructs';
import { conditional, FOR_EXPRESSION_VALUE, Fn, forExpression, Op, type TerraformAsset, Token } from 'cdktf';
import type { Release } from '@cdktf/provider-helm/lib/release';
import { selectorLabels } from '../labels';
import { localChartRelease } from '../local-chart';
import { NAMESPACE_NAME_LABEL } from '../network-policy';
import * as rules from '../rules';
import type { SettingCheck } from '../storage/strategy';
import type { StackVariables } from '../variables/stack-variables';
import { type ExposedVariable, type ExposureBindOptions, type ExposureBinding, ExposureStrategy, type ServiceTarget } from './strategy';

export const GATEWAY_API_GROUP = 'gateway.networking.k8s.io';
export const GATEWAY_API_VERSION = `${GATEWAY_API_GROUP}/v1`;
/** The chart the release installs (copied into the stack's directory as an asset on synth). */
export const GATEWAY_CHART_DIR = path.join(__dirname, 'gateway-chart');
/** The Helm release, in the registry's namespace (which this stack owns: one release name per namespace suffices). */
export const GATEWAY_RELEASE_NAME = 'registry-exposure';

/** Whether the stack only attaches its route to a Gateway or also creates the Gateway. */
export type GatewayMode =
  /** Route through a Gateway that exists; the stack never creates, changes or deletes it. */
  | 'attach'
  /** The stack creates the Gateway too (one TLS Passthrough listener per registry name) and deletes it on destroy. */
  | 'create';

export const GATEWAY_MODES: readonly GatewayMode[] = ['attach', 'create'];

interface GatewayTlsRouteCommonProps {
  /** The registry Service the route forwards to; the route lives in its namespace. */
  readonly target: ServiceTarget;
  /**
   * The names clients connect with (their SNI): the route's hostnames and, in create mode, one listener each. DNS
   * names, never IPs (may be a Terraform list).
   */
  readonly hostnames: string[];
  /** Name of the Gateway the route attaches to. */
  readonly gatewayName: string;
  /** Namespace of that Gateway. */
  readonly gatewayNamespace: string;
}

export interface GatewayAttachProps extends GatewayTlsRouteCommonProps {
  readonly mode: 'attach';
  /**
   * The listener of the existing Gateway to attach to. A Terraform expression that evaluates to "" means the same as
   * leaving it out.
   * @default - none: every listener of the Gateway whose port, protocol and hostname admit the route
   */
  readonly sectionName?: string;
}

export interface GatewayCreateProps extends GatewayTlsRouteCommonProps {
  readonly mode: 'create';
  /** The GatewayClass of the implementation that runs the Gateway (nginx, eg, istio, cilium, ...). */
  readonly gatewayClassName: string;
  /** Port of the listeners: the port clients connect to. */
  readonly listenerPort: number;
}

export type GatewayTlsRouteProps = GatewayAttachProps | GatewayCreateProps;

/** A non-empty string expression (cdktf renders a literal "" or 0 operand of `Op.*` as nothing: compare lengths). */
const isSet = (value: string) => Op.gte(Fn.lengthOf(value), 1);

/** Synth-time check of a prop that is a literal; Terraform expressions are judged by their variables' rules. */
function checkLiteral(field: string, value: unknown, fieldRules: readonly rules.Rule[]): void {
  const unresolved = Array.isArray(value) ? Token.isUnresolved(value) || value.some((x) => Token.isUnresolved(x)) : Token.isUnresolved(value);
  if (!unresolved) rules.check(`GatewayTlsRoute ${field}`, value, fieldRules);
}

/** The route's reference to its Gateway: name and namespace, and the listener when one is named. */
function parentRef(props: GatewayTlsRouteProps): Record<string, unknown> {
  const ref = { name: props.gatewayName, namespace: props.gatewayNamespace };
  if (props.mode === 'create' || props.sectionName === undefined) return ref;
  if (!Token.isUnresolved(props.sectionName)) return { ...ref, sectionName: props.sectionName };
  // A variable: the key is left out when it is empty (a null sectionName would reach Helm as `null`).
  return Fn.merge([ref, conditional(isSet(props.sectionName), { sectionName: props.sectionName }, {})]) as unknown as Record<string, unknown>;
}

/**
 * The registry's TLSRoute (and, in create mode, its Gateway) installed by a local Helm chart. The objects are public
 * attributes, as plain data with Terraform references in them: the chart prints `values` and nothing else.
 */
export class GatewayTlsRoute extends Construct {
  public readonly tlsRoute: Record<string, unknown>;
  /** The Gateway this stack creates (create mode only). */
  public readonly gateway?: Record<string, unknown>;
  /** The chart directory, copied into the stack's directory on synth. */
  public readonly chart: TerraformAsset;
  public readonly release: Release;
  /** A kubectl command that shows whether the Gateway accepted the route (and the created Gateway's address). */
  public readonly statusCommand: string;

  constructor(scope: Construct, id: string, props: GatewayTlsRouteProps) {
    super(scope, id);
    checkLiteral('hostnames', props.hostnames, [rules.nonEmptyList, rules.each(rules.domainName), rules.each(rules.notAnIpAddress), rules.uniqueList]);
    checkLiteral('gatewayName', props.gatewayName, [rules.dns1123Subdomain]);
    checkLiteral('gatewayNamespace', props.gatewayNamespace, [rules.dns1123Label]);
    if (props.mode === 'attach' && props.sectionName !== undefined) checkLiteral('sectionName', props.sectionName, [rules.dns1123Subdomain]);
    if (props.mode === 'create') {
      checkLiteral('gatewayClassName', props.gatewayClassName, [rules.dns1123Subdomain]);
      checkLiteral('listenerPort', props.listenerPort, [rules.tcpPort]);
    }

    const { namespace, serviceName, port } = props.target;
    const labels = selectorLabels(serviceName, 'exposure');
    this.tlsRoute = {
      apiVersion: GATEWAY_API_VERSION,
      kind: 'TLSRoute',
      metadata: { name: serviceName, namespace, labels },
      spec: {
        parentRefs: [parentRef(props)],
        hostnames: props.hostnames,
        // A Service in the route's own namespace: no ReferenceGrant needed.
        rules: [{ backendRefs: [{ name: serviceName, port }] }],
      },
    };
    const routeStatus = `kubectl -n ${namespace} get tlsroute ${serviceName} -o jsonpath='{range .status.parents[*]}` +
      `{.parentRef.namespace}/{.parentRef.name}{" "}{range .conditions[*]}{.type}={.status}({.reason}){" "}{end}{"\\n"}{end}'`;

    if (props.mode === 'create') {
      this.gateway = {
        apiVersion: GATEWAY_API_VERSION,
        kind: 'Gateway',
        metadata: { name: props.gatewayName, namespace: props.gatewayNamespace, labels },
        spec: {
          gatewayClassName: props.gatewayClassName,
          // One listener per name, named after it: SNI is checked at the listener too, and a name's listener keeps
          // its name when the list is reordered.
          listeners: forExpression(props.hostnames, {
            name: FOR_EXPRESSION_VALUE,
            hostname: FOR_EXPRESSION_VALUE,
            port: props.listenerPort,
            protocol: 'TLS',
            // Passthrough: the Gateway reads the SNI and forwards the TLS stream; it holds no certificate.
            tls: { mode: 'Passthrough' },
            allowedRoutes: {
              // Only TLSRoutes from the registry's namespace, selected by the name label the API server sets.
              namespaces: { from: 'Selector', selector: { matchLabels: { [NAMESPACE_NAME_LABEL]: namespace } } },
              kinds: [{ group: GATEWAY_API_GROUP, kind: 'TLSRoute' }],
            },
          }),
        },
      };
    }
    this.statusCommand = props.mode === 'create'
      ? `kubectl -n ${props.gatewayNamespace} get gateway ${props.gatewayName} && ${routeStatus}`
      : routeStatus;

    // Its own construct id: `exposure/release` is an ingress-nginx release's address (adopted ones are protected and
    // released from state by `removed` blocks); the Gateway's objects must never take that address over.
    ({ chart: this.chart, release: this.release } = localChartRelease(this, 'gateway-objects', {
      name: GATEWAY_RELEASE_NAME,
      namespace,
      chartDir: GATEWAY_CHART_DIR,
      values: this.gateway ? { tlsRoute: this.tlsRoute, gateway: this.gateway } : { tlsRoute: this.tlsRoute },
    }));
  }
}

export interface GatewayExposureOptions {
  /**
   * `attach`: route through a Gateway that exists (gateway_name, gateway_namespace, gateway_section_name; its
   * listener port is gateway_port). `create`: the stack creates the Gateway as well (gateway_class_name, one TLS
   * Passthrough listener per registry domain on gateway_port).
   */
  readonly mode: GatewayMode;
}

/** Gateway API TLS passthrough as an exposure strategy: reads its variables and builds `GatewayTlsRoute`. */
export class GatewayExposure extends ExposureStrategy {
  readonly kind: string;
  readonly mode: GatewayMode;

  constructor(options: GatewayExposureOptions) {
    super();
    this.mode = options.mode;
    this.kind = `gateway ${options.mode}`;
  }

  clientPort(variables: StackVariables): string {
    // Declared on first use: the number variable, rendered as its reference.
    variables.declare('gateway_port');
    return '${var.gateway_port}';
  }

  override validate(check: SettingCheck): void {
    check('exposure.mode', this.mode, [rules.oneOf(GATEWAY_MODES)]);
  }

  override addedRules(variable: ExposedVariable): readonly rules.Rule[] {
    if (variable === 'registry_ip_addresses') {
      return [rules.emptyList('a client that connects by IP sends no SNI, and a TLS passthrough Gateway routes by SNI only')];
    }
    return [
      rules.each(rules.notAnIpAddress),
      this.mode === 'create'
        ? rules.maxItems(64, 'the created Gateway has one listener per name, and a Gateway has at most 64')
        : rules.maxItems(1024, 'a TLSRoute has at most 1024 hostnames'),
    ];
  }

  bind(scope: Construct, { target, variables }: ExposureBindOptions): ExposureBinding {
    const common = {
      target,
      hostnames: variables.list('registry_domains'),
      gatewayName: variables.string('gateway_name'),
      gatewayNamespace: variables.string('gateway_namespace'),
    };
    const route = this.mode === 'attach'
      ? new GatewayTlsRoute(scope, 'exposure', { ...common, mode: 'attach', sectionName: variables.string('gateway_section_name') })
      : new GatewayTlsRoute(scope, 'exposure', {
        ...common, mode: 'create',
        gatewayClassName: variables.string('gateway_class_name'),
        listenerPort: variables.number('gateway_port'),
      });
    const proxyNamespace = variables.string('gateway_proxy_namespace');
    return {
      // The data plane's pods, not its whole namespace: a Gateway namespace is often shared infrastructure.
      peerPods: [{
        namespace: Token.asString(conditional(isSet(proxyNamespace), proxyNamespace, common.gatewayNamespace)),
        podLabels: variables.list('gateway_proxy_pod_labels'),
      }],
      statusCommand: route.statusCommand,
      addRoute: this.refuseRoutes(),
    };
  }
}
