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
 *
 * `route: 'https'` builds the other Gateway exposure instead: an HTTPRoute on HTTPS listeners (gateway-https.ts).
 */
import * as path from 'node:path';
import { Construct } from 'constructs';
import { conditional, FOR_EXPRESSION_VALUE, Fn, forExpression, type TerraformAsset, Token } from 'cdktf';
import type { Release } from '@cdktf/provider-helm/lib/release';
import { selectorLabels } from '../labels';
import { localChartRelease } from '../local-chart';
import { NAMESPACE_NAME_LABEL } from '../network-policy';
import * as rules from '../rules';
import type { SettingCheck } from '../storage/strategy';
import type { StackVariables } from '../variables/stack-variables';
import {
  type ExposedVariable, type ExposedVariableContext, type ExposureBindOptions, type ExposureBinding, type ExposureRoute, ExposureStrategy,
  type ServiceTarget,
} from './strategy';
import { GATEWAY_API_GROUP, GATEWAY_API_VERSION, checkLiteral as checkGatewayLiteral, isSet, parentRefTo } from './gateway-common';
import { GATEWAY_DATA_PLANES, type GatewayDataPlane, GatewayHttpsRoute } from './gateway-https';

export { GATEWAY_API_GROUP, GATEWAY_API_VERSION } from './gateway-common';
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

const checkLiteral = (field: string, value: unknown, fieldRules: readonly rules.Rule[]) => checkGatewayLiteral('GatewayTlsRoute', field, value, fieldRules);

/** The route's reference to its Gateway: name and namespace, and the listener when one is named. */
function parentRef(props: GatewayTlsRouteCommonProps, sectionName: string | undefined): Record<string, unknown> {
  return parentRefTo({ name: props.gatewayName, namespace: props.gatewayNamespace }, sectionName);
}

/**
 * Name of the created Gateway's listener for `hostname` on a further route's port: `<hostname>.<port>`. It can never be
 * a registry listener's name (a registry name never ends in an all-digit label: `notAnIpAddress`), and it stays put
 * when the names are reordered.
 */
export function routeListenerName(hostname: string, port: number): string {
  return Fn.format('%s.%d', [hostname, port]);
}

/** A further port on the registry's names to another Service (`addRoute`), and, in attach mode, its listener. */
export interface GatewayAdditionalRoute extends ExposureRoute {
  /**
   * Attach mode: the listener of the existing Gateway on `externalPort` the route attaches to (required there: the
   * registry's route is pinned to its own listener the same way). Create mode: ignored, the stack names the listeners.
   */
  readonly sectionName?: string;
}

/**
 * The registry's TLSRoute (and, in create mode, its Gateway) installed by a local Helm chart, and one more TLSRoute per
 * further port (`addRoute`: the pull-through cache) on the same names. The objects are public attributes, as plain
 * data with Terraform references in them: the chart prints `values` and nothing else. The values are produced when the
 * stack is synthesized, so a route added after construction is in them.
 *
 * With further routes every route is pinned to its own listeners (`parentRefs[].sectionName`, Core): a route without
 * a sectionName attaches to every listener that admits it, and two routes with the same hostnames on one listener
 * clash. In create mode the Gateway then has one listener per name and port (so at most 32 names: 64 listeners).
 */
export class GatewayTlsRoute extends Construct {
  /** The chart directory, copied into the stack's directory on synth. */
  public readonly chart: TerraformAsset;
  public readonly release: Release;
  /** A kubectl command that shows whether the Gateway accepted the route (and the created Gateway's address). */
  public readonly statusCommand: string;
  /** Further ports on the registry's names, in the order they were added (read at synth). */
  private readonly routes: GatewayAdditionalRoute[] = [];

  constructor(scope: Construct, id: string, private readonly props: GatewayTlsRouteProps) {
    super(scope, id);
    checkLiteral('hostnames', props.hostnames, [rules.nonEmptyList, rules.each(rules.domainName), rules.each(rules.notAnIpAddress), rules.uniqueList]);
    checkLiteral('gatewayName', props.gatewayName, [rules.dns1123Subdomain]);
    checkLiteral('gatewayNamespace', props.gatewayNamespace, [rules.dns1123Label]);
    if (props.mode === 'attach' && props.sectionName !== undefined) checkLiteral('sectionName', props.sectionName, [rules.dns1123Subdomain]);
    if (props.mode === 'create') {
      checkLiteral('gatewayClassName', props.gatewayClassName, [rules.dns1123Subdomain]);
      checkLiteral('listenerPort', props.listenerPort, [rules.tcpPort]);
    }

    const { namespace, serviceName } = props.target;
    const routeStatus = `kubectl -n ${namespace} get tlsroute ${serviceName} -o jsonpath='{range .status.parents[*]}` +
      `{.parentRef.namespace}/{.parentRef.name}{" "}{range .conditions[*]}{.type}={.status}({.reason}){" "}{end}{"\\n"}{end}'`;
    this.statusCommand = props.mode === 'create'
      ? `kubectl -n ${props.gatewayNamespace} get gateway ${props.gatewayName} && ${routeStatus}`
      : routeStatus;

    // Its own construct id: `exposure/release` is an ingress-nginx release's address (adopted ones are protected and
    // released from state by `removed` blocks); the Gateway's objects must never take that address over.
    ({ chart: this.chart, release: this.release } = localChartRelease(this, 'gateway-objects', {
      name: GATEWAY_RELEASE_NAME,
      namespace,
      chartDir: GATEWAY_CHART_DIR,
      // Read at synth: a route added after construction (the cache's) is in them.
      values: () => this.values(),
    }));
  }

