/**
 * The pull-through cache of registry-example-ops on real programs: an upstream docker-registry (TLS, htpasswd)
 * holding an image, the synthesized mirror Deployment run as a 2.8.2 registry (its config.yml and env, the
 * upstream credentials from its secret), skopeo as the client, and the node-trust script's mirror files read by
 * skopeo (containers-registries.conf) and checked against containerd's documented hosts.toml format.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { pushImage } from '../../lib/check/blobs';
import { RegistryClient } from '../../lib/check/client';
import { PROXY_ENV } from '../../lib/operations/mirror';
import { MIRROR_DROP_IN, renderNodeTrustScript } from '../../lib/node-trust/script';
import { address, byPath, synthesized, type Synthesized } from '../../harness/json';
import { freePort, minimalConfig, skopeoDigest, startRegistry, tempDir, useCleanup, type RegistryProcess } from '../../harness/programs';
import { evaluateStackValues } from '../../harness/programs/stack-values';
import { prepareLocalPod, registryWorkload } from '../../harness/programs/pod';
import { stackSecrets } from '../../harness/programs/stack-registry';

const skopeo = (args: string[]) => spawnSync('skopeo', ['--insecure-policy', ...args], { encoding: 'utf8' });

describe('pull-through cache of registry-example-ops', () => {
  const cleanup = useCleanup();
  let json: Synthesized;
  let dir: string;
  let upstream: RegistryProcess;
  let mirror: RegistryProcess;
  let certDir: string;
  let digest: string;
  // Anonymous upstream: 2.8.2's proxy sends proxy.username/password only to token-auth realms (Docker Hub's), and
  // a local htpasswd upstream challenges with Basic; the credentials' wiring is checked on the synthesized JSON.
  const upstreamUser = { user: '', password: '' };

  beforeAll(async () => {
    json = synthesized('example-ops');
    dir = await tempDir(cleanup, 'mirror-');
    const secrets = await stackSecrets(json, path.join(dir, 'tls'));
    certDir = secrets.tls.certDir;

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

    // AND the mirror as synthesized: its config.yml, env and mounts; the variables set as an operator would
    const port = await freePort();
    const upstreamSecret = address(json, 'kubernetes_secret_v1', 'mirror/upstream');
    // The variables as an operator sets them, evaluated by terraform into the mirror pod's env and secret.
    const values = await evaluateStackValues(json, path.join(dir, 'tf'), {
      mirror_remote_url: `https://${upstream.address}`, mirror_ttl: '168h',
      mirror_username: upstreamUser.user, mirror_password: upstreamUser.password,
    }, 'mirror/server');
    expect(values.secrets[upstreamSecret]).toEqual({ username: upstreamUser.user, password: upstreamUser.password });
    const pod = await prepareLocalPod(json, path.join(dir, 'mirror'), { ...secrets.secrets, ...values.secrets },
      { port, debugPort: await freePort() }, values.evaluated, 'mirror/server');
    expect(pod.env[PROXY_ENV.remoteUrl]).toBe(`https://${upstream.address}`);
    expect(pod.env[PROXY_ENV.ttl]).toBe('168h');
    const env = {
      ...pod.env,
      // the upstream's certificate comes from the test CA (Docker Hub's from the image's public roots)
      SSL_CERT_FILE: secrets.tls.caCertPath,
    };
    mirror = await startRegistry(cleanup, {
      dir: path.join(dir, 'mirror'), port, caPem: secrets.tls.caPem, config: registryWorkload(json, 'mirror/server').configYaml,
      configPath: pod.configPath, env,
    });
  }, 30_000);

  test('the mirror Deployment is a proxy of mirror_remote_url with credentials from its secret, anonymous, on its own claim', () => {
    const workload = registryWorkload(json, 'mirror/server');
    const env = Object.fromEntries(workload.container.env.map((e: any) => [e.name, e.value ?? e.value_from.secret_key_ref]));
    expect(env[PROXY_ENV.remoteUrl]).toBe('${var.mirror_remote_url}');
    expect(env[PROXY_ENV.ttl]).toBe('${var.mirror_ttl}');
    expect(env[PROXY_ENV.password]).toMatchObject({ key: 'password', name: expect.stringContaining('mirror_upstream') });
    expect(workload.config.auth).toBeUndefined();
    expect(workload.volumes.map((v: any) => v.name)).not.toContain('auth');
    expect(workload.volumes.find((v: any) => v.name === 'data').persistent_volume_claim.claim_name).toContain('mirror_cache');
    expect(byPath(json, 'kubernetes_secret_v1', 'mirror/upstream').data).toEqual({ username: '${var.mirror_username}', password: '${var.mirror_password}' });
  });

  test('pulls through the cache, refuses a push, and serves the cached image with the upstream stopped', async () => {
    const ref = `docker://${mirror.address}/library/nginx:1.27`;
    // WHEN a client with no credentials pulls through the mirror
    await expect(skopeoDigest(ref, { certDir })).resolves.toBe(digest);
    const copied = skopeo(['copy', '--src-cert-dir', certDir, ref, `dir:${path.join(dir, 'pulled')}`]);
    expect(copied.stderr).toBe('');

    // THEN a push into the cache is refused
    const push = skopeo(['copy', '--dest-cert-dir', certDir, `dir:${path.join(dir, 'pulled')}`, `docker://${mirror.address}/library/pushed:1`]);
    expect(push.status).not.toBe(0);
    expect(push.stderr).toMatch(/StatusCode: 405|unsupported|denied/i);

    // AND with the upstream stopped the cached image still pulls, with the same digest
    await upstream.stop();
    await expect(skopeoDigest(ref, { certDir })).resolves.toBe(digest);
    const again = skopeo(['copy', '--src-cert-dir', certDir, ref, `dir:${path.join(dir, 'pulled-offline')}`]);
    expect(again.stderr).toBe('');
  }, 30_000);

  test('the node-trust files send pulls of the upstream to the cache: skopeo follows the drop-in, containerd format', async () => {
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
    const run = spawnSync('sh', ['-c', renderNodeTrustScript(opts)], {
      encoding: 'utf8',
      env: {
        ...process.env, ONCE: '1', REGISTRY_HOSTS: 'registry.ops.example.internal:5000',
        MIRROR_UPSTREAM: upstream.address, MIRROR_UPSTREAM_URL: `https://${upstream.address}`, MIRROR_HOST: mirror.address,
      },
    });
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });

    // THEN skopeo, reading only the written drop-in and the written certs.d of the mirror, pulls <upstream>/image
    // although the upstream is stopped: the pull came through the cache
    const dropIn = path.join(opts.mirror.containersRegistriesDir, MIRROR_DROP_IN);
    const mirrorCerts = path.join(opts.containersCertsDir, mirror.address);
    const viaMirror = skopeo(['--registries-conf', dropIn, 'inspect', '--no-tags', '--cert-dir', mirrorCerts, '--retry-times', '0', `docker://${upstream.address}/library/nginx:1.27`]);
    expect(viaMirror.stderr).toBe('');
    expect(JSON.parse(viaMirror.stdout).Digest).toBe(digest);
    const direct = skopeo(['--registries-conf', '/dev/null', 'inspect', '--no-tags', '--cert-dir', mirrorCerts, '--retry-times', '0', `docker://${upstream.address}/library/nginx:1.27`]);
    expect(direct.status).not.toBe(0);
    expect(direct.stderr).toMatch(/connection refused/);

    // AND containerd's hosts.toml for the upstream parses as TOML with only documented keys
    const hostsToml = path.join(opts.containerdCertsDir, upstream.address, 'hosts.toml');
    const parsed = JSON.parse(execFileSync('python3', ['-c', 'import json,sys,tomllib; print(json.dumps(tomllib.load(open(sys.argv[1], "rb"))))', hostsToml]).toString());
    expect(parsed).toEqual({
      server: `https://${upstream.address}`,
      host: { [`https://${mirror.address}`]: { capabilities: ['pull', 'resolve'], ca: `/etc/containerd/certs.d/${upstream.address}/ca.crt` } },
    });
    const documented = ['server', 'ca', 'client', 'skip_verify', 'capabilities', 'header', 'override_path', 'host'];
    for (const table of [parsed, ...Object.values<any>(parsed.host)]) for (const key of Object.keys(table)) expect(documented).toContain(key);
    await expect(fs.readFile(path.join(opts.containerdCertsDir, upstream.address, 'ca.crt'), 'utf8')).resolves.toContain('BEGIN CERTIFICATE');
  }, 30_000);
});
