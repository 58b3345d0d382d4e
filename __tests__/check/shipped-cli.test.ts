import { randomInt } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as net from 'node:net';
import * as path from 'node:path';
import { EXIT_CODES } from '../../lib/check/advice';
import { runCheck, STEP_NAMES } from '../../lib/check/steps';
import { execFileAsync, tempDir, useCleanup } from '../../harness/programs';
import { PASSWORD, Scenario, startScenario, USER } from './scenario';
import { buildShipped, ROOT, runBin } from './shipped';

describe('registry-check as shipped: bin/registry-check.js running dist/, as its own process', () => {
  const cleanup = useCleanup();
  let shipped: { dir: string; bin: string };
  let scenario: Scenario;

  beforeAll(async () => {
    [shipped, scenario] = await Promise.all([buildShipped(cleanup), startScenario(cleanup)]);
  }, 60_000);

  /** Runs the shipped bin and returns, besides its output, every file Node loaded for it. */
  async function runRecordingModules(argv: string[], env: Record<string, string> = {}) {
    const dir = await tempDir(cleanup);
    const recorder = path.join(dir, 'record-modules.js');
    const log = path.join(dir, 'modules.json');
    await fs.writeFile(recorder, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(log)}, JSON.stringify(Object.keys(require.cache))));\n`);
    const run = await runBin(shipped.bin, argv, { node: ['--require', recorder], env });
    const loaded = (JSON.parse(await fs.readFile(log, 'utf8')) as string[]).filter((f) => f !== recorder);
    return { ...run, loaded };
  }

  const outside = (files: string[]) => files.filter((f) => !f.startsWith(path.join(shipped.dir, 'dist') + path.sep) && f !== shipped.bin);

  it('answers --help from compiled JavaScript alone: no TypeScript source, compiler or package is loaded', async () => {
    const { code, stdout, stderr, loaded } = await runRecordingModules(['--help']);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toMatch(/^Usage: registry-check <host:port>/);
    expect(outside(loaded)).toEqual([]);
    expect(loaded).toContain(path.join(shipped.dir, 'dist/lib/check/cli.js'));
  });

  it('passes every step against a real registry, still loading nothing but dist/', async () => {
    const { code, stdout, loaded } = await runRecordingModules(
      [scenario.registry.address, '--user', USER, '--ca-file', scenario.tls!.caCertPath],
      { REGISTRY_PASSWORD: PASSWORD },
    );
    for (const step of STEP_NAMES) expect(stdout).toMatch(new RegExp(`^PASS ${step} `, 'm'));
    expect(stdout).toMatch(/^OK: /m);
    expect(code).toBe(EXIT_CODES.ok);
    expect(outside(loaded)).toEqual([]);
  }, 30_000);

  it.each([
    ['passes', PASSWORD, EXIT_CODES.ok],
    ['fails at login', 'wrong-password', EXIT_CODES.auth],
  ])('exits with its own code, quietly, when stdout closes early (| head -1) and the check %s', async (_how, password, exitCode) => {
    const dir = await tempDir(cleanup);
    const errors = path.join(dir, 'stderr.txt');
    // head exits after the first line; every later line meets a closed pipe (EPIPE).
    const script = 'node "$@" 2>"$ERRORS" | head -n 1; echo "exit=${PIPESTATUS[0]}"';
    const { stdout } = await execFileAsync('bash', ['-c', script, 'bash', shipped.bin, scenario.registry.address, '--user', USER, '--ca-file', scenario.tls!.caCertPath], {
      env: { ...process.env, PATH: `${path.dirname(process.execPath)}:${process.env.PATH}`, ERRORS: errors, REGISTRY_PASSWORD: password },
    });
    expect(stdout).toBe(`registry-check ${scenario.registry.address} (repository registry-check/probe)\nexit=${exitCode}\n`);
    expect(await fs.readFile(errors, 'utf8')).toBe('');
  }, 30_000);

  it.each([
    ['an unknown option', ['127.0.0.1:5000', '--frobnicate', '--json'], /^Unknown option '--frobnicate'/],
    ['no target', ['--json', '--user', 'u'], /^expected exactly one <host:port>, got 0$/],
    ['a port out of range', ['registry.example.com:99999', '--json'], /^port 99999 in "registry\.example\.com:99999" is out of range \(1-65535\)$/],
    ['a bad --timeout', ['--json', '127.0.0.1:5000', '--timeout', 'soon'], /^--timeout: expected seconds > 0/],
  ])('reports a usage error as JSON on stdout with --json (exit 2): %s', async (_what, argv, message) => {
    const { code, stdout, stderr } = await runBin(shipped.bin, argv);
    expect(code).toBe(EXIT_CODES.usage);
    expect(JSON.parse(stdout)).toEqual({ ok: false, exitCode: EXIT_CODES.usage, failure: 'usage', error: expect.stringMatching(message), help: 'registry-check --help' });
    expect(stderr).toMatch(/^registry-check: .*\nTry 'registry-check --help'\.\n$/);
  });

  describe('a target without a port', () => {
    // A loopback address of its own, so port 443 on it is free whatever else the machine runs; a TCP relay there
    // stands in for a registry served on 443 (binding 443 needs root, which the tests have, as CI does).
    const address = `127.${randomInt(1, 255)}.${randomInt(0, 256)}.${randomInt(1, 255)}`;
    let onPort443: Scenario;

    beforeAll(async () => {
      onPort443 = await startScenario(cleanup, { tls: { ipAddresses: ['127.0.0.1', address] } });
      const relay = net.createServer((client) => {
        const upstream = net.connect(onPort443.registry.port, '127.0.0.1');
        client.pipe(upstream).pipe(client);
        const close = () => { client.destroy(); upstream.destroy(); };
        client.once('error', close);
        upstream.once('error', close);
      });
      await new Promise<void>((resolve, reject) => relay.once('error', reject).listen(443, address, resolve));
      cleanup.add(() => new Promise<void>((resolve) => relay.close(() => resolve())));
    }, 30_000);

    const args = () => [address, '--user', USER, '--ca-file', onPort443.tls!.caCertPath];

    it('says which port it assumed, in text', async () => {
      const { code, stdout } = await runBin(shipped.bin, args(), { env: { REGISTRY_PASSWORD: PASSWORD } });
      expect(stdout.split('\n').slice(0, 2)).toEqual([
        `registry-check ${address} (repository registry-check/probe)`,
        "     port: none given, assuming 443 (the HTTPS default); the stack's registry_endpoint output names its port (external_port, 5000 unless set)",
      ]);
      expect(stdout).toMatch(/^OK: /m);
      expect(code).toBe(EXIT_CODES.ok);
    }, 30_000);

    it('says which port it assumed, in --json', async () => {
      const { code, stdout } = await runBin(shipped.bin, [...args(), '--json'], { env: { REGISTRY_PASSWORD: PASSWORD } });
      expect(JSON.parse(stdout)).toMatchObject({ ok: true, target: address, port: 443, portAssumed: true });
      expect(code).toBe(EXIT_CODES.ok);
    }, 30_000);

    it('names the assumed port when nothing listens there', async () => {
      const nobody = `127.${randomInt(1, 255)}.${randomInt(0, 256)}.${randomInt(1, 255)}`;
      const result = await runCheck({ target: nobody });
      expect(result).toMatchObject({ exitCode: EXIT_CODES.connection, port: 443, portAssumed: true });
      expect(result.steps[0].detail).toBe(`connection refused: nothing listens on ${nobody}:443 (no port given, 443 assumed)`);
    });
  });

  describe('a certificate that ends within 30 days (openssl -days 2)', () => {
    let shortLived: Scenario;
    beforeAll(async () => {
      shortLived = await startScenario(cleanup, { tls: { validityDays: 2 } });
    }, 30_000);
    const args = () => [shortLived.registry.address, '--user', USER, '--ca-file', shortLived.tls!.caCertPath];
    const warning = /^certificate expires in 1 day, at (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z): renew it\. The stack re-issues a generated one on the first apply within cert_early_renewal_hours/;

    it('passes with a warning line in text (exit 0)', async () => {
      const { code, stdout, stderr } = await runBin(shipped.bin, args(), { env: { REGISTRY_PASSWORD: PASSWORD } });
      const lines = stdout.split('\n');
      const tls = lines.findIndex((l) => l.startsWith('PASS tls '));
      expect(lines[tls + 1].replace(/^ {5}WARNING: /, '')).toMatch(warning);
      expect(stderr.replace(/^!!! WARNING: /, '')).toMatch(warning);
      expect(stdout).toMatch(/^OK: .* passed 8 steps with 1 warning\(s\)$/m);
      expect(code).toBe(EXIT_CODES.ok);
    }, 30_000);

    it('reports certificate { notAfter, daysLeft, expiresSoon } in --json (exit 0)', async () => {
      const { code, stdout } = await runBin(shipped.bin, [...args(), '--json'], { env: { REGISTRY_PASSWORD: PASSWORD } });
      const result = JSON.parse(stdout);
      expect(result).toMatchObject({ ok: true, exitCode: EXIT_CODES.ok, certificate: { daysLeft: 1, expiresSoon: true }, warnings: [expect.stringMatching(warning)] });
      const { stdout: enddate } = await execFileAsync('openssl', ['x509', '-noout', '-enddate', '-in', shortLived.tls!.certPath]);
      expect(result.certificate.notAfter).toBe(new Date(enddate.trim().replace(/^notAfter=/, '')).toISOString());
      expect(result.warnings[0]).toContain(result.certificate.notAfter);
      expect(code).toBe(EXIT_CODES.ok);
    }, 30_000);
  });

  // docs/verify-and-check.md: `npm run -s check -- ... --json | jq` or `npx registry-check ... --json | jq` (the checkout's own bin).
  it.each([
    ['npm run -s check --', 'npm', ['run', '-s', 'check', '--']],
    ['npx registry-check', 'npx', ['registry-check']],
  ])('keeps stdout pure JSON when started as docs/verify-and-check.md says: %s', async (_how, launcher, args) => {
    const { stdout } = await execFileAsync(launcher, [...args, scenario.registry.address, '--user', USER, '--ca-file', scenario.tls!.caCertPath, '--json'], {
      cwd: ROOT,
      env: { ...process.env, REGISTRY_PASSWORD: PASSWORD },
    });
    expect(JSON.parse(stdout)).toMatchObject({ ok: true, exitCode: EXIT_CODES.ok, target: scenario.registry.address });
  }, 90_000); // npm and npx start slowly on a busy 2-core machine (30 s was exceeded there)

  it('keeps lib/check free of cdktf: the compile holds lib/check and the pure lib/rules.ts and lib/hcl.ts only', async () => {
    const files: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) await walk(file);
        else files.push(path.relative(path.join(shipped.dir, 'dist'), file));
      }
    };
    await walk(path.join(shipped.dir, 'dist'));
    const sources = (await fs.readdir(path.join(ROOT, 'lib/check'))).filter((f) => f.endsWith('.ts')).map((f) => `lib/check/${f.replace(/\.ts$/, '.js')}`);
    expect(files.sort()).toEqual([...sources, 'lib/hcl.js', 'lib/rules.js'].sort());
  });

  it('says how to build dist/ when it is missing and the sources cannot run', async () => {
    const bare = await tempDir(cleanup);
    await fs.mkdir(path.join(bare, 'bin'));
    await fs.copyFile(shipped.bin, path.join(bare, 'bin/registry-check.js'));
    const { code, stdout, stderr } = await runBin(path.join(bare, 'bin/registry-check.js'), ['--help']);
    expect({ code, stdout }).toEqual({ code: 1, stdout: '' });
    expect(stderr).toMatch(/^registry-check: dist\/ is missing and the TypeScript sources cannot run without it\. Build it with `npm run build:check`/);
  });

  it('runs the TypeScript sources, saying so, when dist/ is older than them (lib/check edited since the build)', async () => {
    // A checkout: the project's sources, scripts and node_modules beside a dist/ built before the last edit.
    const checkout = await tempDir(cleanup);
    await fs.cp(path.join(shipped.dir, 'dist'), path.join(checkout, 'dist'), { recursive: true });
    await fs.cp(path.join(shipped.dir, 'bin'), path.join(checkout, 'bin'), { recursive: true });
    for (const link of ['lib', 'scripts', 'node_modules']) await fs.symlink(path.join(ROOT, link), path.join(checkout, link));
    const longAgo = new Date('2020-01-01T00:00:00Z');
    await fs.utimes(path.join(checkout, 'dist/lib/check/steps.js'), longAgo, longAgo);
    const { code, stdout, stderr } = await runBin(path.join(checkout, 'bin/registry-check.js'), ['--help'], {
      env: { REGISTER_TS_CACHE_DIR: path.join(checkout, 'register-ts-cache') },
    });
    expect(stderr).toBe('registry-check: dist/ is older than lib/check/steps.ts: running the TypeScript sources (slower start); `npm run build:check` rebuilds it.\n');
    expect(stdout).toMatch(/^Usage: registry-check/);
    expect(code).toBe(0);
  });
});
