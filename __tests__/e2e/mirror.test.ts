/**
 * The pull-through cache of registry-example-ops on real programs: an upstream docker-registry (TLS) holding an
 * image, the synthesized mirror Deployment run as a 2.8.2 registry (its config.yml and env, its htpasswd, the
 * upstream credentials from its secret as terraform evaluates them) behind nginx stream (the ingress-nginx TCP
 * route), skopeo as the client, and the node-trust script's mirror files read by skopeo (containers-registries.conf,
 * the auth file) and checked against containerd's documented hosts.toml format. A second upstream with token auth
 * shows which upstream credentials the mirror really sends.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as http from 'node:http';
import * as path from 'node:path';
import { pushImage } from '../../lib/check/blobs';
import { RegistryClient } from '../../lib/check/client';
import { MIRROR_PULL_USER, PROXY_ENV } from '../../lib/operations/mirror';
import { MIRROR_AUTH_FILE, MIRROR_DROP_IN, renderNodeTrustScript } from '../../lib/node-trust/script';
import { address, byPath, synthesized, type Synthesized } from '../../harness/json';
import {
  freePort, htpasswdEntry, minimalConfig, skopeoDigest, skopeoInspectFailure, startNginxStream, startRegistry, tempDir, useCleanup,
  type NginxStreamProcess, type RegistryProcess,
} from '../../harness/programs';
import { evaluateStackValueVariants, type StackValues } from '../../harness/programs/stack-values';
import { prepareLocalPod, registryWorkload } from '../../harness/programs/pod';
import { stackSecrets } from '../../harness/programs/stack-registry';

const skopeo = (args: string[]) => spawnSync('skopeo', ['--insecure-policy', ...args], { encoding: 'utf8' });

/** Upstream credentials YAML would mangle as a raw env value (`*` an alias, `#` a comment, `|` a block scalar). */
const TRICKY = {
  star: { mirror_username: '|alice', mirror_password: '*s3cret#not-a-comment' },
  hash: { mirror_username: '#bob', mirror_password: '|token:with|bars' },
} as const;

