/**
 * The registry's Prometheus alerts and the dashboard's queries, as plain data (no cdktf import): the stack puts them
 * in a PrometheusRule, the tests hand the same groups to `promtool test rules` and to a real Prometheus scraping the
 * real registry, with short `for:` durations and windows.
 *
 * Every series named here is exported by distribution v3.1.0 (docs/operations.md, "Monitoring": the source files)
 * or by kube-state-metrics (marked). distribution exports no storage-health, certificate or GC metric, so:
 * - storage errors are 5xx answers of the storage-backed handlers (counted; the health check's 503s are answered
 *   before the instrumented handlers and are NOT counted: pods that fail it are caught by RegistryPodsNotReady);
 * - the read-only window shows as refused writes (405 on POST/PUT/PATCH/DELETE) lasting longer than the limit;
 * - certificate expiry is a recording rule whose value the stack computes from the certificate it issued or was given,
 *   or, with cert-manager, cert-manager's own `certmanager_certificate_expiration_timestamp_seconds` (v1.21.1
 *   `pkg/metrics`: labels name and namespace, 0 until the certificate is issued).
 */

/** The runbook: each alert names its section (anchor) here. */
export const RUNBOOK = 'docs/operations.md';

export interface AlertRuleParams {
  /** Prometheus `job` of the registry's metrics (the metrics Service's name under a ServiceMonitor). */
  readonly job: string;
  /** `job` of the pull-through cache; its alert exists only with it. @default - no mirror */
  readonly mirrorJob?: string;
  /** Namespace and Deployment name, for the kube-state-metrics alerts and the certificate series. */
  readonly namespace: string;
  readonly appName: string;
  /** The GC window exists (read-only and failed-Job alerts). @default false */
  readonly garbageCollection?: boolean;
  /**
   * Unix time the registry's certificate expires (a number, or a Terraform expression rendering one).
   * @default - read from cert-manager's metrics (`certManagerCertificate`)
   */
  readonly certificateExpiry?: string;
  /**
   * The cert-manager Certificate that makes the registry's Secret: its expiry comes from cert-manager's metrics, which
   * the same Prometheus must scrape. Its `namespace` label is the Certificate's, or `exported_namespace` when the
   * scrape config does not honor the target's labels (cert-manager's chart: `honorLabels: false`).
   * @default - no cert-manager: `certificateExpiry`
   */
  readonly certManagerCertificate?: string;
  /** 5xx share of requests above which RegistryHighErrorRatio fires (0..1). */
  readonly errorRatio: number | string;
  /** p99 latency (seconds) of the non-transfer handlers above which RegistrySlowRequests fires. */
  readonly slowSeconds: number | string;
  /** How long refused writes may last before RegistryReadOnlyTooLong fires (the GC window's limit). */
  readonly readOnlyLimit: string;
  /** Rate window of every `rate()`. @default "5m" */
  readonly window?: string;
  /** `for:` of every alert other than RegistryReadOnlyTooLong, replaced for tests. @default - each alert's own */
  readonly forOverride?: string;
}

