/**
 * Validates the prometheus-operator objects the stack emits (ServiceMonitor, PrometheusRule, monitoring.coreos.com/v1)
 * against the CRDs of a pinned release with the generic CRD validator (harness/crd). These CRDs carry no CEL rules.
 * Data: harness/data/prometheus-operator-<tag>/.
 */
import { CRD_RELEASES } from './crd/catalog';
import { validateAs, type ValidationError } from './crd';

export const PROMETHEUS_OPERATOR_TAG = CRD_RELEASES['prometheus-operator'];

export function validateServiceMonitor(obj: unknown): ValidationError[] {
  return validateAs('monitoring.coreos.com/v1', 'ServiceMonitor', obj);
}

export function validatePrometheusRule(obj: unknown): ValidationError[] {
  return validateAs('monitoring.coreos.com/v1', 'PrometheusRule', obj);
}
