import { spawn } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { EXIT_CODES } from '../../lib/check/advice';
import { RESERVED_INGRESS_NGINX_PORTS } from '../../lib/rules';
import { RegistryClient } from '../../lib/check/client';
import { DEFAULT_REPOSITORY, runCheck, STEP_NAMES } from '../../lib/check/steps';
import { execFileAsync, freePort, makeTlsMaterial, startNginxStream, tempDir, useCleanup } from '../../harness/programs';
import { PASSWORD, runCli, Scenario, startScenario, USER } from './scenario';

const ROOT = path.resolve(__dirname, '../..');

describe('registry-check against a real registry (TLS + htpasswd + deletes enabled)', () => {
  const cleanup = useCleanup();
  let scenario: Scenario;
  let viaNginx: string;

  beforeAll(async () => {
    scenario = await startScenario(cleanup);
    const nginx = await startNginxStream(cleanup, {
      dir: path.join(scenario.dir, 'nginx'),
      port: await freePort(),
      upstreamPort: scenario.registry.port,
    });
    viaNginx = nginx.address;
  }, 30_000);

  const check = (target: string, extra: Partial<Parameters<typeof runCheck>[0]> = {}) =>
    runCheck({ target, username: USER, password: PASSWORD, caPem: scenario.tls!.caPem, ...extra });

  it.each([
    ['directly', () => scenario.registry.address],
    ['through the nginx stream proxy (tcp-services stand-in)', () => viaNginx],
  ])('passes every step %s', async (_how, target) => {
    const result = await check(target());
    expect(result.steps.map((s) => [s.name, s.ok])).toEqual(STEP_NAMES.map((n) => [n, true]));
    expect(result).toMatchObject({ ok: true, exitCode: EXIT_CODES.ok, warnings: [] });
    expect(result.manifestDigest).toMatch(/^sha256:[a-f0-9]{64}$/);
    // Both upload paths a registry offers: the probe layer in Content-Range chunks, the config monolithic.
    expect(result.steps.find((s) => s.name === 'push')!.detail).toMatch(/chunked upload\);.*monolithic upload\)/);
    expect(result.steps.find((s) => s.name === 'cleanup')!.detail).toMatch(/^deleted manifest/);
  });

  it('leaves registry-check/probe in the catalog without tags, and says why it stays', async () => {
    const result = await check(scenario.registry.address);
    expect(result).toMatchObject({ ok: true, repository: 'registry-check/probe' });
    expect(DEFAULT_REPOSITORY).toBe('registry-check/probe');
    expect(result.steps.at(-1)!.detail).toMatch(
      /; registry-check\/probe stays listed in \/v2\/_catalog, without tags: distribution never removes a repository from it$/,
    );
    const client = new RegistryClient({ host: '127.0.0.1', port: scenario.registry.port, username: USER, password: PASSWORD, caPem: scenario.tls!.caPem });
    try {
      const catalog = JSON.parse(await (await client.expect('GET', '/v2/_catalog', [200])).text()) as { repositories: string[] };
      expect(catalog.repositories).toContain('registry-check/probe');
      const tags = JSON.parse(await (await client.expect('GET', '/v2/registry-check/probe/tags/list', [200])).text()) as { tags: string[] | null };
      expect(tags.tags ?? []).toEqual([]);
    } finally {
      client.close();
    }
  });

  it('pushes an image that skopeo, an independent client, can inspect and copy (--no-cleanup)', async () => {
    const result = await check(scenario.registry.address, { cleanup: false });
    expect(result.ok).toBe(true);
    const ref = `docker://${scenario.registry.address}/${result.repository}:${result.tag}`;
    const auth = ['--cert-dir', scenario.tls!.certDir, '--creds', `${USER}:${PASSWORD}`];
    const { stdout } = await execFileAsync('skopeo', ['inspect', ...auth, ref]);
    const inspected = JSON.parse(stdout) as { Digest: string; Layers: string[]; Os: string; Architecture: string };
    expect(inspected).toMatchObject({ Digest: result.manifestDigest, Os: 'linux', Architecture: 'amd64' });
    expect(inspected.Layers).toHaveLength(1);
    // skopeo copy re-verifies every blob digest while it pulls.
    const dir = await tempDir(cleanup);
    const policy = path.join(dir, 'policy.json');
    await fs.writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    await execFileAsync('skopeo', ['copy', '--policy', policy, '--src-cert-dir', scenario.tls!.certDir, '--src-creds', `${USER}:${PASSWORD}`, ref, `dir:${path.join(dir, 'image')}`]);
    const files = await fs.readdir(path.join(dir, 'image'));
    expect(files).toEqual(expect.arrayContaining(['manifest.json', inspected.Layers[0].replace('sha256:', '')]));
  }, 30_000);

  // The registry bcrypt-verifies every request (~14 per run): give parallel runs room on a busy machine.
  it('runs concurrently without interference (unique content per run)', async () => {
    const results = await Promise.all([1, 2, 3].map(() => check(viaNginx)));
    // a failed step says why (one run's cleanup failed once, exit code 8, under a loaded machine)
    expect(results.map((r) => r.steps.filter((s) => !s.ok).map((s) => `${s.name}: ${s.detail}`))).toEqual([[], [], []]);
    expect(results.map((r) => r.exitCode)).toEqual([0, 0, 0]);
    expect(new Set(results.map((r) => r.manifestDigest)).size).toBe(3);
  }, 30_000);

  it('fails with exit 3 and --ca-file advice when the CA is unknown', async () => {
    const result = await check(scenario.registry.address, { caPem: undefined });
    expect(result).toMatchObject({ ok: false, exitCode: EXIT_CODES.tls, failure: 'tls' });
    expect(result.steps).toHaveLength(1);
    expect(result.steps[0].detail).toMatch(/unknown authority/);
    expect(result.steps[0].advice).toMatch(/--ca-file/);
  });

  it('names the given CA file when a different CA signed the certificate', async () => {
    const other = await makeTlsMaterial(path.join(scenario.dir, 'other-ca'));
    const result = await check(scenario.registry.address, { caPem: other.caPem, caFile: other.caCertPath });
    expect(result.exitCode).toBe(EXIT_CODES.tls);
    expect(result.steps[0].advice).toContain(`The CA in ${other.caCertPath} did not sign this certificate`);
  });

  it('fails with exit 4 and bcrypt advice on a wrong password', async () => {
    const result = await check(scenario.registry.address, { password: 'not-the-password' });
    expect(result).toMatchObject({ ok: false, exitCode: EXIT_CODES.auth, failure: 'auth' });
    const failed = result.steps[result.steps.length - 1];
    expect(failed).toMatchObject({ name: 'login', ok: false });
    expect(failed.detail).toMatch(/HTTP 401/);
    expect(failed.advice).toMatch(/bcrypt/);
  });

  it('fails with exit 4 when the registry wants credentials and none are given', async () => {
    const result = await check(scenario.registry.address, { username: undefined, password: undefined });
    expect(result.exitCode).toBe(EXIT_CODES.auth);
    expect(result.steps.map((s) => s.name)).toEqual(['tls', 'health', 'auth-challenge', 'login']);
    expect(result.steps[3].advice).toMatch(/--password-stdin/);
  });

  it('fails with exit 7 and exposure advice when nothing listens', async () => {
    const result = await check(`127.0.0.1:${await freePort()}`);
    expect(result).toMatchObject({ ok: false, exitCode: EXIT_CODES.connection, failure: 'connection' });
    expect(result.steps[0].detail).toMatch(/connection refused/);
    expect(result.steps[0].advice).toMatch(/tcp map/);
    // The same list the stack validates external_port against (lib/rules.ts), not a copy that can drift.
    expect(result.steps[0].advice).toContain(`reserves, ${RESERVED_INGRESS_NGINX_PORTS.join(', ')}, are skipped`);
  });

  it('passes with --insecure and an unknown CA, warning loudly', async () => {
    const { code, stdout, stderr } = await runCli([scenario.registry.address, '--insecure', '--user', USER], { env: { REGISTRY_PASSWORD: PASSWORD } });
    expect(code).toBe(0);
    expect(stderr).toMatch(/WARNING: --insecure: TLS certificate verification is OFF/);
    expect(stderr).toMatch(/unknown authority/);
    expect(stdout).toMatch(/^OK: .* passed 8 steps with 2 warning\(s\)$/m);
  });

  it('prints one JSON result with --json (password from stdin)', async () => {
    const { code, stdout } = await runCli(
      [scenario.registry.address, '--user', USER, '--password-stdin', '--ca-file', scenario.tls!.caCertPath, '--json', '--repository', 'team/json-probe'],
      { stdin: `${PASSWORD}\n` },
    );
    expect(code).toBe(0);
    const result = JSON.parse(stdout);
    expect(result).toMatchObject({ ok: true, exitCode: 0, target: scenario.registry.address, port: scenario.registry.port, portAssumed: false, repository: 'team/json-probe', warnings: [] });
    expect(Object.keys(result).sort()).toEqual(['certificate', 'exitCode', 'manifestDigest', 'ok', 'port', 'portAssumed', 'repository', 'steps', 'tag', 'target', 'warnings']);
    // The test certificate lasts a year: no warning, the end date all the same.
    expect(result.certificate).toEqual({ notAfter: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/), daysLeft: 364, expiresSoon: false });
    for (const step of result.steps) {
      expect(step).toEqual({ name: expect.any(String), ok: true, ms: expect.any(Number), detail: expect.any(String) });
    }
    expect(result.steps.map((s: { name: string }) => s.name)).toEqual(STEP_NAMES);
  });

  it('reports the failing step, advice and exit code in --json', async () => {
    const { code, stdout } = await runCli([scenario.registry.address, '--user', USER, '--ca-file', scenario.tls!.caCertPath, '--json'], { env: { REGISTRY_PASSWORD: 'wrong' } });
    expect(code).toBe(EXIT_CODES.auth);
    const result = JSON.parse(stdout);
    expect(result).toMatchObject({ ok: false, exitCode: EXIT_CODES.auth, failure: 'auth' });
    expect(result.steps.at(-1)).toMatchObject({ name: 'login', ok: false, advice: expect.stringMatching(/bcrypt/) });
  });

  it('runs as the installed bin shim with the password on stdin', async () => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/registry-check.js'), viaNginx, '--user', USER, '--password-stdin', '--ca-file', scenario.tls!.caCertPath], { cwd: ROOT });
    child.stdin.end(PASSWORD);
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    const [code] = await new Promise<[number | null]>((resolve) => child.once('close', (c) => resolve([c])));
    expect(stdout).toMatch(/^PASS push /m);
    expect(stdout).toMatch(/^OK: /m);
    expect(code).toBe(0);
  }, 30_000);
});

