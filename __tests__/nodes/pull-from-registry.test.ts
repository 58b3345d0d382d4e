/**
 * Real programs, no cluster: what a node and a pod do when they pull from the registry, driven by the synthesized
 * stack. The DaemonSet's script (from cdk.tf.json) writes certs.d into a temp "node" root; the pull secret's
 * .dockerconfigjson and the htpasswd file are the synthesized expressions evaluated by the real terraform binary;
 * a real docker-registry serves TLS + htpasswd; skopeo pulls with verification on, as containerd/CRI-O would.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RegistryClient } from '../../lib/check/client';
import { pushImage } from '../../lib/check/blobs';
import { NODE_TRUST_MOUNTS, REGISTRY_HOSTS_ENV } from '../../lib/node-trust/daemon-set';
import { freePort, makeTlsMaterial, RegistryProcess, startRegistry, tempDir, TlsMaterial, useCleanup } from '../../harness/programs';
import { htpasswdEntry, STACK_BCRYPT_COST } from '../../harness/programs/htpasswd';
import { minimalConfig } from '../../harness/programs';
import { synthesized, byPath, address, Synthesized, templateLiteral } from '../../harness/json';
import { isRoot, rootWithCapabilities } from '../../harness/programs';
import { evaluateWithTerraform } from '../../harness/terraform';

jest.setTimeout(30_000);

const cleanup = useCleanup();
const ADMIN_PASSWORD = randomBytes(12).toString('hex');
const PULL_PASSWORD = randomBytes(16).toString('hex');
const REPO = 'team/app';
const TAG = '1.0';

let dir: string;
let tls: TlsMaterial;
let registry: RegistryProcess;
let json: Synthesized;
let evaluated: Record<string, any>;
let hosts: string[];

/** The terraform values an operator would set for this test registry (everything else keeps its default). */
const tfvars = (port: number, pullNamespaces: string[]) => ({
  registry_domains: ['localhost'],
  registry_ip_addresses: ['127.0.0.1'],
  external_port: port,
  registry_users: ['admin'],
  registry_roles: ['admin:admin'],
  pull_secret_namespaces: pullNamespaces,
});

/** bcrypt cost of the stand-in hashes: the stack's for generated credentials (lib/auth/machine-hash.ts). */
const HASH_COST = STACK_BCRYPT_COST;

/**
 * What the providers would hold for the stack's random_password resources and the terraform_data holding their
 * cost-4 hashes (bcrypt is slow: once).
 */
let providerValuesOnce: Promise<Record<string, unknown>> | undefined;
const providerValues = (json: Synthesized) => (providerValuesOnce ??= computeProviderValues(json));
async function computeProviderValues(json: Synthesized) {
  const id = (type: string, p: string) => address(json, type, p).split('.')[1];
  const hash = async (user: string, password: string) => (await htpasswdEntry(user, password, HASH_COST)).split(':')[1];
  return {
    [id('random_password', 'pull-secrets/password')]: { result: PULL_PASSWORD },
    [id('terraform_data', 'pull-secrets/hash')]: { output: { hash: await hash('registry-pull', PULL_PASSWORD) } },
    // for_each over registry_users: maps keyed by user
    [id('random_password', 'auth/user-passwords')]: { admin: { result: ADMIN_PASSWORD } },
    [id('terraform_data', 'auth/user-hashes/hash')]: { admin: { output: { hash: await hash('admin', ADMIN_PASSWORD) } } },
  };
}

const daemonSetScript = () => byPath(json, 'kubernetes_daemon_set_v1', 'node-trust/daemon-set').spec.template.spec.container[0];

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * A temp node root with the pod's mounts mapped into it; runs the DaemonSet's own script once (ONCE=1) as uid 0
 * with no capabilities (when this process is root), like the container with `drop: [ALL]`.
 */
