/**
 * The alerts of lib/monitoring/alerts.ts (`alertRuleGroups`, the function the stack's PrometheusRule uses) checked
 * and unit-tested by the real `promtool` (Debian's `prometheus` package): every alert fires on the series that should
 * fire it and stays silent on the ones that should not. The tests are themselves checked: with every alert made
 * never to fire, each firing case fails; made always to fire, each silent case fails.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { tempDir, useCleanup } from '../../harness/programs';
import { ALERT_NAMES, alertRuleGroups, type AlertName, type AlertRuleParams, type RuleGroup } from '../../lib/monitoring/alerts';

const run = promisify(execFile);
const DAY = 86400;

/** Promtool's clock starts at 0: the certificate expires 14 days and 2 hours later (within 14 days after 2 h). */
const EXPIRY = 14 * DAY + 2 * 3600;

/** Test-friendly parameters: short job names, 5 % errors, 1 s p99, a 10 minute read-only limit. */
const PARAMS: AlertRuleParams = {
  job: 'registry', mirrorJob: 'mirror', namespace: 'registry', appName: 'registry', garbageCollection: true,
  certificateExpiry: String(EXPIRY), errorRatio: 0.05, slowSeconds: 1, readOnlyLimit: '10m',
};

const requests = (labels: string, values: string, job = 'registry') =>
  ({ series: `registry_http_requests_total{job="${job}", ${labels}}`, values });
const latency = (handler: string, le: string, values: string) =>
  ({ series: `registry_http_request_duration_seconds_bucket{job="registry", handler="${handler}", le="${le}"}`, values });
/** A histogram of `handler` with every request in (0.5, 2] s when `slow`, else within 0.1 s. */
const histogram = (handler: string, slow: boolean) => ['0.1', '0.5', '2', '+Inf'].map((le) =>
  latency(handler, le, slow && (le === '0.1' || le === '0.5') ? '0x40' : '0+100x40'));

interface AlertCase {
  readonly series: { series: string; values: string }[];
  readonly at: string;
  /** Labels of the firing alert besides alertname and severity; absent: the alert must not fire. */
  readonly labels?: Record<string, string>;
}

/** Per alert: a case where it fires and one where it must not. */
const CASES: Record<AlertName, { firing: AlertCase; silent: AlertCase }> = {
  RegistryDown: {
    firing: { series: [{ series: 'up{job="registry", instance="r:5001"}', values: '0x10' }], at: '5m', labels: { job: 'registry', instance: 'r:5001' } },
    silent: { series: [{ series: 'up{job="registry", instance="r:5001"}', values: '1x10' }], at: '5m' },
  },
  RegistryHighErrorRatio: {
    firing: { series: [requests('handler="manifest", method="get", code="200"', '0+100x30'), requests('handler="manifest", method="get", code="500"', '0+10x30')], at: '20m', labels: { job: 'registry' } },
    silent: { series: [requests('handler="manifest", method="get", code="200"', '0+100x30'), requests('handler="manifest", method="get", code="500"', '0+1x30')], at: '20m' },
  },
  RegistrySlowRequests: {
    firing: { series: histogram('manifest', true), at: '30m', labels: { job: 'registry' } },
    // Slow layer transfers are not slow requests.
    silent: { series: [...histogram('manifest', false), ...histogram('blob', true)], at: '30m' },
  },
  RegistryStorageErrors: {
    firing: { series: [requests('handler="blob", method="get", code="503"', '0+1x20')], at: '15m', labels: { job: 'registry' } },
    // The API root answering 5xx is not a storage call; 2xx on storage handlers are not errors.
    silent: { series: [requests('handler="base", method="get", code="503"', '0+1x20'), requests('handler="blob", method="get", code="200"', '0+9x20')], at: '15m' },
  },
  RegistryPodsNotReady: {
    firing: { series: [{ series: 'kube_deployment_status_replicas_unavailable{namespace="registry", deployment="registry"}', values: '1x20' }], at: '15m', labels: { namespace: 'registry', deployment: 'registry' } },
    silent: { series: [{ series: 'kube_deployment_status_replicas_unavailable{namespace="registry", deployment="registry"}', values: '0x20' }], at: '15m' },
  },
  RegistryReadOnlyTooLong: {
    firing: { series: [requests('handler="blob_upload", method="post", code="405"', '0+5x30')], at: '20m', labels: { job: 'registry' } },
    // Refused writes for 5 minutes: a GC window within its limit.
    silent: { series: [requests('handler="blob_upload", method="post", code="405"', '0+5x5 25x25')], at: '20m' },
  },
  RegistryGcJobFailed: {
    firing: { series: [{ series: 'kube_job_status_failed{namespace="registry", job_name="registry-gc-29000000"}', values: '1x5' }], at: '2m', labels: { namespace: 'registry', job_name: 'registry-gc-29000000' } },
    silent: { series: [{ series: 'kube_job_status_failed{namespace="registry", job_name="registry-gc-29000000"}', values: '0x5' }, { series: 'kube_job_status_failed{namespace="registry", job_name="other"}', values: '1x5' }], at: '2m' },
  },
  RegistryMirrorUpstreamFailing: {
    firing: { series: [requests('handler="blob", method="get", code="429"', '0+1x30', 'mirror')], at: '20m', labels: { job: 'mirror' } },
    // The registry's own 5xx are not the mirror's upstream.
    silent: { series: [requests('handler="blob", method="get", code="200"', '0+9x30', 'mirror'), requests('handler="blob", method="get", code="500"', '0+1x30')], at: '20m' },
  },
  RegistryCertificateExpiresSoon: {
    // Within 14 days of expiry from 2 h on: pending for its hour, firing after.
    firing: { series: [], at: '4h', labels: { namespace: 'registry', service: 'registry' } },
    silent: { series: [], at: '1h' },
  },
};

