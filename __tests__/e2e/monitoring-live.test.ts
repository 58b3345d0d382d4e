/**
 * The alerts and the dashboard against a real Prometheus (Debian's package) scraping the real registry (distribution
 * 2.8.2) started as registry-dev's Deployment configures it, debug port and `http.debug.prometheus` included. The
 * rules are `alertRuleGroups` with seconds for minutes: Prometheus scrapes and evaluates every second.
 * Stop the registry, make its storage fail, hold it read-only: each alert fires, and resolves after recovery.
 *
 * Each of the three faults has a registry of its own, scraped as a job of its own with its own rule group, so the
 * three wait on their rate windows at the same time (one after another they took three times as long); each test
 * checks that its alert fires, and resolves, for its own job.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { RegistryClient } from '../../lib/check/client';
import { alertRuleGroups, dashboardPanels, type AlertName } from '../../lib/monitoring/alerts';
import { READ_ONLY_ENV, READ_ONLY_VALUE } from '../../lib/operations/gc-script';
import { synthesized } from '../../harness/json';
import { tempDir, useCleanup, waitFor } from '../../harness/programs';
import { startPrometheus, type PrometheusProcess } from '../../harness/programs/prometheus';
import { type LoadUser, startStackRegistry, type StackRegistry } from '../../harness/programs/stack-registry';

/** The job of each registry: the first also serves the dashboard and the healthy-registry checks. */
const JOBS = { down: 'registry', storage: 'registry-storage', readOnly: 'registry-read-only' } as const;
type Fault = keyof typeof JOBS;
/** Long enough for a state change to show, short enough for a test: every `for:` 2 s, read-only allowed 3 s. */
const rules = (job: string) => alertRuleGroups({
  job, namespace: 'registry', appName: 'registry', garbageCollection: true,
  certificateExpiry: String(Math.floor(Date.now() / 1000) + 90 * 86400),
  errorRatio: 0.05, slowSeconds: 5, readOnlyLimit: '3s', window: '5s', forOverride: '2s',
}).map((group) => ({ ...group, name: `${group.name}-${job}` }));
/** Time for a change to reach a firing alert or leave it: 5 s of rate window, a few of scrapes and `for:`. */
const ALERT_WAIT_MS = 45_000;
/**
 * The traffic's user: bcrypt cost 4 (2.8.2 checks each request's password under one lock, ~65 ms of CPU at the
 * stack's cost 10, and three registries take requests every second); what the alerts read does not depend on it.
 */
const LOAD_USER: LoadUser = { user: 'load', password: randomBytes(16).toString('hex'), cost: 4 };

