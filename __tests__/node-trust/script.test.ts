import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { NodeTrustScriptOptions, renderContainerdHostsToml, renderNodeTrustScript } from '../../lib/node-trust/script';
import { removeDirectory } from '../../harness/remove';

// ---------------------------------------------------------------------------------------------------------------
// helpers

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function mustRun(cmd: string, args: string[]): string {
  const r = run(cmd, args);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** A self-signed ECDSA P-256 CA in `dir`: returns the paths of its certificate and key. */
function makeCa(dir: string, name: string) {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  mustRun('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-subj', `/CN=${name}`, '-keyout', key, '-out', cert,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { cert, key };
}

/** A P-256 server certificate for 127.0.0.1 and localhost signed by `ca`. */
function makeLeaf(dir: string, ca: { cert: string; key: string }) {
  const cert = join(dir, 'registry.crt');
  const key = join(dir, 'registry.key');
  const csr = join(dir, 'registry.csr');
  const ext = join(dir, 'registry.ext');
  writeFileSync(ext, [
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=serverAuth',
  ].join('\n'));
  mustRun('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=localhost', '-keyout', key, '-out', csr]);
  mustRun('openssl', ['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-days', '2', '-out', cert, '-extfile', ext]);
  return { cert, key };
}

/** Paths the script is given: a temp "node" root with both certs.d mounts and the CA mount. */
function nodeRoot(parent: string, hosts: string[], extra: Partial<NodeTrustScriptOptions> = {}) {
  const root = mkdtempSync(join(parent, 'node-'));
  const opts: NodeTrustScriptOptions = {
    registryHosts: hosts,
    caPath: join(root, 'run/registry-ca/ca.crt'),
    containerdCertsDir: join(root, 'host/etc/containerd/certs.d'),
    containersCertsDir: join(root, 'host/etc/containers/certs.d'),
    intervalSeconds: 60,
    ...extra,
  };
  mkdirSync(join(root, 'run/registry-ca'), { recursive: true });
  const script = join(root, 'node-trust.sh');
  writeFileSync(script, renderNodeTrustScript(opts));
  /** Mounts `caFile` as the CA secret and runs one pass with sh. */
  const pass = (caFile?: string) => {
    if (caFile) copyFileSync(caFile, opts.caPath);
    return run('sh', [script], { ONCE: '1' });
  };
  return { root, opts, pass };
}

const filesFor = (opts: NodeTrustScriptOptions, hostPort: string) => ({
  containerdCa: join(opts.containerdCertsDir, hostPort, 'ca.crt'),
  hostsToml: join(opts.containerdCertsDir, hostPort, 'hosts.toml'),
  containersCa: join(opts.containersCertsDir, hostPort, 'ca.crt'),
});

/** Inode + mtime: `mv` of a fresh temp file always changes the inode, so equal means "not rewritten". */
const identity = (path: string) => {
  const s = statSync(path);
  return `${s.ino}:${s.mtimeMs}`;
};

const changeLines = (log: string) => log.split('\n').filter((l) => /node-trust: (created|updated) /.test(l));

let work: string;
let ca1: { cert: string; key: string };
let ca2: { cert: string; key: string };

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'node-trust-'));
  ca1 = makeCa(work, 'registry-ca-1');
  ca2 = makeCa(work, 'registry-ca-2');
});
afterAll(() => removeDirectory(work));

// ---------------------------------------------------------------------------------------------------------------

