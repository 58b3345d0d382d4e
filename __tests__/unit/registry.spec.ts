import { createHash } from 'node:crypto';
import { parse } from 'yaml';
import { environment, synth, only, address, byPath } from '../../harness/synth';
import { MOUNTS } from '../../lib/registry/config';

describe('RegistryServer', () => {
  const { json } = synth(environment('dev'));
  const deployment = only(json, 'kubernetes_deployment_v1');
  const pod = deployment.spec.template.spec;
  const container = pod.container[0];
  const volume = (name: string) => pod.volume.find((v: any) => v.name === name);
  const mount = (name: string) => container.volume_mount.find((m: any) => m.name === name);

  const config = parse(byPath(json, 'kubernetes_config_map_v1', 'registry/config').data['config.yml']);
  const containerPort = (name: string) => container.port.find((p: any) => p.name === name).container_port;

  test('config.yml listens on the ports the container declares, and the pod mounts it where the image reads it', () => {
    expect(config.http.addr).toBe(`:${containerPort('registry')}`);
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
    // The config points at the files where those secrets are mounted.
    expect(config.http.tls.certificate).toBe(`${mount('tls').mount_path}/tls.crt`);
    expect(config.http.tls.key).toBe(`${mount('tls').mount_path}/tls.key`);
    expect(config.auth.htpasswd.path).toBe(`${mount('auth').mount_path}/htpasswd`);
    expect(config.storage.filesystem.rootdirectory).toBe(mount('data').mount_path);
    expect(mount('data').mount_path).toBe(MOUNTS.data);
  });

  test('startup and readiness are GET / on the registry port over HTTPS (never /v2/, which answers 401)', () => {
    for (const probe of ['startup_probe', 'readiness_probe']) {
      expect(container[probe].http_get).toEqual({ path: '/', port: 'registry', scheme: 'HTTPS' });
    }
  });

  test('liveness is TCP on the registry port: a storage outage (GET / -> 503) must not become a restart loop', () => {
    expect(container.liveness_probe.tcp_socket).toEqual([{ port: 'registry' }]);
    expect(container.liveness_probe.http_get).toBeUndefined();
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
    expect(container.security_context).toMatchObject({
      allow_privilege_escalation: false,
      read_only_root_filesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(pod.enable_service_links).toBe(false);
  });

  test('the pod rolls when the config or any secret changes', () => {
    const annotations = deployment.spec.template.metadata.annotations;
    const configText = byPath(json, 'kubernetes_config_map_v1', 'registry/config').data['config.yml'];
    expect(annotations['private-registry-stack/config-sha256']).toBe(createHash('sha256').update(configText).digest('hex'));
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
