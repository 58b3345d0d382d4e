/**
 * A real Prometheus (Debian's `prometheus` package) on a free loopback port, scraping and evaluating every second:
 * the monitoring tests hand it the stack's alert rules and the registry's debug port. Stopped by PID on cleanup.
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { stringify } from 'yaml';
import type { RuleGroup } from '../../lib/monitoring/alerts';
import { Cleanup } from './cleanup';
import { freePort, httpGet } from './net';
import { RunningProcess, spawnLogged, waitUntilReady } from './process';

export interface PrometheusProcess {
  readonly process: RunningProcess;
  readonly port: number;
  /** An instant query's result vector (`/api/v1/query`). */
  query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  /** The alerts Prometheus holds (`/api/v1/alerts`): pending or firing. */
  alerts(): Promise<{ labels: Record<string, string>; state: 'pending' | 'firing' }[]>;
}

/** Starts Prometheus in `dir` with `groups` as its rules and one static scrape job per entry of `targets`. */
export async function startPrometheus(cleanup: Cleanup, dir: string, groups: RuleGroup[], targets: Record<string, string>): Promise<PrometheusProcess> {
  const port = await freePort();
  writeFileSync(path.join(dir, 'rules.yml'), stringify({ groups }));
  writeFileSync(path.join(dir, 'prometheus.yml'), stringify({
    global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
    rule_files: ['rules.yml'],
    scrape_configs: Object.entries(targets).map(([job, target]) => ({ job_name: job, static_configs: [{ targets: [target] }] })),
  }));
  const process = spawnLogged(cleanup, 'prometheus', [
    `--config.file=${path.join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
  ], { logPath: path.join(dir, 'prometheus.log') });
  const api = async (apiPath: string) => {
    const { status, body } = await httpGet(`http://127.0.0.1:${port}${apiPath}`);
    if (status !== 200) throw new Error(`Prometheus ${apiPath}: ${status} ${body}`);
    return JSON.parse(body).data;
  };
  await waitUntilReady(process, 'Prometheus ready', async () => (await httpGet(`http://127.0.0.1:${port}/-/ready`)).status === 200, 60_000);
  return {
    process,
    port,
    query: async (expr) => (await api(`/api/v1/query?query=${encodeURIComponent(expr)}`)).result,
    alerts: async () => (await api('/api/v1/alerts')).alerts,
  };
}