describe('renderNodeTrustScript options', () => {
  const valid: NodeTrustScriptOptions = {
    registryHosts: ['registry.example.com:5000'],
    caPath: '/run/registry-ca/ca.crt',
    containerdCertsDir: '/host/etc/containerd/certs.d',
    containersCertsDir: '/host/etc/containers/certs.d',
    intervalSeconds: 300,
  };

  test('accepts DNS names, IPv4 and bracketed IPv6 with ports', () => {
    const script = renderNodeTrustScript({ ...valid, registryHosts: ['registry.example.com:5000', '192.0.2.10:443', '[2001:db8::1]:5000'] });

    expect(script).toContain("REGISTRY_HOSTS='registry.example.com:5000 192.0.2.10:443 [2001:db8::1]:5000'");
  });

  test('fails when registryHosts is empty', () => {
    expect(() => renderNodeTrustScript({ ...valid, registryHosts: [] })).toThrow('registryHosts: [] is not allowed; expected a list with at least one "host:port".');
  });

  test.each([
    ['registry.example.com', 'no port'],
    ['https://registry.example.com:5000', 'a scheme'],
    ['registry.example.com:5000/v2', 'a path'],
    ['registry.example.com:0', 'port 0'],
    ['registry.example.com:65536', 'port above 65535'],
    ['registry..example.com:5000', 'an empty label'],
    ['-registry.example.com:5000', 'a label starting with -'],
    ['300.1.1.1:5000', 'an IPv4 octet above 255'],
    ['2001:db8::1:5000', 'IPv6 without brackets'],
    ['reg istry:5000', 'a space'],
    ["reg'istry:5000", 'a quote'],
  ])('fails when a registry host is %j (%s)', (entry) => {
    expect(() => renderNodeTrustScript({ ...valid, registryHosts: ['ok.example.com:5000', entry] })).toThrow(
      `registryHosts[1]: ${JSON.stringify(entry)} is not allowed; expected "host:port"`,
    );
  });

  test('fails when a registry host is listed twice', () => {
    expect(() => renderNodeTrustScript({ ...valid, registryHosts: ['a.example.com:5000', 'b.example.com:5000', 'a.example.com:5000'] })).toThrow(
      'registryHosts[2]: "a.example.com:5000" is not allowed; expected a "host:port" not already listed (it repeats registryHosts[0]).',
    );
  });

  test.each([
    ['caPath', 'run/registry-ca/ca.crt'],
    ['containerdCertsDir', '/host/etc/containerd/certs.d/'],
    ['containersCertsDir', '/host/etc/containers/../certs.d'],
    ['containerdHostCertsDir', '/etc/containerd/certs d'],
  ] as const)('fails when %s is %j', (field, value) => {
    expect(() => renderNodeTrustScript({ ...valid, [field]: value })).toThrow(`${field}: ${JSON.stringify(value)} is not allowed; expected an absolute path`);
  });

  test.each([0, -5, 1.5, 86401])('fails when intervalSeconds is %p', (value) => {
    expect(() => renderNodeTrustScript({ ...valid, intervalSeconds: value })).toThrow(
      `intervalSeconds: ${value} is not allowed; expected a whole number of seconds from 1 to 86400.`,
    );
  });
});

