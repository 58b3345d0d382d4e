import { Construct } from 'constructs';
import { conditional, Fn, type IResolvable, Lazy, TerraformIterator, TerraformStack, Token } from 'cdktf';
import { stringify } from 'yaml';
import { Release } from '@cdktf/provider-helm/lib/release';
import { ConfigMapV1Data } from '@cdktf/provider-kubernetes/lib/config-map-v1-data';
import { DataKubernetesResources } from '@cdktf/provider-kubernetes/lib/data-kubernetes-resources';
import { IngressV1 } from '@cdktf/provider-kubernetes/lib/ingress-v1';
import { adoptedTcpValues, installedChart } from '../hcl';
import { workloadLabels } from '../labels';
import * as rules from '../rules';
import type { SettingCheck } from '../storage/strategy';
import type { StackVariables } from '../variables/stack-variables';
import {
  type ExposedVariable, type ExposedVariableContext, type ExposureBindOptions, type ExposureBinding, type ExposureRoute, ExposureStrategy,
  type ServiceTarget,
} from './strategy';

export const INGRESS_NGINX_REPOSITORY = 'https://kubernetes.github.io/ingress-nginx';
/** The port of HTTPS front doors (an HTTP Ingress, a Gateway's HTTPS listener): image references name no port. */
export const HTTPS_PORT = 443;

/** How the stack reaches ingress-nginx. */
export type IngressNginxMode =
  /** This stack installs ingress-nginx with a Helm release that routes the TCP port. */
  | 'install'
  /** An ingress-nginx Helm release already exists: import it and add the TCP route, keeping its other values. */
  | 'adopt'
  /** ingress-nginx was not installed by Helm: patch its tcp-services ConfigMap; the operator adds one flag. */
  | 'configmap-only';

export const INGRESS_NGINX_MODES: readonly IngressNginxMode[] = ['install', 'adopt', 'configmap-only'];

interface IngressNginxCommonProps {
  /** Port clients connect to on the controller (must not be one ingress-nginx reserves). */
  readonly externalPort: number;
  readonly target: ServiceTarget;
  /** Namespace of the controller. */
  readonly controllerNamespace: string;
}

export interface IngressNginxHelmProps extends IngressNginxCommonProps {
  readonly mode: 'install' | 'adopt';
  /** The Helm release name. */
  readonly releaseName: string;
  /** Chart version (exact). */
  readonly chartVersion: string;
}

export interface IngressNginxConfigMapProps extends IngressNginxCommonProps {
  readonly mode: 'configmap-only';
  /** The ConfigMap named by the controller's `--tcp-services-configmap` flag. */
  readonly tcpConfigMapName: string;
}

export type IngressNginxTcpProps = IngressNginxHelmProps | IngressNginxConfigMapProps;

/** A port as a string: a Terraform reference stays one, a literal number becomes its digits (map keys must be strings). */
const portText = (port: number): string => (Token.isUnresolved(port) ? Token.asString(port) : String(port));

/** `"<ns>/<svc>:<port>"`, the form ingress-nginx reads from its tcp-services map. */
export function tcpRoute(target: ServiceTarget): string {
  return `${target.namespace}/${target.serviceName}:${Token.asString(target.port)}`;
}

/**
 * Chart values routing the external port to the registry. ingress-nginx's chart turns `tcp` into its tcp-services
 * ConfigMap, the controller flag, a container port and a port on the controller Service. Keys are quoted so the
 * port stays a string key whatever YAML reader the chart's renderer uses.
 */
export function tcpValues(externalPort: number, target: ServiceTarget, additionalRoutes: readonly ExposureRoute[] = []): string {
  return stringify(
    { tcp: tcpMap(externalPort, target, additionalRoutes) },
    { defaultKeyType: 'QUOTE_DOUBLE', defaultStringType: 'QUOTE_DOUBLE', lineWidth: 0 },
  );
}