function runNodeTrust(registryHosts: string) {
  const root = fs.mkdtempSync(path.join(dir, 'node-'));
  const mapped = (p: string) => path.join(root, p);
  const container = daemonSetScript();
  let script = templateLiteral(container.command[2]);
  // every directory the container mounts (the registries.conf.d one only with a pull-through cache)
  for (const mount of container.volume_mount.map((m: { mount_path: string }) => m.mount_path)) {
    expect(script).toContain(`'${mount}`);
    script = script.split(`'${mount}`).join(`'${mapped(mount)}`);
    // never let a test write into this machine's real /host or /run paths
    expect(script).not.toContain(`='${mount}`);
  }
  fs.mkdirSync(mapped(NODE_TRUST_MOUNTS.caDir), { recursive: true });
  fs.writeFileSync(path.join(mapped(NODE_TRUST_MOUNTS.caDir), 'ca.crt'), tls.caPem); // the CA ConfigMap's content
  const sh = ['sh', '-c', script, 'node-trust'];
  const env = { ONCE: '1', [REGISTRY_HOSTS_ENV]: registryHosts };
  const r = isRoot ? run('setpriv', [...rootWithCapabilities([]), ...sh], env) : run(sh[0], sh.slice(1), env);
  return {
    ...r,
    containersCertDir: (hp: string) => path.join(mapped(NODE_TRUST_MOUNTS.containersCertsDir), hp),
    containerdCertDir: (hp: string) => path.join(mapped(NODE_TRUST_MOUNTS.containerdCertsDir), hp),
  };
}

const skopeoCopy = (ref: string, ...args: string[]) =>
  run('skopeo', ['--insecure-policy', '--tmpdir', dir, 'copy', '--retry-times', '0', '--src-tls-verify=true', ...args, `docker://${ref}`, `dir:${fs.mkdtempSync(path.join(dir, 'pulled-'))}`]);