  /** The registry's TLSRoute (as it stands: further routes pin it to its own listeners). */
  get tlsRoute(): Record<string, unknown> {
    const props = this.props;
    return this.routeObject(props.target, props.mode === 'attach' ? [parentRef(props, props.sectionName)] : this.createdParentRefs(props.listenerPort));
  }

  /** The Gateway this stack creates (create mode only): one listener per name on each routed port. */
  get gateway(): Record<string, unknown> | undefined {
    const props = this.props;
    if (props.mode !== 'create') return undefined;
    const listeners = [this.listeners(props, props.listenerPort), ...this.routes.map((r) => this.listeners(props, r.externalPort, true))];
    return {
      apiVersion: GATEWAY_API_VERSION,
      kind: 'Gateway',
      metadata: { name: props.gatewayName, namespace: props.gatewayNamespace, labels: selectorLabels(props.target.serviceName, 'exposure') },
      spec: {
        gatewayClassName: props.gatewayClassName,
        // One listener per name, named after it: SNI is checked at the listener too, and a name's listener keeps
        // its name when the list is reordered.
        listeners: listeners.length === 1 ? listeners[0] : Fn.concat(listeners),
      },
    };
  }

  /** The TLSRoutes of the further ports, in the order they were added (as the chart receives them). */
  get additionalTlsRoutes(): Record<string, unknown>[] {
    return this.routes.map((route) => this.routeObject(route.target, this.props.mode === 'attach'
      ? [parentRef(this.props, route.sectionName)]
      : this.createdParentRefs(route.externalPort, true)));
  }

  /**
   * Routes one more port on the registry's names to another Service: a TLSRoute of its own, and in create mode one
   * listener per name on that port. Attach mode needs the listener's name (`sectionName`).
   */
  addRoute(route: GatewayAdditionalRoute): void {
    if (this.props.mode === 'attach') {
      if (route.sectionName === undefined) throw new Error(`GatewayTlsRoute addRoute: a route without sectionName is not allowed in attach mode; expected the listener of ${this.props.gatewayName} on the route's port.`);
      checkLiteral('addRoute sectionName', route.sectionName, [rules.dns1123Subdomain]);
      if (this.props.sectionName === undefined) throw new Error('GatewayTlsRoute sectionName: none is not allowed with a further route; expected the registry listener\'s name, or the registry route attaches to the further route\'s listener too.');
    }
    this.routes.push(route);
  }

  private values(): Record<string, unknown> {
    const gateway = this.gateway;
    return {
      tlsRoute: this.tlsRoute,
      ...(gateway ? { gateway } : {}),
      ...(this.routes.length > 0 ? { additionalTlsRoutes: this.additionalTlsRoutes } : {}),
    };
  }

  private routeObject(target: ServiceTarget, parentRefs: Record<string, unknown>[]): Record<string, unknown> {
    return {
      apiVersion: GATEWAY_API_VERSION,
      kind: 'TLSRoute',
      metadata: { name: target.serviceName, namespace: target.namespace, labels: selectorLabels(target.serviceName, 'exposure') },
      spec: {
        parentRefs,
        hostnames: this.props.hostnames,
        // A Service in the route's own namespace: no ReferenceGrant needed.
        rules: [{ backendRefs: [{ name: target.serviceName, port: target.port }] }],
      },
    };
  }

  /** Create mode: the created Gateway, pinned to the listeners on `port` once there are listeners on other ports. */
  private createdParentRefs(port: number, further = false): Record<string, unknown>[] {
    const ref = { name: this.props.gatewayName, namespace: this.props.gatewayNamespace };
    if (this.routes.length === 0) return [ref];
    return forExpression(this.props.hostnames, { ...ref, sectionName: this.listenerName(port, further) }) as unknown as Record<string, unknown>[];
  }

  /** Inside a for expression over the hostnames: the listener's name (the hostname; `<hostname>.<port>` for a further port). */
  private listenerName(port: number, further: boolean): unknown {
    return further ? routeListenerName(Token.asString(FOR_EXPRESSION_VALUE), port) : FOR_EXPRESSION_VALUE;
  }