/** External port -> `<ns>/<svc>:<port>`, the registry's route first. */
function tcpMap(externalPort: number, target: ServiceTarget, additionalRoutes: readonly ExposureRoute[]): Record<string, string> {
  return Object.fromEntries([{ externalPort, target }, ...additionalRoutes].map((r) => [portText(r.externalPort), tcpRoute(r.target)]));
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
  /** Ports routed besides the registry's, in the order they were added (read at synth). */
  private readonly additionalRoutes: ExposureRoute[] = [];

  constructor(scope: Construct, id: string, props: IngressNginxTcpProps) {
    super(scope, id);
    const port = portText(props.externalPort);
    // Features add their routes after this construct: the map is read when the stack is synthesized.
    const routes = () => tcpMap(props.externalPort, props.target, this.additionalRoutes);
    if (props.mode === 'configmap-only') {
      this.tcpConfigMap = new ConfigMapV1Data(this, 'tcp-services', {
        metadata: { name: props.tcpConfigMapName, namespace: props.controllerNamespace },
        data: Token.asStringMap(Lazy.anyValue({ produce: routes })),
        // Only our keys are managed (server-side apply, own field manager): other routes in the map are left alone,
        // and a key this stack wrote before is removed when the port changes.
        fieldManager: 'private-registry-stack',
        force: true,
      });
      const map = `${props.controllerNamespace}/${props.tcpConfigMapName}`;
      this.manualSteps = [
        `1. Before the first apply, make sure the ConfigMap exists (the upstream manifests ship none; an existing one is never replaced): ` +
          `kubectl -n ${props.controllerNamespace} get configmap ${props.tcpConfigMapName} || kubectl -n ${props.controllerNamespace} create configmap ${props.tcpConfigMapName}`,
        `2. Add --tcp-services-configmap=${map} to the controller's args.`,
        `3. Add port ${port}/TCP to the controller's container ports and to its Service.`,
      ].join('\n');
      return;
    }
    const adopt = props.mode === 'adopt';
    const releaseObjects = (id: string, apiVersion: string, kind: string) => new DataKubernetesResources(this, id, {
      apiVersion, kind, namespace: props.controllerNamespace,
      labelSelector: `app.kubernetes.io/instance=${props.releaseName},app.kubernetes.io/component=controller`,
    });
    const renderedMaps = adopt ? releaseObjects('release-config-maps', 'v1', 'ConfigMap') : undefined;
    const controller = adopt ? releaseObjects('release-controller', 'apps/v1', 'Deployment') : undefined;
    const controllerDaemonSet = adopt ? releaseObjects('release-controller-daemonset', 'apps/v1', 'DaemonSet') : undefined;
    this.release = new Release(this, 'release', {
      name: props.releaseName,
      namespace: props.controllerNamespace,
      repository: INGRESS_NGINX_REPOSITORY,
      chart: 'ingress-nginx',
      version: props.chartVersion,
      createNamespace: props.mode === 'install',
      values: [Lazy.stringValue({
        produce: () => renderedMaps
          ? adoptedTcpValues(`${renderedMaps.fqn}.objects`, Object.entries(routes()).map(([routePort, route]) => ({ port: routePort, route })))
          : tcpValues(props.externalPort, props.target, this.additionalRoutes),
      })],
      // adopt: keep every value the release already had and merge ours on top.
      reuseValues: adopt,
      atomic: true,
      cleanupOnFail: true,
      wait: true,
      timeout: 600,
      ...(controller && controllerDaemonSet
        ? { lifecycle: adoptedLifecycle(`${controller.fqn}.objects`, `${controllerDaemonSet.fqn}.objects`) }
        : {}),
    });
    if (adopt) {
      // The same import block release.importFrom() writes, without the check it adds: that one spawns `terraform
      // version` on every synth (~0.2 s, a third of it) to require Terraform >= 1.5, and this stack's cross-variable
      // validations already need 1.9, which Terraform itself enforces at plan time.
      TerraformStack.of(this).addOverride('import', [{
        id: `${props.controllerNamespace}/${props.releaseName}`,
        to: `${this.release.terraformResourceType}.${this.release.friendlyUniqueId}`,
      }]);
    }
  }

  /** Routes one more port the same way (a pull-through cache beside the registry). */
  addRoute(route: ExposureRoute): void {
    this.additionalRoutes.push(route);
  }
}