beforeAll(async () => {
  dir = await tempDir(cleanup, 'registry-nodes-');
  const port = await freePort();
  tls = await makeTlsMaterial(path.join(dir, 'tls'), { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  json = synthesized('dev');

  // GIVEN the stack's expressions evaluated for this registry and one listed namespace
  const container = daemonSetScript();
  const secret = byPath(json, 'kubernetes_secret_v1', 'pull-secrets/secret');
  const htpasswd = byPath(json, 'kubernetes_secret_v1', 'auth/htpasswd');
  const resources = await providerValues(json);
  evaluated = await evaluateWithTerraform(path.join(dir, 'tf'), json, {
    hosts: container.env.find((e: any) => e.name === REGISTRY_HOSTS_ENV).value,
    dockerconfigjson: secret.data['.dockerconfigjson'],
    htpasswd: htpasswd.data.htpasswd,
    secret_name: secret.metadata.name,
  }, tfvars(port, ['team-a']), resources);
  hosts = evaluated.hosts.split(' ');

  // AND a real registry whose htpasswd file is the synthesized one
  const htpasswdPath = path.join(dir, 'htpasswd');
  fs.writeFileSync(htpasswdPath, evaluated.htpasswd);
  registry = await startRegistry(cleanup, { dir, port, caPem: tls.caPem, config: minimalConfig(dir, port, { tls, htpasswdPath, deletes: false }) });
  const admin = new RegistryClient({ host: '127.0.0.1', port, username: 'admin', password: ADMIN_PASSWORD, caPem: tls.caPem });
  await pushImage(admin, REPO, TAG);
});

describe('node trust: the DaemonSet script from cdk.tf.json', () => {
  test('REGISTRY_HOSTS evaluates to every registry domain and IP at the external port', () => {
    expect(hosts.sort()).toEqual([`127.0.0.1:${registry.port}`, `localhost:${registry.port}`]);
  });

  test('writes certs.d for every host:port as uid 0 without capabilities; skopeo then pulls with verification on', () => {
    const node = runNodeTrust(evaluated.hosts);
    expect(node.stderr).toBe('');
    expect(node.status).toBe(0);

    for (const hp of hosts) {
      // containerd reads hosts.toml on the node, so its ca names the node's path
      expect(fs.readFileSync(path.join(node.containerdCertDir(hp), 'hosts.toml'), 'utf8')).toContain(`ca = "/etc/containerd/certs.d/${hp}/ca.crt"`);
      for (const certDir of [node.containersCertDir(hp), node.containerdCertDir(hp)]) {
        const pull = skopeoCopy(`${hp}/${REPO}:${TAG}`, '--src-cert-dir', certDir, '--src-creds', `admin:${ADMIN_PASSWORD}`);
        expect(pull.stderr).toBe('');
        expect(pull.status).toBe(0);
      }
    }
    // and without the directory the same pull is refused: the trust came from what the script wrote
    const untrusted = skopeoCopy(`${hosts[0]}/${REPO}:${TAG}`, '--src-creds', `admin:${ADMIN_PASSWORD}`);
    expect(untrusted.status).not.toBe(0);
    expect(untrusted.stderr).toMatch(/x509: certificate signed by unknown authority/);
  });

  test.each([
    ['', 'no registry host:port given (REGISTRY_HOSTS is empty); nothing written'],
    ['localhost:5000 https://evil:5000', "registry entry 'https://evil:5000' is not a host:port"],
    ['localhost:5000 ..:5000/x', "registry entry '..:5000/x' is not a host:port"],
  ])('fails and writes nothing when REGISTRY_HOSTS is %j', (value, message) => {
    const node = runNodeTrust(value);
    expect(node.status).not.toBe(0);
    expect(node.stdout).toContain(message);
    expect(fs.existsSync(node.containersCertDir('localhost:5000'))).toBe(false);
  });
});

describe('pull secret: the synthesized .dockerconfigjson', () => {
  test('has an auths entry per host:port with username, password and auth = base64(user:password)', () => {
    const config = JSON.parse(evaluated.dockerconfigjson);
    expect(Object.keys(config.auths).sort()).toEqual([...hosts].sort());
    for (const hp of hosts) {
      expect(config.auths[hp]).toEqual({
        username: 'registry-pull',
        password: PULL_PASSWORD,
        auth: Buffer.from(`registry-pull:${PULL_PASSWORD}`).toString('base64'),
      });
    }
    expect(evaluated.secret_name).toBe('registry-pull');
  });

  test('works as skopeo --authfile against the registry, whose htpasswd has the pull user', () => {
    const authfile = path.join(dir, 'dockerconfig.json');
    fs.writeFileSync(authfile, evaluated.dockerconfigjson);
    expect(evaluated.htpasswd).toMatch(/^registry-pull:\$2a\$04\$/m);

    for (const hp of hosts) {
      const pull = skopeoCopy(`${hp}/${REPO}:${TAG}`, '--authfile', authfile, '--src-cert-dir', tls.certDir);
      expect(pull.stderr).toBe('');
      expect(pull.status).toBe(0);
    }
    // a wrong password in the same document is refused: the registry really checks the pull user
    const wrong = path.join(dir, 'wrong-dockerconfig.json');
    fs.writeFileSync(wrong, evaluated.dockerconfigjson.split(PULL_PASSWORD).join('x'.repeat(32))
      .split(Buffer.from(`registry-pull:${PULL_PASSWORD}`).toString('base64')).join(Buffer.from(`registry-pull:${'x'.repeat(32)}`).toString('base64')));
    const refused = skopeoCopy(`${hosts[0]}/${REPO}:${TAG}`, '--authfile', wrong, '--src-cert-dir', tls.certDir);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/unauthorized|authentication required/i);
  });

  test('a pod\'s pull on a trusting node: certs.d from the DaemonSet + the pull secret, no insecure flag', () => {
    const node = runNodeTrust(evaluated.hosts);
    const authfile = path.join(dir, 'pod-dockerconfig.json');
    fs.writeFileSync(authfile, evaluated.dockerconfigjson);
    for (const hp of hosts) {
      const pull = skopeoCopy(`${hp}/${REPO}:${TAG}`, '--authfile', authfile, '--src-cert-dir', node.containersCertDir(hp));
      expect(pull.stderr).toBe('');
      expect(pull.status).toBe(0);
    }
  });

  test('with no namespace listed, the pull user is not in htpasswd', async () => {
    const none = await evaluateWithTerraform(path.join(dir, 'tf-none'), json,
      { htpasswd: byPath(json, 'kubernetes_secret_v1', 'auth/htpasswd').data.htpasswd },
      tfvars(registry.port, []), await providerValues(json));
    expect(none.htpasswd).toMatch(/^admin:\$2a\$04\$/);
    expect(none.htpasswd).not.toContain('registry-pull');
  });
});
