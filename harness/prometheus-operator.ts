/**
 * Validates the prometheus-operator objects the stack emits (ServiceMonitor, PrometheusRule, monitoring.coreos.com/v1)
 * against the CRD schemas of a pinned release, with the walker of harness/gateway-api.ts (envelope, defaulting,
 * structural schema, strict unknown fields). These CRDs carry no CEL rules. Data: harness/data/prometheus-operator-<tag>/.
 */
import * as path from 'node:path';
import { type GatewayApiError, type ValidateOptions, validateCustomObject } from './gateway-api';

export const PROMETHEUS_OPERATOR_TAG = 'v0.93.0';
export const PROMETHEUS_OPERATOR_DATA_DIR = path.join(__dirname, 'data', `prometheus-operator-${PROMETHEUS_OPERATOR_TAG}`);

const crd = (schemaFile: string, kind: string) => ({ dataDir: PROMETHEUS_OPERATOR_DATA_DIR, schemaFile, apiVersion: 'monitoring.coreos.com/v1', kind });

export function validateServiceMonitor(obj: unknown, options: ValidateOptions = {}): GatewayApiError[] {
  return validateCustomObject(obj, crd('servicemonitor-v1.schema.json', 'ServiceMonitor'), [], options);
}

export function validatePrometheusRule(obj: unknown, options: ValidateOptions = {}): GatewayApiError[] {
  return validateCustomObject(obj, crd('prometheusrule-v1.schema.json', 'PrometheusRule'), [], options);
}