const ruleOf = (groups: RuleGroup[], name: AlertName) => groups[0].rules.find((r) => r.alert === name)!;

/** One promtool test group per case, named `<alert> firing|silent`. */
function unitTests(groups: RuleGroup[]) {
  return ALERT_NAMES.flatMap((name) => (['firing', 'silent'] as const).map((kind) => {
    const c = CASES[name][kind];
    return {
      name: `${name} ${kind}`,
      interval: '1m',
      input_series: c.series,
      alert_rule_test: [{
        eval_time: c.at,
        alertname: name,
        exp_alerts: c.labels ? [{ exp_labels: { ...c.labels, ...ruleOf(groups, name).labels }, exp_annotations: ruleOf(groups, name).annotations }] : [],
      }],
    };
  }));
}

/** Writes the rules and their tests to `dir`, runs `promtool test rules`; its output and whether it passed. */
async function promtoolTest(dir: string, groups: RuleGroup[]): Promise<{ ok: boolean; output: string }> {
  writeFileSync(path.join(dir, 'rules.yml'), stringify({ groups }));
  const tests = {
    rule_files: ['rules.yml'],
    evaluation_interval: '1m',
    tests: [
      ...unitTests(groups),
      {
        name: 'certificate expiry series',
        interval: '1m',
        input_series: [],
        promql_expr_test: [{ expr: 'registry_tls_certificate_expiry_timestamp_seconds', eval_time: '1m',
          exp_samples: [{ labels: 'registry_tls_certificate_expiry_timestamp_seconds{namespace="registry", service="registry"}', value: EXPIRY }] }],
      },
    ],
  };
  writeFileSync(path.join(dir, 'tests.yml'), stringify(tests));
  return run('promtool', ['test', 'rules', 'tests.yml'], { cwd: dir, maxBuffer: 16 << 20 })
    .then((r) => ({ ok: true, output: r.stdout + r.stderr }), (e) => ({ ok: false, output: `${e.stdout}${e.stderr}` }));
}

/** The groups with every alert's expression replaced by `expr`. */
function withAlertExpr(groups: RuleGroup[], expr: string): RuleGroup[] {
  return groups.map((g) => ({ ...g, rules: g.rules.map((r) => (r.alert ? { ...r, expr } : r)) }));
}

/** The alerts promtool reports a failed case of. */
const failedAlerts = (output: string) => [...new Set([...output.matchAll(/alertname: (\w+)/g)].map((m) => m[1]))].sort();