/**
 * An adopted controller belongs to everyone on the cluster: the stack never uninstalls it. `prevent_destroy` makes
 * a plan that would (`cdktf destroy`, a changed release name or namespace, which force replacement) fail; leaving
 * adopt mode releases it from state instead (lib/keep-earlier.ts). A chart upgrade through a release whose values
 * are reused would render the new chart with the old chart's defaults: the version must match the installed one.
 */
function adoptedLifecycle(...controllerObjects: string[]) {
  const installed = installedChart(...controllerObjects);
  return {
    preventDestroy: true,
    precondition: [{
      condition: `\${${installed} == "" || ${installed} == "ingress-nginx-\${var.ingress_chart_version}"}`,
      errorMessage:
        `ingress_chart_version: "\${var.ingress_chart_version}" is not allowed; expected the version the adopted release runs ` +
        `(\${${installed}}). This stack reuses the release's values, so Helm would render a new chart with the old chart's ` +
        'defaults: upgrade ingress-nginx the way its owner does, then set ingress_chart_version to the new version.',
    }],
  };
}

/** ingress-nginx TCP services as an exposure strategy: reads its variables and builds `IngressNginxTcp`. */
export class IngressNginxExposure extends ExposureStrategy {
  readonly kind: string;

  constructor(readonly mode: IngressNginxMode) {
    super();
    this.kind = `ingress-nginx ${mode}`;
  }

  clientPort(variables: StackVariables): string {
    // Declared on first use: the number variable, rendered as its reference.
    variables.declare('external_port');
    return '${var.external_port}';
  }

  override validate(check: SettingCheck): void {
    check('exposure.mode', this.mode, [rules.oneOf(INGRESS_NGINX_MODES)]);
  }

  override get routesAdditionalPorts(): boolean {
    return true;
  }

  override addedRules(variable: ExposedVariable, { defaultOf }: ExposedVariableContext): readonly rules.Rule[] {
    if (variable !== 'mirror_external_port') return [];
    return [rules.unreservedIngressPort, rules.differentFrom('external_port', defaultOf('external_port'), "a port other than the registry's (external_port)")];
  }

  bind(scope: Construct, { target, variables }: ExposureBindOptions): ExposureBinding {
    const externalPort = variables.number('external_port');
    const controllerNamespace = variables.string('ingress_namespace');
    const common = { externalPort, target, controllerNamespace };
    const exposure = this.mode === 'configmap-only'
      ? new IngressNginxTcp(scope, 'exposure', { ...common, mode: this.mode, tcpConfigMapName: variables.string('tcp_services_configmap') })
      : new IngressNginxTcp(scope, 'exposure', {
        ...common, mode: this.mode,
        releaseName: variables.string('ingress_release_name'),
        chartVersion: variables.string('ingress_chart_version'),
      });
    return {
      peerNamespaces: [controllerNamespace],
      manualSteps: exposure.manualSteps,
      addRoute: (route) => exposure.addRoute(route),
    };
  }
}

/** The ingress-nginx annotation prefix. */
const INGRESS_NGINX_ANNOTATION = 'nginx.ingress.kubernetes.io';

/** How long ingress-nginx waits on the registry (each read or write of a proxied request), in seconds. */
export const INGRESS_PROXY_TIMEOUT_SECONDS = 3600;

/**
 * ingress-nginx annotations for the registry behind an HTTP Ingress: no body limit (the default 1m gives 413 on
 * every layer), bodies streamed to the registry as they arrive rather than spooled to the controller's disk first,
 * long proxy timeouts, and TLS again to the registry (its one port is TLS).
 */
export function httpIngressAnnotations(): Record<string, string> {
  const a = (name: string, value: string) => [`${INGRESS_NGINX_ANNOTATION}/${name}`, value];
  return Object.fromEntries([
    a('proxy-body-size', '0'),
    a('proxy-request-buffering', 'off'),
    a('proxy-read-timeout', String(INGRESS_PROXY_TIMEOUT_SECONDS)),
    a('proxy-send-timeout', String(INGRESS_PROXY_TIMEOUT_SECONDS)),
    a('backend-protocol', 'HTTPS'),
  ]);
}

