/**
 * Monitoring of the registry (and its pull-through cache) for a prometheus-operator stack: a headless metrics Service
 * per workload (the registry Service keeps only the registry port), a ServiceMonitor, a PrometheusRule with the
 * alerts of lib/monitoring/alerts.ts and a Grafana dashboard ConfigMap for the sidecar (`grafana_dashboard: "1"`).
 *
 * The two monitoring.coreos.com/v1 objects go in as the Gateway objects do (lib/exposure/gateway.ts): a local Helm
 * chart shipped as a cdktf asset whose templates print the values, which are the objects evaluated by Terraform. A
 * plan needs neither the CRDs nor the API server; only an environment with `monitoring` needs prometheus-operator.
 */
import * as path from 'node:path';
import { Construct } from 'constructs';
import { conditional, Fn, Op, type TerraformAsset, Token } from 'cdktf';
import type { Release } from '@cdktf/provider-helm/lib/release';
import { ConfigMapV1 } from '@cdktf/provider-kubernetes/lib/config-map-v1';
import { ServiceV1 } from '@cdktf/provider-kubernetes/lib/service-v1';
import type { RegistryContext } from '../context';
import { expressionString, literalText } from '../hcl';
import { componentLabels, MANAGED_BY } from '../labels';
import { labelTermsToMap } from '../network-policy';
import { localChartRelease } from '../local-chart';
import type { RegistryMirror } from '../operations/mirror';
import type { RegistryServer } from '../registry/server';
import { alertRuleGroups, dashboardPanels, grafanaDashboard } from './alerts';
import type { MonitoringSettings } from './settings';
import { unixSeconds } from './unix-time';

export const MONITORING_API_VERSION = 'monitoring.coreos.com/v1';
/** The chart the release installs (copied into the stack's directory as an asset on synth). */
export const MONITORING_CHART_DIR = path.join(__dirname, 'chart');
export const MONITORING_RELEASE_NAME = 'registry-monitoring';
/** The label every metrics Service carries: the ServiceMonitor selects it. */
export const METRICS_SERVICE_LABEL = 'private-registry-stack/metrics';

/** A workload whose debug port is scraped: the registry or the mirror. */
export interface ScrapedWorkload {
  /** Its metrics Service's name: the Prometheus `job` of its series. */
  readonly metricsServiceName: string;
  readonly podSelector: Record<string, string>;
  readonly metricsPort: number;
}

export interface RegistryMonitoringProps {
  readonly namespace: string;
  /** The registry's app name (Deployment), for kube-state-metrics alerts and the object names. */
  readonly appName: string;
  readonly registry: ScrapedWorkload;
  /** @default - no pull-through cache */
  readonly mirror?: ScrapedWorkload;
  /** Labels `key=value` the Prometheus selects ServiceMonitors and rules by (may be a Terraform list). */
  readonly selectorLabels: string[];
  /** Scrape interval (Prometheus duration). */
  readonly scrapeInterval: string;
  /**
   * RFC 3339 expiry of the registry's certificate (a Terraform reference).
   * @default - cert-manager's metrics say (`certManagerCertificate`)
   */
  readonly certificateExpiresAt?: string;
  /** The cert-manager Certificate's name, when cert-manager makes the registry's certificate. @default - none */
  readonly certManagerCertificate?: string;
  /** Thresholds of the alerts. */
  readonly errorRatioPercent: number;
  readonly slowRequestSeconds: number;
  readonly readOnlyLimit: string;
  /** The GC window exists: its alerts are added. @default false */
  readonly garbageCollection?: boolean;
  /** @default true */
  readonly rules?: boolean;
  /** @default true */
  readonly dashboard?: boolean;
  /** Namespace of the dashboard ConfigMap. */
  readonly dashboardNamespace: string;
}

function workloadOf(server: RegistryServer, metricsServiceName: string): ScrapedWorkload {
  return { metricsServiceName, podSelector: server.selector, metricsPort: server.debugPort };
}

/** `value` with every string in it made a Terraform expression string (lib/hcl.ts expressionString). */
function escapeStrings<T>(value: T): T {
  if (typeof value === 'string') return expressionString(value) as T;
  if (Array.isArray(value)) return value.map(escapeStrings) as T;
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, escapeStrings(v)])) as T;
  return value;
}

export class RegistryMonitoring extends Construct {
  public readonly metricsServices: ServiceV1[];
  public readonly serviceMonitor: Record<string, unknown>;
  public readonly prometheusRule?: Record<string, unknown>;
  public readonly chart: TerraformAsset;
  public readonly release: Release;
  public readonly dashboard?: ConfigMapV1;