describe('alerts and dashboard on a real Prometheus scraping the real registry', () => {
  const cleanup = useCleanup();
  let registries: Record<Fault, StackRegistry>;
  let prometheus: PrometheusProcess;
  let traffic: NodeJS.Timeout | undefined;

  const alertsOf = async (name: AlertName, job: string) => (await prometheus.alerts()).filter((a) => a.labels.alertname === name && a.labels.job === job);
  const expectFires = (name: AlertName, job: string) =>
    waitFor(`${name} firing for job ${job}`, async () => (await alertsOf(name, job)).some((a) => a.state === 'firing'), { timeoutMs: ALERT_WAIT_MS, intervalMs: 500 });
  const expectResolves = (name: AlertName, job: string) =>
    waitFor(`${name} resolved for job ${job}`, async () => (await alertsOf(name, job)).length === 0, { timeoutMs: ALERT_WAIT_MS, intervalMs: 500 });

  beforeAll(async () => {
    const json = synthesized('dev');
    const started = await Promise.all(Object.keys(JOBS).map(() => startStackRegistry(cleanup, json, { loadUser: LOAD_USER })));
    registries = Object.fromEntries(Object.keys(JOBS).map((fault, i) => [fault, started[i]])) as Record<Fault, StackRegistry>;
    const dir = await tempDir(cleanup, 'monitoring-live-');
    prometheus = await startPrometheus(cleanup, dir, Object.values(JOBS).flatMap(rules),
      Object.fromEntries(Object.entries(JOBS).map(([fault, job]) => [job, `127.0.0.1:${registries[fault as Fault].debugPort}`])));
    // What a registry in use sees: manifest reads (404: nothing pushed) and upload starts.
    const senders = Object.values(registries).map((stack) => {
      const client = new RegistryClient({ host: '127.0.0.1', port: stack.port, username: LOAD_USER.user, password: LOAD_USER.password, caPem: stack.tls.caPem, timeoutMs: 5_000 });
      cleanup.add(() => client.close());
      return (method: string, p: string) => client.request(method, p).then((r) => r.drain(), () => undefined);
    });
    // once a second: enough for 1 s scrapes and 5 s rate windows
    traffic = setInterval(() => void Promise.all(senders.flatMap((send) => [send('GET', '/v2/probe/manifests/latest'), send('POST', '/v2/probe/blobs/uploads/')])), 1_000);
    cleanup.add(() => clearInterval(traffic));
    // Up for 4 s in a row (more than RegistryDown's 2 s `for:` and a 1 s evaluation): `absent(up)` before the first
    // scrape of a job no longer counts when the healthy registries are checked.
    await waitFor('the registries scraped', async () => (await prometheus.query('min_over_time(up[4s]) == 1')).length === Object.keys(JOBS).length, { timeoutMs: 30_000, intervalMs: 500 });
  }, 90_000);

  test('each dashboard query returns data', async () => {
    const panels = dashboardPanels(false).filter((p) => !p.v3Only);
    const empty = async () => {
      const results = await Promise.all(panels.map(async (p) => [p.title, await prometheus.query(p.expr.replace(/\$job/g, JOBS.down))] as const));
      return results.filter(([, r]) => r.length === 0).map(([title]) => title);
    };
    let missing: string[] = [];
    await waitFor('every panel has data', async () => (missing = await empty()).length === 0, { timeoutMs: 30_000, intervalMs: 1_000 }).catch(() => undefined);
    expect(missing).toEqual([]);
  }, 60_000);

  test('no alert fires on a healthy registry', async () => {
    // Steady state, not one instant: on a loaded 2-core machine a registry can miss two 1 s scrapes in a row (the
    // 2 s RegistryDown seen firing while the 1 GiB transfer ran beside it), which clears at the next scrape. An
    // alert the rules raise on a healthy registry stays, and fails this after 15 s.
    let firing: unknown[] = [];
    await waitFor('no alert firing', async () => (firing = (await prometheus.alerts()).filter((a) => a.state === 'firing')).length === 0, { timeoutMs: 15_000, intervalMs: 500 })
      .catch(() => undefined);
    expect(firing).toEqual([]);
  }, 30_000);

  /** What each fault's test checks, started together by the first of them: [alert, fault, recovery]. */
  const FAULTS: Record<Fault, [AlertName, (stack: StackRegistry) => Promise<() => Promise<void>>]> = {
    down: ['RegistryDown', async (stack) => {
      await stack.registry.stop();
      return async () => void await stack.start();
    }],
    storage: ['RegistryStorageErrors', async (stack) => {
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
      return async () => {
        await fs.rm(backing);
        await fs.rename(`${backing}-saved`, backing);
      };
    }],
    readOnly: ['RegistryReadOnlyTooLong', async (stack) => {
      await stack.registry.stop();
      await stack.start({ [READ_ONLY_ENV]: READ_ONLY_VALUE.on });
      return async () => {
        await stack.registry.stop();
        await stack.start({ [READ_ONLY_ENV]: READ_ONLY_VALUE.off });
      };
    }],
  };
  let runs: Record<Fault, Promise<void>> | undefined;
  /** Every fault at once, each on its own registry: fires, then recovers and resolves. */
  const run = (fault: Fault) => {
    runs ??= Object.fromEntries(Object.entries(FAULTS).map(([f, [alert, inject]]) => {
      const job = JOBS[f as Fault];
      const done = (async () => {
        const recover = await inject(registries[f as Fault]);
        await expectFires(alert, job);
        await recover();
        await expectResolves(alert, job);
      })();
      done.catch(() => undefined);
      return [f, done];
    })) as Record<Fault, Promise<void>>;
    return runs[fault];
  };

  test('RegistryDown fires when the registry stops, and resolves when it is back', async () => {
    await run('down');
  }, 2 * ALERT_WAIT_MS + 30_000);

  test('RegistryStorageErrors fires while storage fails (5xx on storage calls), and resolves after repair', async () => {
    await run('storage');
  }, 2 * ALERT_WAIT_MS + 30_000);

  test('RegistryReadOnlyTooLong fires when writes are refused past the limit, and resolves when the window closes', async () => {
    await run('readOnly');
  }, 2 * ALERT_WAIT_MS + 30_000);
});