describe('registry-check usage errors (exit 2)', () => {
  it.each([
    ['a password on argv', ['127.0.0.1:5000', '--user', 'u', '--password', 'secret'], /never taken on the command line/],
    ['no target', ['--user', 'u'], /exactly one <host:port>/],
    ['--user without a password', ['127.0.0.1:5000', '--user', 'u'], /needs a password/],
    ['--password-stdin without --user', ['127.0.0.1:5000', '--password-stdin'], /needs --user/],
    ['a bad target', ['https://x/y'], /expected <host>:<port>/],
    ['a bad repository', ['127.0.0.1:5000', '--repository', 'Upper/Case'], /not a valid repository name/],
    ['a missing CA file', ['127.0.0.1:5000', '--ca-file', '/nonexistent/ca.pem'], /cannot read/],
    ['an unknown option', ['127.0.0.1:5000', '--frobnicate'], /Unknown option/],
  ])('rejects %s', async (_what, argv, message) => {
    const { code, stderr, stdout } = await runCli(argv);
    expect(code).toBe(EXIT_CODES.usage);
    expect(stderr).toMatch(message);
    expect(stdout).toBe('');
  });

  it('documents every exit code in --help', async () => {
    const { code, stdout } = await runCli(['--help']);
    expect(code).toBe(0);
    for (const [kind, exit] of Object.entries(EXIT_CODES)) {
      expect({ kind, documented: new RegExp(`^  ${exit}  `, 'm').test(stdout) }).toEqual({ kind, documented: true });
    }
  });
});