export interface AlertRule {
  readonly alert?: string;
  readonly record?: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

export interface RuleGroup {
  readonly name: string;
  readonly rules: AlertRule[];
}

/** The handlers whose work is a storage driver call (all but `base`). */
const STORAGE_HANDLERS = 'manifest|blob|blob_upload|blob_upload_chunk|tags|catalog';
/** Handlers whose duration is a transfer (grows with the layer): excluded from the latency alert. */
const TRANSFER_HANDLERS = 'blob|blob_upload|blob_upload_chunk';
export const CERTIFICATE_EXPIRY_SERIES = 'registry_tls_certificate_expiry_timestamp_seconds';
export const CERT_MANAGER_EXPIRY_SERIES = 'certmanager_certificate_expiration_timestamp_seconds';

/** The recording rule's expression: the expiry the stack knows, or cert-manager's issued certificate's. */
function certificateExpiryExpr(p: AlertRuleParams): string {
  if (p.certManagerCertificate !== undefined) {
    const of = (namespaceLabel: string) => `${CERT_MANAGER_EXPIRY_SERIES}{name="${p.certManagerCertificate}", ${namespaceLabel}="${p.namespace}"} > 0`;
    return `max(${of('namespace')} or ${of('exported_namespace')})`;
  }
  if (p.certificateExpiry === undefined) throw new Error('alertRuleGroups: certificateExpiry or certManagerCertificate is required');
  return `vector(${p.certificateExpiry})`;
}

/** Alert names, in the order of the runbook. */
export const ALERT_NAMES = [
  'RegistryDown', 'RegistryHighErrorRatio', 'RegistrySlowRequests', 'RegistryStorageErrors', 'RegistryPodsNotReady',
  'RegistryReadOnlyTooLong', 'RegistryGcJobFailed', 'RegistryMirrorUpstreamFailing', 'RegistryCertificateExpiresSoon',
] as const;
export type AlertName = (typeof ALERT_NAMES)[number];

/** The runbook anchor of an alert (a `### AlertName` heading in docs/operations.md). */
export const runbookAnchor = (alert: AlertName) => alert.toLowerCase();

function alert(name: AlertName, expr: string, forDuration: string, severity: 'critical' | 'warning', summary: string, p: AlertRuleParams): AlertRule {
  return {
    alert: name,
    expr,
    for: p.forOverride ?? forDuration,
    labels: { severity },
    annotations: { summary, runbook: `${RUNBOOK}#${runbookAnchor(name)}` },
  };
}

/** The rule groups of a registry (and its mirror). */
export function alertRuleGroups(p: AlertRuleParams): RuleGroup[] {
  const w = p.window ?? '5m';
  const job = `job="${p.job}"`;
  const requests = (selector: string) => `sum by (job) (rate(registry_http_requests_total{${selector}}[${w}]))`;
  const deployment = `namespace="${p.namespace}", deployment="${p.appName}"`;
  const rules: AlertRule[] = [
    {
      record: CERTIFICATE_EXPIRY_SERIES,
      expr: certificateExpiryExpr(p),
      labels: { namespace: p.namespace, service: p.appName },
    },
    alert('RegistryDown', `up{${job}} == 0 or absent(up{${job}})`, '2m', 'critical',
      'The registry does not answer on its metrics port (or no target is discovered).', p),
    alert('RegistryHighErrorRatio', `${requests(`${job}, code=~"5.."`)} / ${requests(job)} > ${p.errorRatio}`, '10m', 'critical',
      'More than the allowed share of registry requests fail with 5xx.', p),
    alert('RegistrySlowRequests',
      `histogram_quantile(0.99, sum by (job, le) (rate(registry_http_request_duration_seconds_bucket{${job}, handler!~"${TRANSFER_HANDLERS}"}[${w}]))) > ${p.slowSeconds}`,
      '15m', 'warning', 'p99 latency of manifest, tag and catalog requests is above the limit.', p),
    alert('RegistryStorageErrors', `${requests(`${job}, code=~"5..", handler=~"${STORAGE_HANDLERS}"`)} > 0`, '5m', 'critical',
      'Requests that read or write storage fail with 5xx: the storage driver reports errors.', p),
    // kube-state-metrics: the readiness probe is GET /, which answers 503 while the storage health check fails.
    alert('RegistryPodsNotReady', `kube_deployment_status_replicas_unavailable{${deployment}} > 0`, '10m', 'critical',
      'Registry pods are not Ready: GET / fails, most often the storage health check (503).', p),
  ];
  if (p.garbageCollection) {
    rules.push(
      {
        ...alert('RegistryReadOnlyTooLong', `${requests(`${job}, code="405", method=~"post|put|patch|delete"`)} > 0`, p.readOnlyLimit, 'critical',
          'Pushes have been refused (read-only) for longer than the GC window may last.', p),
        for: p.readOnlyLimit,
      },
      alert('RegistryGcJobFailed', `kube_job_status_failed{namespace="${p.namespace}", job_name=~"${p.appName}-gc-.*"} > 0`, '0s', 'warning',
        'A garbage-collection Job failed: no space was reclaimed, the window may have stayed open.', p),
    );
  }
  if (p.mirrorJob) {
    rules.push(alert('RegistryMirrorUpstreamFailing', `${requests(`job="${p.mirrorJob}", code=~"5..|429"`)} > 0`, '10m', 'warning',
      'The pull-through cache fails pulls (5xx) or is rate-limited (429) by its upstream.', p));
  }
  rules.push(alert('RegistryCertificateExpiresSoon', `${CERTIFICATE_EXPIRY_SERIES}{namespace="${p.namespace}", service="${p.appName}"} - time() < 14 * 86400`,
    '1h', 'warning', 'The registry certificate expires within 14 days.', p));
  return [{ name: 'private-registry', rules }];
}

export interface DashboardPanel {
  readonly title: string;
  readonly expr: string;
  /** The series is exported only by distribution v3 (the 2.8.2 stand-in cannot show it). */
  readonly v3Only?: boolean;
}

/** The dashboard's panels; `$job` is the dashboard variable (the registry's or the mirror's job). */
export function dashboardPanels(mirror: boolean): DashboardPanel[] {
  const job = 'job=~"$job"';
  return [
    { title: 'Up', expr: `up{${job}}` },
    { title: 'Requests per second by handler and code', expr: `sum by (handler, code) (rate(registry_http_requests_total{${job}}[5m]))` },
    // `or vector(0)`: with no 5xx series at all (a healthy registry) the share is 0, not "No data".
    { title: '5xx share', expr: `(sum(rate(registry_http_requests_total{${job}, code=~"5.."}[5m])) or vector(0)) / sum(rate(registry_http_requests_total{${job}}[5m]))` },
    { title: 'p99 latency by handler', expr: `histogram_quantile(0.99, sum by (handler, le) (rate(registry_http_request_duration_seconds_bucket{${job}}[5m])))` },
    { title: 'Requests in flight', expr: `sum by (handler) (registry_http_in_flight_requests{${job}})` },
    { title: 'Storage action p99 by action', expr: `histogram_quantile(0.99, sum by (action, le) (rate(registry_storage_action_seconds_bucket{${job}}[5m])))` },
    { title: 'Response bytes per second', expr: `sum(rate(registry_http_response_size_bytes_sum{${job}}[5m]))` },
    ...(mirror
      ? [{ title: 'Mirror hits and misses', expr: 'sum by (type) (rate(registry_proxy_hits_total[5m])) / sum by (type) (rate(registry_proxy_requests_total[5m]))', v3Only: true }]
      : []),
  ];
}

/** A Grafana dashboard (schema 39) of `panels`, for the Grafana sidecar. Static text: no Terraform values. */
export function grafanaDashboard(panels: readonly DashboardPanel[]): Record<string, unknown> {
  return {
    title: 'Private registry',
    uid: 'private-registry',
    schemaVersion: 39,
    tags: ['registry', 'distribution'],
    time: { from: 'now-6h', to: 'now' },
    refresh: '30s',
    templating: {
      list: [
        { name: 'datasource', type: 'datasource', query: 'prometheus', label: 'Prometheus' },
        {
          name: 'job', type: 'query', datasource: { type: 'prometheus', uid: '$datasource' },
          query: 'label_values(registry_http_requests_total, job)', refresh: 2, includeAll: false, multi: true,
        },
      ],
    },
    panels: panels.map((panel, i) => ({
      id: i + 1,
      title: panel.title,
      type: 'timeseries',
      datasource: { type: 'prometheus', uid: '$datasource' },
      gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
      targets: [{ refId: 'A', expr: panel.expr }],
    })),
  };
}