  /** One listener per name on `port`, named by `listenerName`: SNI is checked at the listener too. */
  private listeners(props: GatewayCreateProps, port: number, further = false): unknown {
    return forExpression(props.hostnames, {
      name: this.listenerName(port, further),
      hostname: FOR_EXPRESSION_VALUE,
      port,
      protocol: 'TLS',
      // Passthrough: the Gateway reads the SNI and forwards the TLS stream; it holds no certificate.
      tls: { mode: 'Passthrough' },
      allowedRoutes: {
        // Only TLSRoutes from the registry's namespace, selected by the name label the API server sets.
        namespaces: { from: 'Selector', selector: { matchLabels: { [NAMESPACE_NAME_LABEL]: props.target.namespace } } },
        kinds: [{ group: GATEWAY_API_GROUP, kind: 'TLSRoute' }],
      },
    });
  }
}

/** How the Gateway carries the registry's traffic. */
export type GatewayRoute =
  /** A TLSRoute: the Gateway routes by SNI and passes TLS through; the registry's certificate is what clients see. */
  | 'tls-passthrough'
  /** An HTTPRoute on an HTTPS listener: the Gateway terminates TLS with the listener's certificate (443, no custom port). */
  | 'https';

export const GATEWAY_ROUTES: readonly GatewayRoute[] = ['tls-passthrough', 'https'];

export interface GatewayExposureOptions {
  /**
   * `attach`: route through a Gateway that exists (gateway_name, gateway_namespace, gateway_section_name; its
   * listener port is gateway_port). `create`: the stack creates the Gateway as well (gateway_class_name, one
   * listener per registry domain on gateway_port).
   */
  readonly mode: GatewayMode;
  /**
   * `tls-passthrough`: a TLSRoute on TLS Passthrough listeners. `https`: an HTTPRoute on HTTPS listeners (create mode:
   * their certificate from cert-manager's Gateway annotation, so `tlsMode: 'cert-manager'`), TLS again to the registry
   * (BackendTLSPolicy), and the `dataPlane`'s policy objects for large uploads.
   * @default 'tls-passthrough'
   */
  readonly route?: GatewayRoute;
  /**
   * With `route: 'https'`: the implementation running the Gateway, whose policy objects lift its upload limits
   * (their CRDs must be installed). Other implementations are not supported on the https route.
   * @default - none (required with route 'https')
   */
  readonly dataPlane?: GatewayDataPlane;
}

/** Gateway API TLS passthrough as an exposure strategy: reads its variables and builds `GatewayTlsRoute`. */
export class GatewayExposure extends ExposureStrategy {
  readonly kind: string;
  readonly mode: GatewayMode;
  readonly route: GatewayRoute;
  readonly dataPlane?: GatewayDataPlane;

  constructor(options: GatewayExposureOptions) {
    super();
    this.mode = options.mode;
    this.route = options.route ?? 'tls-passthrough';
    this.dataPlane = options.dataPlane;
    this.kind = this.route === 'https' ? `gateway ${options.mode} https` : `gateway ${options.mode}`;
  }

  override get terminatesTls(): boolean {
    return this.route === 'https';
  }

  override get requiresCertManager(): boolean {
    return this.route === 'https' && this.mode === 'create';
  }

  clientPort(variables: StackVariables): string {
    // Declared on first use: the number variable, rendered as its reference.
    variables.declare('gateway_port');
    return '${var.gateway_port}';
  }

  override validate(check: SettingCheck): void {
    check('exposure.mode', this.mode, [rules.oneOf(GATEWAY_MODES)]);
    check('exposure.route', this.route, [rules.oneOf(GATEWAY_ROUTES)]);
    if (this.route === 'https') {
      check('exposure.dataPlane', this.dataPlane, [rules.oneOf(GATEWAY_DATA_PLANES, `one of ${GATEWAY_DATA_PLANES.map((x) => JSON.stringify(x)).join(', ')} (the data plane whose upload limits the stack lifts)`)]);
    } else if (this.dataPlane !== undefined) {
      check('exposure.dataPlane', this.dataPlane, [{
        allowed: 'none with route "tls-passthrough" (a passthrough Gateway sees no HTTP: it has no body or request limits to lift)',
        test: (v) => v === undefined,
        condition: () => 'true',
      }]);
    }
  }

  override get routesAdditionalPorts(): boolean {
    // The https route serves the registry alone: a pull-through cache needs its own name or a passthrough Gateway.
    return this.route === 'tls-passthrough';
  }

