/**
 * The prometheus-operator v0.93.0 CRDs through validateCustomResource (no CEL rules; the schema's enums, patterns and
 * an int-or-string port). The monitoring objects the stack emits, rendered from terraform's values, are checked in
 * __tests__/e2e/monitoring-objects.test.ts.
 */
import { CEL_BLOCKED, formatErrors, validateCustomResource } from '../../../harness/crd';

const MONITORING = 'monitoring.coreos.com/v1';
const metadata = { name: 'registry', namespace: 'registry', labels: { release: 'prometheus' } };
const errors = (object: unknown) => formatErrors(validateCustomResource(object));

function serviceMonitor(endpoint: Record<string, unknown>): any {
  return { apiVersion: MONITORING, kind: 'ServiceMonitor', metadata, spec: { selector: { matchLabels: { 'app.kubernetes.io/name': 'registry' } }, endpoints: [{ port: 'metrics', interval: '30s', scheme: 'http', ...endpoint }] } };
}

describe('prometheus-operator v0.93.0 CRDs through validateCustomResource', () => {
  test('a ServiceMonitor by port name, or by targetPort as a number or a name (int-or-string)', () => {
    expect(errors(serviceMonitor({}))).toEqual([]);
    expect(errors(serviceMonitor({ port: undefined, targetPort: 5001 }))).toEqual([]);
    expect(errors(serviceMonitor({ port: undefined, targetPort: 'debug' }))).toEqual([]);
  });

  test('a ServiceMonitor with a bad interval, an unknown scheme, a targetPort that is neither', () => {
    expect(errors(serviceMonitor({ interval: '30 seconds', scheme: 'tcp', targetPort: true }))).toEqual([
      "spec.endpoints[0].interval: Invalid value: \"30 seconds\": should match '^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$'",
      'spec.endpoints[0].scheme: Unsupported value: "tcp": supported values: "http", "https", "HTTP", "HTTPS"',
      'spec.endpoints[0].targetPort: Invalid value: true: must validate at least one schema (anyOf)',
      'spec.endpoints[0].targetPort: Invalid value: "boolean": must be of type integer or string: true',
      CEL_BLOCKED,
    ]);
  });

  test('a PrometheusRule: groups need a name, rules an expr', () => {
    const rule = (r: Record<string, unknown>) => ({ apiVersion: MONITORING, kind: 'PrometheusRule', metadata, spec: { groups: [{ name: 'registry', rules: [r] }] } });
    expect(errors(rule({ alert: 'RegistryDown', expr: 'up{job="registry"} == 0', for: '5m', labels: { severity: 'critical' } }))).toEqual([]);
    expect(errors(rule({ alert: 'RegistryDown', for: '5m' }))).toEqual(['spec.groups[0].rules[0].expr: Required value', CEL_BLOCKED]);
  });
});