describe('node trust script run by sh (ONCE=1)', () => {
  const HOSTS = ['registry.example.com:5000', '192.0.2.10:30500'];

  test('writes ca.crt and hosts.toml for containerd and ca.crt for CRI-O/podman, for every registry', () => {
    const node = nodeRoot(work, HOSTS);

    const r = node.pass(ca1.cert);

    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const ca = readFileSync(ca1.cert, 'utf8');
    for (const hostPort of HOSTS) {
      const f = filesFor(node.opts, hostPort);
      expect(readFileSync(f.containerdCa, 'utf8')).toBe(ca);
      expect(readFileSync(f.containersCa, 'utf8')).toBe(ca);
      // the ca path is the node's, not the pod mount's: containerd reads it on the host
      expect(readFileSync(f.hostsToml, 'utf8')).toBe(
        [
          '# Written by the registry node-trust script; rewritten when it differs.',
          `server = "https://${hostPort}"`,
          '',
          `[host."https://${hostPort}"]`,
          '  capabilities = ["pull", "resolve"]',
          `  ca = "/etc/containerd/certs.d/${hostPort}/ca.crt"`,
          '',
        ].join('\n'),
      );
      expect(statSync(f.containersCa).mode & 0o777).toBe(0o644);
    }
    expect(changeLines(r.stdout)).toHaveLength(3 * HOSTS.length);
    expect(r.stdout).toContain(`created ${filesFor(node.opts, HOSTS[0]).hostsToml}`);
  });

  test('points hosts.toml at containerdHostCertsDir when the host keeps certs.d elsewhere', () => {
    const node = nodeRoot(work, ['registry.example.com:5000'], { containerdHostCertsDir: '/var/lib/rancher/k3s/agent/etc/containerd/certs.d' });

    expect(node.pass(ca1.cert).status).toBe(0);

    expect(readFileSync(filesFor(node.opts, 'registry.example.com:5000').hostsToml, 'utf8')).toContain(
      '  ca = "/var/lib/rancher/k3s/agent/etc/containerd/certs.d/registry.example.com:5000/ca.crt"\n',
    );
    expect(renderContainerdHostsToml('r:1', '/x/ca.crt')).toContain('ca = "/x/ca.crt"');
  });

  test('follows a rotated CA: rewrites both ca.crt files and leaves hosts.toml alone', () => {
    const node = nodeRoot(work, HOSTS);
    expect(node.pass(ca1.cert).status).toBe(0);
    const f = filesFor(node.opts, HOSTS[1]);
    const tomlBefore = identity(f.hostsToml);

    const r = node.pass(ca2.cert);

    expect(r.status).toBe(0);
    const rotated = readFileSync(ca2.cert, 'utf8');
    expect(rotated).not.toBe(readFileSync(ca1.cert, 'utf8'));
    expect(readFileSync(f.containerdCa, 'utf8')).toBe(rotated);
    expect(readFileSync(f.containersCa, 'utf8')).toBe(rotated);
    expect(identity(f.hostsToml)).toBe(tomlBefore);
    expect(changeLines(r.stdout)).toHaveLength(2 * HOSTS.length);
    expect(r.stdout).toContain(`updated ${f.containersCa}`);
    expect(r.stdout).not.toContain('hosts.toml');
  });

  test('rewrites nothing when nothing changed', () => {
    const node = nodeRoot(work, HOSTS);
    expect(node.pass(ca1.cert).status).toBe(0);
    const all = HOSTS.flatMap((h) => Object.values(filesFor(node.opts, h)));
    const before = all.map(identity);

    const r = node.pass();

    expect(r.status).toBe(0);
    expect(all.map(identity)).toEqual(before);
    expect(changeLines(r.stdout)).toEqual([]);
    expect(r.stdout).toContain(`up to date: ${HOSTS.join(' ')}`);
  });

  test('fails and writes nothing while the CA is missing or not PEM', () => {
    const node = nodeRoot(work, HOSTS);

    const missing = node.pass();
    writeFileSync(node.opts.caPath, 'not a certificate\n');
    const garbage = node.pass();

    for (const r of [missing, garbage]) {
      expect(r.status).not.toBe(0);
      expect(r.stdout).toContain(`CA ${node.opts.caPath} is missing, empty or not a PEM certificate; nothing written`);
    }
    expect(run('find', [node.root, '-name', '*.crt', '-path', '*certs.d*']).stdout).toBe('');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// real client against a real TLS registry

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** GET https://127.0.0.1:<port>/ trusting `ca`, until the registry answers 200 or the deadline passes. */
async function waitForRegistry(port: number, ca: Buffer, logFile: string): Promise<void> {
  const deadline = Date.now() + 8000;
  let last = '';
  while (Date.now() < deadline) {
    const status = await new Promise<number | string>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/', ca, timeout: 1000 }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', (e) => resolve(e.message));
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.end();
    });
    if (status === 200) return;
    last = String(status);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`registry on ${port} not ready (${last}); log:\n${readFileSync(logFile, 'utf8')}`);
}

/** A one-layer OCI image layout (empty tar layer) tagged `tag`, built from local files only. */
function writeOciLayout(dir: string, tag: string) {
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  const blobs = join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const put = (b: Buffer) => {
    writeFileSync(join(blobs, sha(b)), b);
    return { digest: `sha256:${sha(b)}`, size: b.length };
  };
  const tar = Buffer.alloc(1024); // an empty tar archive: two zero blocks
  const layer = gzipSync(tar);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [`sha256:${sha(tar)}`] } }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...put(config) },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...put(layer) }],
  }));
  const m = put(manifest);
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(dir, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...m, annotations: { 'org.opencontainers.image.ref.name': tag } }],
  }));
  return { layerDigest: sha(layer), layer };
}

