/** The `monitoring` setting of an environment and its check. Thresholds, labels and intervals are catalog variables. */
import type { SettingCheck } from '../storage/strategy';
import * as rules from '../rules';

export interface MonitoringSettings {
  /**
   * The PrometheusRule with the registry's alerts (docs/operations.md, "Alerts").
   * @default true
   */
  readonly rules?: boolean;
  /**
   * The Grafana dashboard ConfigMap (label `grafana_dashboard: "1"`, for the Grafana sidecar).
   * @default true
   */
  readonly dashboard?: boolean;
}

const OPTIONS = ['rules', 'dashboard'] as const;

export function validateMonitoring(check: SettingCheck, settings: MonitoringSettings): void {
  check('monitoring', settings, [{ allowed: '{ rules?: boolean, dashboard?: boolean }', test: (v) => typeof v === 'object' && v !== null && !Array.isArray(v), condition: () => 'true' }]);
  for (const [key, value] of Object.entries(settings)) {
    if (!(OPTIONS as readonly string[]).includes(key)) {
      check(`monitoring.${key}`, value, [{ allowed: `one of its options: ${OPTIONS.join(', ')}`, test: () => false, condition: () => 'false' }]);
    }
    check(`monitoring.${key}`, value, [rules.boolean]);
  }
}
