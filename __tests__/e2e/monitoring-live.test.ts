/**
 * The alerts and the dashboard against a real Prometheus (Debian's package) scraping the real registry (distribution
 * 2.8.2) started as registry-dev's Deployment configures it, debug port and `http.debug.prometheus` included. The
 * rules are `alertRuleGroups` with seconds for minutes: Prometheus scrapes and evaluates every second.
 * Stop the registry, make its storage fail, hold it read-only: each alert fires, and resolves after recovery.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { RegistryClient } from '../../lib/check/client';
import { alertRuleGroups, dashboardPanels, type AlertName } from '../../lib/monitoring/alerts';
import { READ_ONLY_ENV, READ_ONLY_VALUE } from '../../lib/operations/gc-script';
import { synthesized } from '../../harness/json';
import { tempDir, useCleanup, waitFor } from '../../harness/programs';
import { startPrometheus, type PrometheusProcess } from '../../harness/programs/prometheus';
import { startStackRegistry, type StackRegistry } from '../../harness/programs/stack-registry';

const JOB = 'registry';
/** Long enough for a state change to show, short enough for a test: every `for:` 3 s, read-only allowed 5 s. */
const RULES = alertRuleGroups({
  job: JOB, namespace: 'registry', appName: 'registry', garbageCollection: true,
  certificateExpiry: String(Math.floor(Date.now() / 1000) + 90 * 86400),
  errorRatio: 0.05, slowSeconds: 5, readOnlyLimit: '5s', window: '10s', forOverride: '3s',
});
/** Time for a change to reach a firing alert or leave it: 10 s of rate window, a few of scrapes and `for:`. */
const ALERT_WAIT_MS = 45_000;

describe('alerts and dashboard on a real Prometheus scraping the real registry', () => {
  const cleanup = useCleanup();
  let stack: StackRegistry;
  let prometheus: PrometheusProcess;
  let traffic: NodeJS.Timeout | undefined;

  const firing = async (name: AlertName) => (await prometheus.alerts()).some((a) => a.labels.alertname === name && a.state === 'firing');
  const expectFires = (name: AlertName) => waitFor(`${name} firing`, () => firing(name), { timeoutMs: ALERT_WAIT_MS, intervalMs: 500 });
  const expectResolves = (name: AlertName) =>
    waitFor(`${name} resolved`, async () => !(await prometheus.alerts()).some((a) => a.labels.alertname === name), { timeoutMs: ALERT_WAIT_MS, intervalMs: 500 });

  beforeAll(async () => {
    stack = await startStackRegistry(cleanup, synthesized('dev'));
    const dir = await tempDir(cleanup, 'monitoring-live-');
    prometheus = await startPrometheus(cleanup, dir, RULES, { [JOB]: `127.0.0.1:${stack.debugPort}` });
    // What a registry in use sees: manifest reads (404: nothing pushed) and upload starts, several a second.
    const client = new RegistryClient({ host: '127.0.0.1', port: stack.port, username: stack.user, password: stack.password, caPem: stack.tls.caPem, timeoutMs: 5_000 });
    const send = (method: string, p: string) => client.request(method, p).then((r) => r.drain(), () => undefined);
    traffic = setInterval(() => void Promise.all([send('GET', '/v2/probe/manifests/latest'), send('POST', '/v2/probe/blobs/uploads/')]), 200);
    cleanup.add(() => clearInterval(traffic));
    await waitFor('the registry scraped', async () => (await prometheus.query(`up{job="${JOB}"} == 1`)).length === 1, { timeoutMs: 30_000, intervalMs: 500 });
  }, 90_000);

  test('each dashboard query returns data', async () => {
    const panels = dashboardPanels(false).filter((p) => !p.v3Only);
    const empty = async () => {
      const results = await Promise.all(panels.map(async (p) => [p.title, await prometheus.query(p.expr.replace(/\$job/g, JOB))] as const));
      return results.filter(([, r]) => r.length === 0).map(([title]) => title);
    };
    let missing: string[] = [];
    await waitFor('every panel has data', async () => (missing = await empty()).length === 0, { timeoutMs: 30_000, intervalMs: 1_000 }).catch(() => undefined);
    expect(missing).toEqual([]);
  }, 60_000);

  test('no alert fires on a healthy registry', async () => {
    expect((await prometheus.alerts()).filter((a) => a.state === 'firing')).toEqual([]);
  });

  test('RegistryDown fires when the registry stops, and resolves when it is back', async () => {
    await stack.registry.stop();
    await expectFires('RegistryDown');
    await stack.start();
    await expectResolves('RegistryDown');
  }, 2 * ALERT_WAIT_MS + 30_000);

  test('RegistryStorageErrors fires while storage fails (5xx on storage calls), and resolves after repair', async () => {
    // As in registry.test.ts: the data volume re-pointed at a backing directory, which is then replaced by a file
    // (ENOTDIR: distribution answers 500 instead of "unknown").
    const dataDir = stack.pod.volumeDirs.data;
    const backing = path.join(stack.dir, 'storage-backing');
    await stack.registry.stop();
    await fs.mkdir(backing);
    await fs.rename(dataDir, path.join(backing, 'data'));
    await fs.symlink(path.join(backing, 'data'), dataDir);
    await stack.start();
    await fs.rename(backing, `${backing}-saved`);
    await fs.writeFile(backing, 'not a directory\n');
    await expectFires('RegistryStorageErrors');
    await fs.rm(backing);
    await fs.rename(`${backing}-saved`, backing);
    await expectResolves('RegistryStorageErrors');
  }, 2 * ALERT_WAIT_MS + 30_000);

  test('RegistryReadOnlyTooLong fires when writes are refused past the limit, and resolves when the window closes', async () => {
    await stack.registry.stop();
    await stack.start({ [READ_ONLY_ENV]: READ_ONLY_VALUE.on });
    await expectFires('RegistryReadOnlyTooLong');
    await stack.registry.stop();
    await stack.start({ [READ_ONLY_ENV]: READ_ONLY_VALUE.off });
    await expectResolves('RegistryReadOnlyTooLong');
  }, 2 * ALERT_WAIT_MS + 30_000);
});