  override addedRules(variable: ExposedVariable, { mirror, defaultOf }: ExposedVariableContext): readonly rules.Rule[] {
    switch (variable) {
      case 'registry_ip_addresses':
        return [rules.emptyList(this.route === 'https'
          ? "a client that connects by IP matches no listener hostname, and the Gateway's certificate names the registry names"
          : 'a client that connects by IP sends no SNI, and a TLS passthrough Gateway routes by SNI only')];
      case 'mirror_external_port':
        return [rules.differentFrom('gateway_port', defaultOf('gateway_port'), "a port other than the registry's (gateway_port)")];
      case 'gateway_section_name':
        return mirror
          ? [rules.nonEmptyString("a listener name: with the pull-through cache on, the registry's route must name its listener, or it attaches to the cache's listener too")]
          : [];
      case 'registry_domains':
        if (this.route === 'https') {
          return [
            rules.each(rules.notAnIpAddress),
            this.mode === 'attach'
              ? rules.maxItems(16, 'an HTTPRoute has at most 16 hostnames')
              : rules.maxItems(16, 'an HTTPRoute has at most 16 hostnames, and the created Gateway one listener per name'),
          ];
        }
        return [
          rules.each(rules.notAnIpAddress),
          this.mode === 'attach'
            ? rules.maxItems(1024, 'a TLSRoute has at most 1024 hostnames')
            : mirror
              ? rules.maxItems(32, 'the created Gateway has two listeners per name, the registry\'s and the pull-through cache\'s, and a Gateway has at most 64')
              : rules.maxItems(64, 'the created Gateway has one listener per name, and a Gateway has at most 64'),
          // The cache's listener is named `<name>.<port>` (a listener name has at most 253 characters).
          ...(this.mode === 'create' && mirror ? [rules.each(rules.maxLength(247, 'with the pull-through cache, its listener is named <name>.<port>, and a listener name has at most 253'))] : []),
        ];
      default:
        return [];
    }
  }

  bind(scope: Construct, options: ExposureBindOptions): ExposureBinding {
    const { target, variables } = options;
    const common = {
      target,
      hostnames: variables.list('registry_domains'),
      gatewayName: variables.string('gateway_name'),
      gatewayNamespace: variables.string('gateway_namespace'),
    };
    if (this.route === 'https') return this.bindHttps(scope, options, common);
    const route = new GatewayTlsRoute(scope, 'exposure', { ...common, ...this.modeProps(variables) });
    let attachedRoutes = 0;
    return {
      peerPods: this.peerPods(variables, common.gatewayNamespace),
      statusCommand: route.statusCommand,
      addRoute: (further) => {
        if (this.mode === 'create') return route.addRoute(further);
        // gateway_mirror_section_name names one listener of the existing Gateway: one further route.
        if (attachedRoutes++ > 0) throw new Error(`exposure ${this.kind}: addRoute: a second further route is not allowed; expected one (gateway_mirror_section_name names one listener).`);
        route.addRoute({ ...further, sectionName: variables.string('gateway_mirror_section_name') });
      },
    };
  }

  /** attach: the listener to attach to; create: the class and port of the Gateway the stack creates. */
  private modeProps(variables: StackVariables) {
    return this.mode === 'attach'
      ? { mode: 'attach' as const, sectionName: variables.string('gateway_section_name') }
      : { mode: 'create' as const, gatewayClassName: variables.string('gateway_class_name'), listenerPort: variables.number('gateway_port') };
  }

  /** The data plane's pods, not its whole namespace: a Gateway namespace is often shared infrastructure. */
  private peerPods(variables: StackVariables, gatewayNamespace: string) {
    const proxyNamespace = variables.string('gateway_proxy_namespace');
    return [{
      namespace: Token.asString(conditional(isSet(proxyNamespace), proxyNamespace, gatewayNamespace)),
      podLabels: variables.list('gateway_proxy_pod_labels'),
    }];
  }

  private bindHttps(scope: Construct, { variables, tls }: ExposureBindOptions, common: Pick<GatewayTlsRouteCommonProps, 'target' | 'hostnames' | 'gatewayName' | 'gatewayNamespace'>): ExposureBinding {
    if (!tls) throw new Error(`exposure ${this.kind}: bind: no registry TLS is not allowed; expected the registry's Secret and CA (the Gateway checks the registry's certificate).`);
    const https = { ...common, dataPlane: this.dataPlane!, backendCa: { pem: tls.caPem, isSet: tls.hasCa } };
    const mode = this.modeProps(variables);
    const route = new GatewayHttpsRoute(scope, 'exposure', mode.mode === 'attach' ? { ...https, ...mode } : {
      ...https, ...mode,
      // The listeners' certificate: cert-manager's Gateway annotation names the registry's issuer.
      issuerName: variables.string('cert_manager_issuer_name'),
      issuerKind: variables.string('cert_manager_issuer_kind'),
    });
    return {
      peerPods: this.peerPods(variables, common.gatewayNamespace),
      statusCommand: route.statusCommand,
      addRoute: this.refuseRoutes(),
    };
  }
}