/** With the registry's CA: ingress-nginx checks the registry's certificate for `hostname` against `ca.crt` of the Secret. */
export function backendVerifyAnnotations(secret: string, hostname: string): Record<string, string> {
  const a = (name: string, value: string) => [`${INGRESS_NGINX_ANNOTATION}/${name}`, value];
  return Object.fromEntries([
    a('proxy-ssl-secret', secret),
    a('proxy-ssl-verify', 'on'),
    a('proxy-ssl-name', hostname),
    a('proxy-ssl-server-name', 'on'),
  ]);
}

export interface IngressNginxHttpProps {
  readonly target: ServiceTarget;
  /** Registry names (one rule each; the TLS hosts). May be a Terraform list. */
  readonly hostnames: string[];
  /** IngressClass of the controller. */
  readonly ingressClassName: string;
  /** The registry's TLS: its Secret (served by the controller) and its CA ("" = none to check the registry with). */
  readonly tls: { readonly secretName: string; readonly hasCa: boolean | IResolvable };
}

/**
 * An HTTP Ingress for ingress-nginx (a retired controller): TLS at the controller on 443 with the registry's own
 * certificate, `/v2` of the registry names to the registry Service over TLS. For users who cannot move to a Gateway
 * yet; the controller must exist (this mode installs nothing).
 */
export class IngressNginxHttp extends Construct {
  public readonly ingress: IngressV1;

  constructor(scope: Construct, id: string, props: IngressNginxHttpProps) {
    super(scope, id);
    const { target, hostnames } = props;
    const hosts = TerraformIterator.fromList(hostnames);
    const verify = backendVerifyAnnotations(Fn.format('%s/%s', [target.namespace, props.tls.secretName]), Fn.element(hostnames, 0));
    this.ingress = new IngressV1(this, 'ingress', {
      metadata: {
        name: target.serviceName,
        namespace: target.namespace,
        labels: workloadLabels(target.serviceName, 'exposure'),
        // The registry's certificate is checked when its CA is known (a public ACME issuer's Secret has no ca.crt).
        annotations: typeof props.tls.hasCa === 'boolean'
          ? { ...httpIngressAnnotations(), ...(props.tls.hasCa ? verify : {}) }
          : Token.asStringMap(Fn.merge([httpIngressAnnotations(), conditional(props.tls.hasCa, verify, {})])),
      },
      spec: {
        ingressClassName: props.ingressClassName,
        tls: [{ hosts: hostnames, secretName: props.tls.secretName }],
        // Dynamic block content is written as Terraform JSON: nested block names in snake_case.
        rule: hosts.dynamic({
          host: hosts.value,
          http: [{
            path: [{
              path: '/v2',
              path_type: 'Prefix',
              backend: [{ service: [{ name: target.serviceName, port: [{ number: target.port }] }] }],
            }],
          }],
        }),
      },
    });
  }
}

/** ingress-nginx HTTP Ingress as an exposure strategy (TLS terminated at the controller, clients on 443). */
export class IngressNginxHttpExposure extends ExposureStrategy {
  readonly kind = 'ingress-nginx http';

  override get terminatesTls(): boolean {
    return true;
  }

  clientPort(): string {
    return String(HTTPS_PORT);
  }

  override addedRules(variable: ExposedVariable): readonly rules.Rule[] {
    return variable === 'registry_ip_addresses'
      ? [rules.emptyList('an Ingress routes by host name, and a client that connects by IP matches no rule')]
      : [];
  }

  bind(scope: Construct, { target, variables, tls }: ExposureBindOptions): ExposureBinding {
    if (!tls) throw new Error(`exposure ${this.kind}: bind: no registry TLS is not allowed; expected the registry's Secret and CA (the controller serves the Secret).`);
    new IngressNginxHttp(scope, 'exposure', {
      target,
      hostnames: variables.list('registry_domains'),
      ingressClassName: variables.string('ingress_class_name'),
      tls,
    });
    return { peerNamespaces: [variables.string('ingress_namespace')], addRoute: this.refuseRoutes() };
  }
}