describe('pull-through cache of registry-example-ops', () => {
  const cleanup = useCleanup();
  let json: Synthesized;
  let dir: string;
  let upstream: RegistryProcess;
  let mirror: RegistryProcess;
  let front: NginxStreamProcess;
  let certDir: string;
  let digest: string;
  let secrets: Awaited<ReturnType<typeof stackSecrets>>;
  let mirrorSecrets: Record<string, Record<string, string>>;
  let values: Record<'anonymous' | keyof typeof TRICKY, StackValues>;
  /** The machine user's password (the local stand-in for random_password.result). */
  const pullPassword = randomBytes(16).toString('hex');
  const pullCreds = `${MIRROR_PULL_USER}:${pullPassword}`;
  // Anonymous upstream for the pull tests: 2.8.2's proxy sends proxy.username/password only to token-auth realms
  // (Docker Hub's); what it sends is checked against a token-auth upstream below.
  const upstreamUser = { user: '', password: '' };

  /** Starts a mirror of `remote` from the synthesized pod with one variant's evaluated values. */
  const startMirror = async (name: string, variant: StackValues) => {
    const port = await freePort();
    const pod = await prepareLocalPod(json, path.join(dir, name), { ...mirrorSecrets, ...variant.secrets },
      { port, debugPort: await freePort() }, variant.evaluated, 'mirror/server');
    // the upstream's certificate comes from the test CA (Docker Hub's from the image's public roots)
    const env = { ...pod.env, SSL_CERT_FILE: secrets.tls.caCertPath };
    const proc = await startRegistry(cleanup, {
      dir: path.join(dir, name), port, caPem: secrets.tls.caPem, config: registryWorkload(json, 'mirror/server').configYaml,
      configPath: pod.configPath, env,
    });
    return { proc, pod };
  };

  beforeAll(async () => {
    json = synthesized('example-ops');
    dir = await tempDir(cleanup, 'mirror-');
    secrets = await stackSecrets(json, path.join(dir, 'tls'));
    certDir = secrets.tls.certDir;
    // The cache's own htpasswd: the machine user's line, as random_password.bcrypt_hash makes it
    mirrorSecrets = {
      ...secrets.secrets,
      [address(json, 'kubernetes_secret_v1', 'mirror/htpasswd')]: { htpasswd: `${await htpasswdEntry(MIRROR_PULL_USER, pullPassword)}\n` },
    };

    // GIVEN an upstream registry (TLS from the same test CA) holding library/nginx:1.27
    const upDir = path.join(dir, 'upstream');
    await fs.mkdir(upDir);
    const upPort = await freePort();
    upstream = await startRegistry(cleanup, {
      dir: upDir, port: upPort, caPem: secrets.tls.caPem,
      config: minimalConfig(upDir, upPort, { tls: secrets.tls, deletes: false }),
    });
    const upClient = new RegistryClient({ host: '127.0.0.1', port: upPort, caPem: secrets.tls.caPem });
    cleanup.add(() => upClient.close());
    digest = (await pushImage(upClient, 'library/nginx', '1.27')).manifestDigest;

    // AND the variables as an operator sets them, evaluated by terraform into the mirror pod's env and secret
    const upstreamSecret = address(json, 'kubernetes_secret_v1', 'mirror/upstream');
    const common = { mirror_remote_url: `https://${upstream.address}`, mirror_ttl: '168h' };
    values = await evaluateStackValueVariants(json, path.join(dir, 'tf'), {
      anonymous: { ...common, mirror_username: upstreamUser.user, mirror_password: upstreamUser.password },
      star: { ...common, ...TRICKY.star },
      hash: { ...common, ...TRICKY.hash },
    }, 'mirror/server');
    // JSON strings in the secret: distribution YAML-decodes each REGISTRY_* value
    expect(values.anonymous.secrets[upstreamSecret]).toEqual({ username: '""', password: '""' });
    expect(values.star.secrets[upstreamSecret]).toEqual({ username: JSON.stringify(TRICKY.star.mirror_username), password: JSON.stringify(TRICKY.star.mirror_password) });

    // AND the mirror as synthesized, behind nginx stream as ingress-nginx's TCP route puts it
    const started = await startMirror('mirror', values.anonymous);
    mirror = started.proc;
    expect(started.pod.env[PROXY_ENV.remoteUrl]).toBe(`https://${upstream.address}`);
    expect(started.pod.env[PROXY_ENV.ttl]).toBe('168h');
    front = await startNginxStream(cleanup, { dir: path.join(dir, 'nginx'), port: await freePort(), upstreamPort: mirror.port });
  }, 60_000);

  test('the mirror Deployment is a proxy of mirror_remote_url with credentials from its secret, closed, on its own claim', () => {
    const workload = registryWorkload(json, 'mirror/server');
    const env = Object.fromEntries(workload.container.env.map((e: any) => [e.name, e.value ?? e.value_from.secret_key_ref]));
    expect(env[PROXY_ENV.remoteUrl]).toBe('${var.mirror_remote_url}');
    expect(env[PROXY_ENV.ttl]).toBe('${var.mirror_ttl}');
    expect(env[PROXY_ENV.password]).toMatchObject({ key: 'password', name: expect.stringContaining('mirror_upstream') });
    // closed: htpasswd auth, from the cache's own file (the machine user only), not the registry's users
    expect(workload.config.auth.htpasswd).toBeDefined();
    const authVolume = workload.volumes.find((v: any) => v.name === 'auth');
    expect(authVolume.secret.secret_name).toContain('mirror_htpasswd');
    expect(workload.volumes.find((v: any) => v.name === 'data').persistent_volume_claim.claim_name).toContain('mirror_cache');
    expect(byPath(json, 'kubernetes_secret_v1', 'mirror/upstream').data).toEqual({
      username: '${jsonencode(var.mirror_username)}', password: '${jsonencode(var.mirror_password)}',
    });
  });

  test('anonymous and wrong-password pulls through the route are refused with 401; the machine credential pulls', async () => {
    const ref = `docker://${front.address}/library/nginx:1.27`;
    // WHEN anyone who reaches the controller's port pulls without the credential, or with a registry user's
    await expect(skopeoInspectFailure(ref, { certDir })).resolves.toMatch(/401|unauthorized|authentication required/i);
    const [user, password] = Object.entries(secrets.users)[0];
    await expect(skopeoInspectFailure(ref, { certDir, creds: `${user}:${password}` })).resolves.toMatch(/401|unauthorized/i);
    // THEN only the machine credential pulls through the cache
    await expect(skopeoDigest(ref, { certDir, creds: pullCreds })).resolves.toBe(digest);
  }, 60_000);

  test('pulls through the cache, refuses a push, and serves the cached image with the upstream stopped', async () => {
    const ref = `docker://${front.address}/library/nginx:1.27`;
    // WHEN a node with the credential pulls through the mirror
    const copied = skopeo(['copy', '--src-cert-dir', certDir, '--src-creds', pullCreds, ref, `dir:${path.join(dir, 'pulled')}`]);
    expect(copied.stderr).toBe('');

    // THEN a push into the cache is refused, also with the credential
    const push = skopeo(['copy', '--dest-cert-dir', certDir, '--dest-creds', pullCreds, `dir:${path.join(dir, 'pulled')}`, `docker://${front.address}/library/pushed:1`]);
    expect(push.status).not.toBe(0);
    expect(push.stderr).toMatch(/StatusCode: 405|unsupported|denied/i);

    // AND with the upstream stopped the cached image still pulls, with the same digest
    await upstream.stop();
    await expect(skopeoDigest(ref, { certDir, creds: pullCreds })).resolves.toBe(digest);
    const again = skopeo(['copy', '--src-cert-dir', certDir, '--src-creds', pullCreds, ref, `dir:${path.join(dir, 'pulled-offline')}`]);
    expect(again.stderr).toBe('');
  }, 60_000);

  test('upstream credentials starting with *, # or | reach the upstream intact', async () => {
    // GIVEN an upstream with token auth: 2.8.2's proxy sends its proxy.username/password to the token realm, which
    // here records them (and refuses: the pull itself does not matter)
    const seen: string[] = [];
    const realm = http.createServer((req, res) => {
      seen.push(Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString('utf8'));
      res.writeHead(401).end();
    });
    await new Promise<void>((resolve) => realm.listen(0, '127.0.0.1', resolve));
    cleanup.add(() => new Promise<void>((resolve) => realm.close(() => resolve())));
    const realmPort = (realm.address() as { port: number }).port;
    const tokenDir = path.join(dir, 'token-upstream');
    await fs.mkdir(tokenDir);
    const tokenPort = await freePort();
    const tokenUpstream = await startRegistry(cleanup, {
      dir: tokenDir, port: tokenPort, caPem: secrets.tls.caPem,
      config: `${minimalConfig(tokenDir, tokenPort, { tls: secrets.tls, deletes: false })}auth:
  token:
    realm: http://127.0.0.1:${realmPort}/token
    service: upstream
    issuer: test
    rootcertbundle: ${secrets.tls.caCertPath}
`,
    });
    try {
      for (const variant of ['star', 'hash'] as const) {
        // WHEN the mirror runs with those credentials (pointed at the token upstream) and is asked for an image
        const remote = `https://${tokenUpstream.address}`;
        const evaluated = Object.fromEntries(Object.entries(values[variant].evaluated)
          .map(([k, v]) => [k, v === `https://${upstream.address}` ? remote : v]));
        const { proc } = await startMirror(`mirror-${variant}`, { ...values[variant], evaluated });
        try {
          await skopeoInspectFailure(`docker://${proc.address}/library/nginx:1.27`, { certDir, creds: pullCreds });
        } finally {
          await proc.stop();
        }
        // THEN the realm saw exactly the credentials the operator set: not empty, not a YAML alias error
        expect(seen).toContain(`${TRICKY[variant].mirror_username}:${TRICKY[variant].mirror_password}`);
      }
    } finally {
      await tokenUpstream.stop();
    }
  }, 90_000);

  test('the node-trust files send pulls of the upstream to the cache with its credential: skopeo follows the drop-in and the auth file, containerd format', async () => {
    // GIVEN the node-trust script with the cache, run once on a temp "node"
    const node = path.join(dir, 'node');
    const opts = {
      caPath: path.join(node, 'run/registry-ca/ca.crt'),
      containerdCertsDir: path.join(node, 'etc/containerd/certs.d'),
      containersCertsDir: path.join(node, 'etc/containers/certs.d'),
      intervalSeconds: 60,
      mirror: { containersRegistriesDir: path.join(node, 'etc/containers/registries.conf.d') },
    };
    await fs.mkdir(path.dirname(opts.caPath), { recursive: true });
    await fs.copyFile(path.join(certDir, 'ca.crt'), opts.caPath);
    const daemonSet = byPath(json, 'kubernetes_daemon_set_v1', 'node-trust/daemon-set');
    const dsEnv = Object.fromEntries(daemonSet.spec.template.spec.container[0].env.map((e: any) => [e.name, e.value]));
    expect(dsEnv).toMatchObject({ MIRROR_UPSTREAM: '${var.mirror_upstream_registry}', MIRROR_UPSTREAM_URL: '${var.mirror_remote_url}' });
    expect(dsEnv.MIRROR_HOST).toBe('${format("%s:%s", element(var.registry_domains, 0), var.mirror_external_port)}');
    const authEnv = daemonSet.spec.template.spec.container[0].env.find((e: any) => e.name === 'MIRROR_AUTH');
    expect(byPath(json, 'kubernetes_secret_v1', 'node-trust/mirror-credential').data.auth).toContain('random_password.mirror_pull-password');
    expect(authEnv.value_from.secret_key_ref.name).toContain('mirror-credential');
    const basicAuth = Buffer.from(pullCreds).toString('base64');
    const run = spawnSync('sh', ['-c', renderNodeTrustScript(opts)], {
      encoding: 'utf8',
      env: {
        ...process.env, ONCE: '1', REGISTRY_HOSTS: 'registry.ops.example.internal:5000',
        MIRROR_UPSTREAM: upstream.address, MIRROR_UPSTREAM_URL: `https://${upstream.address}`, MIRROR_HOST: front.address,
        MIRROR_AUTH: basicAuth,
      },
    });
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });

    // THEN skopeo, reading only the written drop-in, auth file and certs.d of the mirror, pulls <upstream>/image
    // although the upstream is stopped: the pull came through the cache, with the credential
    const dropIn = path.join(opts.mirror.containersRegistriesDir, MIRROR_DROP_IN);
    const authFile = path.join(opts.mirror.containersRegistriesDir, MIRROR_AUTH_FILE);
    const mirrorCerts = path.join(opts.containersCertsDir, front.address);
    const upstreamRef = `docker://${upstream.address}/library/nginx:1.27`;
    const viaMirror = skopeo(['--registries-conf', dropIn, 'inspect', '--no-tags', '--authfile', authFile, '--cert-dir', mirrorCerts, '--retry-times', '0', upstreamRef]);
    expect(viaMirror.stderr).toBe('');
    expect(JSON.parse(viaMirror.stdout).Digest).toBe(digest);
    expect((await fs.stat(authFile)).mode & 0o777).toBe(0o600);
    // AND without the auth file the cache refuses the node (and the stopped upstream cannot answer either)
    const noAuth = skopeo(['--registries-conf', dropIn, 'inspect', '--no-tags', '--authfile', '/dev/null', '--cert-dir', mirrorCerts, '--retry-times', '0', upstreamRef]);
    expect(noAuth.status).not.toBe(0);
    const direct = skopeo(['--registries-conf', '/dev/null', 'inspect', '--no-tags', '--cert-dir', mirrorCerts, '--retry-times', '0', `docker://${upstream.address}/library/nginx:1.27`]);
    expect(direct.status).not.toBe(0);
    expect(direct.stderr).toMatch(/connection refused/);

    // AND containerd's hosts.toml for the upstream parses as TOML with only documented keys
    const hostsToml = path.join(opts.containerdCertsDir, upstream.address, 'hosts.toml');
    const parsed = JSON.parse(execFileSync('python3', ['-c', 'import json,sys,tomllib; print(json.dumps(tomllib.load(open(sys.argv[1], "rb"))))', hostsToml]).toString());
    expect(parsed).toEqual({
      server: `https://${upstream.address}`,
      host: {
        [`https://${front.address}`]: {
          capabilities: ['pull', 'resolve'], ca: `/etc/containerd/certs.d/${upstream.address}/ca.crt`,
          // containerd sends the cache's credential with every request to it
          header: { Authorization: `Basic ${basicAuth}` },
        },
      },
    });
    expect((await fs.stat(hostsToml)).mode & 0o777).toBe(0o600);
    const documented = ['server', 'ca', 'client', 'skip_verify', 'capabilities', 'header', 'override_path', 'host'];
    for (const table of [parsed, ...Object.values<any>(parsed.host)]) for (const key of Object.keys(table)) expect(documented).toContain(key);
    await expect(fs.readFile(path.join(opts.containerdCertsDir, upstream.address, 'ca.crt'), 'utf8')).resolves.toContain('BEGIN CERTIFICATE');
  }, 60_000);
});