  /** Monitoring as a feature of the registry in `context` (and of its mirror): reads the `monitoring_*` variables. */
  static attach(context: RegistryContext, settings: MonitoringSettings, mirror?: RegistryMirror): RegistryMonitoring {
    const vars = context.variables;
    const name = (suffix: string) => Fn.format(`%s-${suffix}`, [context.appName]);
    const dashboardNamespace = vars.string('grafana_dashboard_namespace');
    return new RegistryMonitoring(context.scope, 'monitoring', {
      namespace: context.namespace,
      appName: context.appName,
      registry: workloadOf(context.server, name('metrics')),
      mirror: mirror ? workloadOf(mirror.server, name('mirror-metrics')) : undefined,
      selectorLabels: vars.list('monitoring_labels'),
      scrapeInterval: vars.string('monitoring_scrape_interval'),
      // Terraform knows a generated or provided certificate's expiry; cert-manager's own metrics know a renewed one's.
      certificateExpiresAt: context.tls.expiresAt,
      certManagerCertificate: context.tls.certificate?.name,
      errorRatioPercent: vars.number('monitoring_error_ratio_percent'),
      slowRequestSeconds: vars.number('monitoring_slow_request_seconds'),
      readOnlyLimit: vars.string('monitoring_read_only_limit'),
      garbageCollection: context.environment.garbageCollection !== undefined,
      rules: settings.rules,
      dashboard: settings.dashboard,
      // Empty: the registry's namespace (a literal "" operand would vanish in cdktf: compare lengths).
      dashboardNamespace: Token.asString(conditional(Op.gte(Fn.lengthOf(dashboardNamespace), 1), dashboardNamespace, context.namespace)),
    });
  }

  constructor(scope: Construct, id: string, props: RegistryMonitoringProps) {
    super(scope, id);
    const { namespace } = props;
    const labels = componentLabels('monitoring');
    const workloads = [props.registry, ...(props.mirror ? [props.mirror] : [])];
    // Headless: Prometheus scrapes each pod; the debug port stays off the registry Service (pprof and expvar
    // are on it too), and the network policy admits only monitoring_namespace to it.
    this.metricsServices = workloads.map((w, i) => new ServiceV1(this, i === 0 ? 'registry-metrics' : 'mirror-metrics', {
      metadata: { name: w.metricsServiceName, namespace, labels: { ...labels, [METRICS_SERVICE_LABEL]: 'true' } },
      spec: {
        clusterIp: 'None',
        selector: w.podSelector,
        // A pod that fails its readiness probe (storage health) is still scraped: its metrics say why.
        publishNotReadyAddresses: true,
        port: [{ name: 'metrics', port: w.metricsPort, targetPort: 'metrics', protocol: 'TCP' }],
      },
    }));
    const objectLabels = Fn.merge([{ ...MANAGED_BY, 'app.kubernetes.io/component': 'monitoring' }, labelTermsToMap(props.selectorLabels)]);
    const metadata = (kind: string) => ({ name: Fn.format(`%s-${kind}`, [props.appName]), namespace, labels: objectLabels });
    this.serviceMonitor = {
      apiVersion: MONITORING_API_VERSION,
      kind: 'ServiceMonitor',
      metadata: metadata('metrics'),
      spec: {
        selector: { matchLabels: { [METRICS_SERVICE_LABEL]: 'true', ...MANAGED_BY } },
        namespaceSelector: { matchNames: [namespace] },
        endpoints: [{ port: 'metrics', path: '/metrics', scheme: 'http', interval: props.scrapeInterval }],
      },
    };
    if (props.rules ?? true) {
      this.prometheusRule = {
        apiVersion: MONITORING_API_VERSION,
        kind: 'PrometheusRule',
        metadata: metadata('alerts'),
        spec: {
          // Quoted inside the release's jsonencode(): the PromQL matchers' quotes are escaped for Terraform.
          groups: escapeStrings(alertRuleGroups({
            job: props.registry.metricsServiceName,
            mirrorJob: props.mirror?.metricsServiceName,
            namespace,
            appName: props.appName,
            garbageCollection: props.garbageCollection,
            certificateExpiry: props.certificateExpiresAt === undefined ? undefined : Token.asString(unixSeconds(this, 'certificate-expiry', props.certificateExpiresAt)),
            certManagerCertificate: props.certManagerCertificate,
            errorRatio: Fn.format('%.2f', [Op.div(props.errorRatioPercent, 100)]),
            slowSeconds: Token.asString(props.slowRequestSeconds),
            readOnlyLimit: props.readOnlyLimit,
          })),
        },
      };
    }
    ({ chart: this.chart, release: this.release } = localChartRelease(this, 'prometheus-operator-objects', {
      name: MONITORING_RELEASE_NAME,
      namespace,
      chartDir: MONITORING_CHART_DIR,
      values: this.prometheusRule ? { serviceMonitor: this.serviceMonitor, prometheusRule: this.prometheusRule } : { serviceMonitor: this.serviceMonitor },
    }));
    if (props.dashboard ?? true) {
      this.dashboard = new ConfigMapV1(this, 'dashboard', {
        metadata: {
          name: Fn.format('%s-dashboard', [props.appName]),
          namespace: props.dashboardNamespace,
          labels: { ...labels, grafana_dashboard: '1' },
        },
        // Static JSON with Grafana's own `$job` syntax: escaped for Terraform's templates.
        data: { 'private-registry.json': literalText(JSON.stringify(grafanaDashboard(dashboardPanels(props.mirror !== undefined)), null, 2)) },
      });
    }
  }
}