describe('the alert rules under promtool', () => {
  const cleanup = useCleanup();
  const groups = alertRuleGroups(PARAMS);
  let dir: string;

  beforeAll(async () => {
    dir = await tempDir(cleanup, 'monitoring-rules-');
  });

  test('promtool check rules accepts the rules (every alert, the GC and mirror alerts included)', async () => {
    writeFileSync(path.join(dir, 'check.yml'), stringify({ groups }));
    const { stdout } = await run('promtool', ['check', 'rules', 'check.yml'], { cwd: dir });
    expect(stdout).toContain(`SUCCESS: ${ALERT_NAMES.length + 1} rules found`);
  });

  test('every alert fires on its signal and stays silent without it (promtool test rules)', async () => {
    const result = await promtoolTest(dir, groups);
    expect(result.output).toContain('SUCCESS');
    expect(result.ok).toBe(true);
  });

  test('the unit tests can fail: alerts that never fire fail every firing case', async () => {
    const result = await promtoolTest(dir, withAlertExpr(groups, 'vector(1) == 2'));
    expect(result.ok).toBe(false);
    expect(failedAlerts(result.output)).toEqual([...ALERT_NAMES].sort());
    expect(result.output).not.toMatch(/silent/);
  });

  test('the unit tests can fail: alerts that always fire fail every silent case', async () => {
    const result = await promtoolTest(dir, withAlertExpr(groups, 'vector(1)'));
    expect(result.ok).toBe(false);
    for (const name of ALERT_NAMES) expect(result.output).toContain(`${name} silent`);
  });
});

describe('certificate expiry from cert-manager\'s metrics (cert-manager mode), under promtool', () => {
  const cleanup = useCleanup();
  const groups = alertRuleGroups({ ...PARAMS, certificateExpiry: undefined, certManagerCertificate: 'registry' });
  const expiry = (labels: string, value: number) => ({ series: `certmanager_certificate_expiration_timestamp_seconds{${labels}}`, values: `${value}x300` });
  const ours = 'name="registry", issuer_name="letsencrypt", issuer_kind="ClusterIssuer", issuer_group="cert-manager.io"';
  const alertTest = (name: string, series: { series: string; values: string }[], fires: boolean) => ({
    name,
    interval: '1m',
    input_series: series,
    alert_rule_test: [{
      eval_time: '4h',
      alertname: 'RegistryCertificateExpiresSoon',
      exp_alerts: fires ? [{ exp_labels: { namespace: 'registry', service: 'registry', severity: 'warning' }, exp_annotations: ruleOf(groups, 'RegistryCertificateExpiresSoon').annotations }] : [],
    }],
  });

  test('fires for the stack\'s Certificate whichever label carries its namespace; silent before issue, for others, and far from expiry', async () => {
    const dir = await tempDir(cleanup, 'monitoring-cert-manager-');
    writeFileSync(path.join(dir, 'rules.yml'), stringify({ groups }));
    writeFileSync(path.join(dir, 'tests.yml'), stringify({
      rule_files: ['rules.yml'],
      evaluation_interval: '1m',
      tests: [
        // Scraped with the target's labels honored: namespace is the Certificate's.
        alertTest('honored labels, expiring', [expiry(`${ours}, namespace="registry"`, EXPIRY)], true),
        // cert-manager's chart's ServiceMonitor (honorLabels: false): the Certificate's namespace moves to exported_namespace.
        alertTest('exported namespace, expiring', [expiry(`${ours}, exported_namespace="registry", namespace="cert-manager"`, EXPIRY)], true),
        alertTest('far from expiry', [expiry(`${ours}, namespace="registry"`, 60 * DAY)], false),
        // 0 until cert-manager has issued it: not "expired".
        alertTest('not issued yet', [expiry(`${ours}, namespace="registry"`, 0)], false),
        alertTest('another namespace\'s certificate of the same name', [expiry(`${ours}, namespace="other"`, EXPIRY)], false),
        alertTest('another certificate in the namespace', [expiry('name="other", namespace="registry"', EXPIRY)], false),
      ],
    }));
    const result = await run('promtool', ['test', 'rules', 'tests.yml'], { cwd: dir }).then((r) => r.stdout + r.stderr, (e) => `FAILED\n${e.stdout}${e.stderr}`);
    expect(result).toContain('SUCCESS');
    expect(result).not.toContain('FAILED');
  });
});