describe('skopeo trusts a registry through the directory the script wrote', () => {
  let dir: string;
  let port: number;
  let registry: ChildProcess | undefined;
  let hostPort: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(work, 'registry-'));
    const leaf = makeLeaf(dir, ca1);
    port = await freePort();
    hostPort = `127.0.0.1:${port}`;
    const config = join(dir, 'config.yml');
    writeFileSync(config, [
      'version: 0.1',
      'log:',
      '  level: warn',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'data')}`,
      'http:',
      `  addr: ${hostPort}`,
      '  tls:',
      `    certificate: ${leaf.cert}`,
      `    key: ${leaf.key}`,
      '',
    ].join('\n'));
    const logFile = join(dir, 'registry.log');
    const log = openSync(logFile, 'w');
    registry = spawn('docker-registry', ['serve', config], { stdio: ['ignore', log, log] });
    await waitForRegistry(port, readFileSync(ca1.cert), logFile);
  });

  afterAll(() => {
    if (registry?.pid !== undefined && registry.exitCode === null) process.kill(registry.pid, 'SIGTERM');
  });

  const skopeo = (...args: string[]) => run('skopeo', ['--insecure-policy', '--tmpdir', dir, 'copy', '--retry-times', '0', ...args]);

  test('pulls with TLS verification using containers certs.d/<host:port>, and fails without it', () => {
    // GIVEN an image pushed with the CA in a cert dir of its own
    const layout = join(dir, 'layout');
    const image = writeOciLayout(layout, 'v1');
    const pushTrust = join(dir, 'push-trust');
    mkdirSync(pushTrust);
    copyFileSync(ca1.cert, join(pushTrust, 'ca.crt'));
    const ref = `docker://${hostPort}/node-trust/probe:v1`;
    const push = skopeo('--dest-no-creds', '--dest-tls-verify=true', '--dest-cert-dir', pushTrust, `oci:${layout}:v1`, ref);
    expect(push.stderr).not.toMatch(/error|fatal/i);
    expect(push.status).toBe(0);

    // WHEN the node trust script writes the CA for this registry
    const node = nodeRoot(work, [hostPort]);
    expect(node.pass(ca1.cert).status).toBe(0);
    const certDir = join(node.opts.containersCertsDir, hostPort);

    // THEN a real client verifies the registry with exactly that directory
    const pulled = join(dir, 'pulled');
    const pull = skopeo('--src-no-creds', '--src-tls-verify=true', '--src-cert-dir', certDir, ref, `dir:${pulled}`);
    expect(pull.stderr).toBe('');
    expect(pull.status).toBe(0);
    expect(readFileSync(join(pulled, image.layerDigest)).equals(image.layer)).toBe(true);

    // and without it the same pull is refused
    const untrusted = skopeo('--src-no-creds', '--src-tls-verify=true', ref, `dir:${join(dir, 'pulled-untrusted')}`);
    expect(untrusted.status).not.toBe(0);
    expect(untrusted.stderr).toMatch(/x509: certificate signed by unknown authority/);

    // and after the script follows a CA that did not sign the registry's certificate, the pull is refused too
    expect(node.pass(ca2.cert).status).toBe(0);
    const wrongCa = skopeo('--src-no-creds', '--src-tls-verify=true', '--src-cert-dir', certDir, ref, `dir:${join(dir, 'pulled-wrong-ca')}`);
    expect(wrongCa.status).not.toBe(0);
    expect(wrongCa.stderr).toMatch(/x509: certificate signed by unknown authority/);
  });
});
