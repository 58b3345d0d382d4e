import { createHash } from 'node:crypto';
import { parse } from 'yaml';
import { environment, synth, only, address, byPath } from '../../harness/synth';
import { MOUNTS } from '../../lib/registry/config';
import { FRONT_MOUNTS, INNER_PORT } from '../../lib/registry/front';

describe('RegistryServer', () => {
  const { json } = synth(environment('dev'));
  const deployment = only(json, 'kubernetes_deployment_v1');
  const pod = deployment.spec.template.spec;
  const container = pod.container.find((c: any) => c.name === 'registry');
  const front = pod.container.find((c: any) => c.name === 'front');
  const volume = (name: string) => pod.volume.find((v: any) => v.name === name);
  const mount = (name: string, of = container) => of.volume_mount.find((m: any) => m.name === name);

  const config = parse(byPath(json, 'kubernetes_config_map_v1', 'registry/config').data['config.yml']);
  const containerPort = (name: string, of = container) => of.port.find((p: any) => p.name === name).container_port;
  const frontConf: string = byPath(json, 'kubernetes_config_map_v1', 'registry/front-config').data['nginx.conf'];

  test('config.yml listens on loopback behind the front, with the debug port the container declares; the pod mounts it where the image reads it', () => {
    expect(config.http.addr).toBe(`127.0.0.1:${INNER_PORT}`);
    expect(config.http.tls).toBeUndefined();
    expect(config.auth).toBeUndefined();
    expect(frontConf).toContain(`server 127.0.0.1:${INNER_PORT};`);
    expect(frontConf).toContain(`listen ${containerPort('registry', front)} ssl;`);
    expect(container.port.map((p: any) => p.name)).toEqual(['metrics']);
    expect(config.http.debug.addr).toBe(`:${containerPort('metrics')}`);
    expect(mount('config')).toMatchObject({ mount_path: '/etc/distribution/config.yml', sub_path: 'config.yml', read_only: true });
    expect(container.args).toEqual(['serve', '/etc/distribution/config.yml']);
  });

  test('mounts exactly the secrets the TLS and auth constructs created, all mandatory', () => {
    const tlsSecret = address(json, 'kubernetes_secret_v1', 'tls/secret');
    const htpasswd = address(json, 'kubernetes_secret_v1', 'auth/htpasswd');
    const http = address(json, 'kubernetes_secret_v1', 'auth/http-secret');
    expect(volume('tls').secret).toMatchObject({ secret_name: `\${${tlsSecret}.metadata[0].name}`, optional: false });
    expect(volume('tls').secret.items.map((i: any) => i.key)).toEqual(['tls.crt', 'tls.key']);
    expect(volume('auth').secret).toMatchObject({ secret_name: `\${${htpasswd}.metadata[0].name}`, optional: false });
    expect(volume('auth').secret.items).toEqual([{ key: 'htpasswd', path: 'htpasswd' }]);
    const httpSecretEnv = container.env.find((e: any) => e.name === 'REGISTRY_HTTP_SECRET');
    expect(httpSecretEnv.value_from.secret_key_ref).toEqual({ name: `\${${http}.metadata[0].name}`, key: 'http-secret', optional: false });
    // The front's config points at the files where those secrets are mounted in its container; the registry sees neither.
    expect(frontConf).toContain(`ssl_certificate ${mount('tls', front).mount_path}/tls.crt;`);
    expect(frontConf).toContain(`ssl_certificate_key ${mount('tls', front).mount_path}/tls.key;`);
    expect(frontConf).toContain(`auth_basic_user_file ${mount('auth', front).mount_path}/htpasswd;`);
    expect(frontConf).toContain(`include ${mount('front-config', front).mount_path}/grants.map;`);
    expect(frontConf).toContain(`pid ${mount('front-run', front).mount_path}/nginx.pid;`);
    expect(mount('front-config', front).mount_path).toBe(FRONT_MOUNTS.configDir);
    expect(mount('tls')).toBeUndefined();
    expect(mount('auth')).toBeUndefined();
    expect(config.storage.filesystem.rootdirectory).toBe(mount('data').mount_path);
    expect(mount('data').mount_path).toBe(MOUNTS.data);
  });

  test('startup and readiness are GET / on the registry port over HTTPS, through the front to the registry (never /v2/, which answers 401)', () => {
    for (const probe of ['startup_probe', 'readiness_probe']) {
      expect(front[probe].http_get).toEqual({ path: '/', port: 'registry', scheme: 'HTTPS' });
      expect(container[probe]).toBeUndefined();
    }
    // The front passes GET / to the registry without credentials.
    // (a non-canonical path that nginx resolves to / is refused first: it would reach the registry as written)
    expect(frontConf).toMatch(/location = \/ \{\s+#[^\n]*\n\s+if \(\$front_noncanonical\) \{\s+return 400;\s+\}\s+auth_basic off;\s+limit_except GET \{ deny all; \}\s+proxy_pass http:\/\/registry;/);
  });

  test('liveness is TCP: a storage outage (GET / -> 503) must not become a restart loop', () => {
    expect(front.liveness_probe.tcp_socket).toEqual([{ port: 'registry' }]);
    // the registry listens on loopback; the kubelet reaches its debug port
    expect(container.liveness_probe.tcp_socket).toEqual([{ port: 'metrics' }]);
    for (const c of [front, container]) expect(c.liveness_probe.http_get).toBeUndefined();
  });

  test('Recreate strategy on a ReadWriteOnce volume', () => {
    expect(deployment.spec.strategy).toEqual({ type: 'Recreate' });
    expect(deployment.wait_for_rollout).toBe(true);
  });

  test('runs as uid 1000 with a read-only root filesystem, no privilege escalation and no capabilities', () => {
    expect(pod.security_context).toMatchObject({
      run_as_non_root: true,
      run_as_user: '1000',
      fs_group: '1000',
      seccomp_profile: { type: 'RuntimeDefault' },
    });
    for (const c of [container, front]) {
      expect(c.security_context).toMatchObject({
        allow_privilege_escalation: false,
        read_only_root_filesystem: true,
        capabilities: { drop: ['ALL'] },
      });
    }
    expect(pod.enable_service_links).toBe(false);
  });

  test('the pod rolls when the config or any secret changes', () => {
    const annotations = deployment.spec.template.metadata.annotations;
    const configText = byPath(json, 'kubernetes_config_map_v1', 'registry/config').data['config.yml'];
    // the registry's config, the front's nginx.conf and its certificate watcher: all read at start
    const watcher = byPath(json, 'kubernetes_config_map_v1', 'registry/front-config').data['reload-watcher.sh'];
    expect(annotations['private-registry-stack/config-sha256']).toBe(createHash('sha256').update(configText).update(frontConf).update(watcher).digest('hex'));
    // roles are variables: the grants file's hash is computed by Terraform, in the same plan
    const grants = byPath(json, 'kubernetes_config_map_v1', 'registry/front-config').data['grants.map'];
    expect(annotations['private-registry-stack/grants-sha256']).toBe(`\${sha256(${grants.slice(2, -1)})}`);
    for (const secret of ['tls/secret', 'auth/htpasswd', 'auth/http-secret']) {
      expect(annotations['private-registry-stack/secrets-sha256']).toContain(`${address(json, 'kubernetes_secret_v1', secret)}.data`);
    }
    expect(JSON.stringify(annotations)).not.toContain('resource_version');
  });

  test('the Service exposes the registry port only, never the debug port', () => {
    const service = only(json, 'kubernetes_service_v1');
    expect(service.spec.port).toEqual([{ name: 'registry', port: 5000, target_port: 'registry', protocol: 'TCP' }]);
    expect(service.spec.type).toBe('ClusterIP');
    expect(service.spec.selector).toEqual(deployment.spec.selector.match_labels);
  });

  test('NodePort and LoadBalancer are selectable per environment', () => {
    for (const serviceType of ['NodePort', 'LoadBalancer'] as const) {
      const other = synth(environment('dev', { serviceType })).json;
      expect(only(other, 'kubernetes_service_v1').spec.type).toBe(serviceType);
    }
  });

  test('every namespaced resource names the namespace through the namespace resource (created first)', () => {
    const ns = '${kubernetes_namespace_v1.namespace.metadata[0].name}';
    for (const type of ['kubernetes_deployment_v1', 'kubernetes_service_v1', 'kubernetes_persistent_volume_claim_v1']) {
      expect(only(json, type).metadata.namespace).toBe(ns);
    }
    expect(byPath(json, 'kubernetes_config_map_v1', 'registry/config').metadata.namespace).toBe(ns);
    expect(byPath(json, 'kubernetes_secret_v1', 'tls/secret').metadata.namespace).toBe(ns);
  });
});
