/**
 * The monitoring objects of registry-example-ops (registry + mirror + GC window, `monitoring: {}`) as the cluster
 * would receive them: the release values evaluated by terraform, rendered by the chart, validated against the
 * prometheus-operator v0.93.0 CRD schemas. Also: an environment without monitoring ships no CRD object at all.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { environment, resourcesOf, synth, type Synthesized } from '../../harness/synth';
import { monitoringObjects, type MonitoringObjects } from '../../harness/monitoring-objects';
import { validatePrometheusRule, validateServiceMonitor } from '../../harness/prometheus-operator';
import { formatErrors } from '../../harness/crd';
import { tempDir, useCleanup } from '../../harness/programs';
import { ALERT_NAMES, runbookAnchor } from '../../lib/monitoring/alerts';
import { validateEnvironment } from '../../lib/environments';

const EXPIRES_AT = '2027-03-01T12:34:56Z';

describe('monitoring objects of registry-example-ops', () => {
  const cleanup = useCleanup();
  let json: Synthesized;
  let objects: MonitoringObjects;

  beforeAll(async () => {
    json = synth(environment('example-ops')).json;
    objects = await monitoringObjects(json, await tempDir(cleanup, 'monitoring-objects-'), EXPIRES_AT);
  }, 120_000);

  test('the ServiceMonitor and PrometheusRule pass the CRD schemas of prometheus-operator v0.93.0', () => {
    expect(formatErrors(validateServiceMonitor(objects.serviceMonitor))).toEqual([]);
    expect(formatErrors(validatePrometheusRule(objects.prometheusRule))).toEqual([]);
  });

  test('the validator refuses what the CRD refuses (an unknown field, a bad for: duration)', () => {
    const broken = structuredClone(objects.prometheusRule);
    broken.spec.groups[0].rules[1].for = '2 minutes';
    broken.spec.groups[0].rules[1].severity = 'critical';
    expect(formatErrors(validatePrometheusRule(broken)).sort()).toEqual([
      expect.stringMatching(/^spec\.groups\[0\]\.rules\[1\]\.for: Invalid value: "2 minutes": should match /),
      'spec.groups[0].rules[1].severity: Unknown field: not declared in the schema (strict field validation)',
    ]);
  });

  test('the ServiceMonitor scrapes both metrics Services on their metrics port, with the Prometheus selector labels', () => {
    expect(objects.serviceMonitor.metadata).toEqual(expect.objectContaining({ name: 'registry-metrics', namespace: 'registry' }));
    expect(objects.serviceMonitor.metadata.labels.release).toBe('kube-prometheus-stack');
    expect(objects.serviceMonitor.spec.endpoints).toEqual([{ port: 'metrics', path: '/metrics', scheme: 'http', interval: '30s' }]);
    const services = resourcesOf(json, 'kubernetes_service_v1').filter((s) => s.metadata.labels['private-registry-stack/metrics'] === 'true');
    expect(services.map((s) => s.spec.port[0].target_port)).toEqual(['metrics', 'metrics']);
    expect(services.every((s) => s.spec.cluster_ip === 'None' && s.spec.publish_not_ready_addresses === true)).toBe(true);
  });

  test('every alert is there, names its runbook section, and that section exists', () => {
    const rules = objects.prometheusRule.spec.groups[0].rules;
    expect(rules.filter((r: any) => r.alert).map((r: any) => r.alert)).toEqual([...ALERT_NAMES]);
    const doc = readFileSync(path.join(__dirname, '../../docs/operations.md'), 'utf8');
    for (const r of rules.filter((x: any) => x.alert)) {
      expect(r.annotations.runbook).toBe(`docs/operations.md#${runbookAnchor(r.alert)}`);
      expect(doc).toContain(`### ${r.alert}\n`);
    }
  });

  test('PromQL reaches the cluster as written: the matchers keep their quotes through the release values', () => {
    const down = objects.prometheusRule.spec.groups[0].rules.find((r: any) => r.alert === 'RegistryDown');
    expect(down.expr).toBe('up{job="registry-metrics"} == 0 or absent(up{job="registry-metrics"})');
  });

  test('the certificate series is the expiry of the certificate, in Unix seconds (computed by terraform)', () => {
    const record = objects.prometheusRule.spec.groups[0].rules[0];
    expect(record.expr).toBe(`vector(${Date.parse(EXPIRES_AT) / 1000})`);
  });

  test('with cert-manager making the certificate, the certificate series is cert-manager\'s gauge for the stack\'s Certificate', async () => {
    const https = synth(environment('example-https', { monitoring: {} })).json;
    const fromCertManager = await monitoringObjects(https, await tempDir(cleanup, 'monitoring-cert-manager-'), EXPIRES_AT);
    expect(formatErrors(validatePrometheusRule(fromCertManager.prometheusRule))).toEqual([]);
    const gauge = (label: string) => `certmanager_certificate_expiration_timestamp_seconds{name="registry", ${label}="registry"} > 0`;
    expect(fromCertManager.prometheusRule.spec.groups[0].rules[0].expr).toBe(`max(${gauge('namespace')} or ${gauge('exported_namespace')})`);
  }, 120_000);

  test('the dashboard is a ConfigMap for the Grafana sidecar', () => {
    const [dashboard] = resourcesOf(json, 'kubernetes_config_map_v1').filter((c) => c.metadata.labels.grafana_dashboard === '1');
    expect(JSON.parse(dashboard.data['private-registry.json'].replace(/\$\$\{/g, '${')).panels.length).toBeGreaterThan(5);
  });

  test('an environment without monitoring has no prometheus-operator object: its plan needs no CRD', () => {
    const plain = synth(environment('dev')).json;
    expect(resourcesOf(plain, 'helm_release').filter((r) => String(r.chart).includes('monitoring'))).toEqual([]);
    expect(JSON.stringify(plain)).not.toContain('monitoring.coreos.com');
  });

  test('fails when the monitoring setting has an unknown option or a non-boolean', () => {
    expect(() => validateEnvironment({ ...environment('dev'), monitoring: { alerts: true } as never })).toThrow(/environment dev: monitoring\.alerts.*one of its options: rules, dashboard/);
    expect(() => validateEnvironment({ ...environment('dev'), monitoring: { dashboard: 'yes' } as never })).toThrow(/environment dev: monitoring\.dashboard/);
  });
});
