/** RegistryServer alone: it takes the TLS and auth constructs and a storage binding, and mounts what they made. */
import type { Construct } from 'constructs';
import { parse } from 'yaml';
import { RegistryAuth } from '../../lib/auth';
import { RegistryServer } from '../../lib/registry/server';
import { RegistryTls } from '../../lib/tls';
import type { StorageBinding } from '../../lib/storage';
import { address, only, synthConstruct } from '../../harness/synth';

/** A storage binding of another driver: no volume at all, one env-free driver section. */
const objectStorage: StorageBinding = { driver: { inmemory: {} }, volumes: [], volumeMounts: [], initContainers: [] };

function serverAlone(storage: StorageBinding, extra: Partial<ConstructorParameters<typeof RegistryServer>[2]> = {}) {
  return synthConstruct((scope: Construct) => {
    const tls = new RegistryTls(scope, 'tls', { namespace: 'r', secretName: 'r-tls', mode: 'provided', provided: { certificate: 'C', privateKey: 'K', ca: 'A' } });
    const auth = new RegistryAuth(scope, 'auth', { namespace: 'r', htpasswdSecretName: 'r-htpasswd', httpSecretName: 'r-http', users: ['admin'], htpasswdEntries: [] });
    return new RegistryServer(scope, 'registry', {
      namespace: 'r', name: 'r', image: 'registry:3.1.0', replicas: 1, serviceType: 'ClusterIP', tls, auth, storage,
      rolloutStrategy: { type: 'Recreate' }, resources: { cpuRequest: '100m', memoryRequest: '128Mi', memoryLimit: '512Mi' },
      ...extra,
    });
  });
}

describe('RegistryServer alone', () => {
  test('the storage binding decides the driver and the data volume: none for a driver without one', () => {
    // GIVEN a binding with no volume WHEN the server is built
    const { json } = serverAlone(objectStorage);
    const pod = only(json, 'kubernetes_deployment_v1').spec.template.spec;
    // THEN the config carries that driver and nothing is mounted at /var/lib/registry
    const config = parse(only(json, 'kubernetes_config_map_v1').data['config.yml']);
    expect(config.storage.inmemory).toEqual({});
    expect(config.storage.filesystem).toBeUndefined();
    expect(pod.volume.map((v: any) => v.name)).toEqual(['config', 'tls', 'auth', 'tmp']);
    expect(pod.container[0].volume_mount.map((m: any) => m.name)).toEqual(['config', 'tls', 'auth', 'tmp']);
    expect(pod.init_container).toBeUndefined();
  });

  test('mounts the TLS and auth constructs\' secrets and rolls when any of them changes', () => {
    const { json } = serverAlone(objectStorage);
    const pod = only(json, 'kubernetes_deployment_v1').spec.template;
    const tls = address(json, 'kubernetes_secret_v1', 'tls/secret');
    const htpasswd = address(json, 'kubernetes_secret_v1', 'auth/htpasswd');
    const http = address(json, 'kubernetes_secret_v1', 'auth/http-secret');
    expect(pod.spec.volume.find((v: any) => v.name === 'tls').secret.secret_name).toBe(`\${${tls}.metadata[0].name}`);
    expect(pod.spec.volume.find((v: any) => v.name === 'auth').secret.secret_name).toBe(`\${${htpasswd}.metadata[0].name}`);
    const trigger: string = pod.metadata.annotations['private-registry-stack/secrets-sha256'];
    for (const secret of [tls, htpasswd, http]) expect(trigger).toContain(`${secret}.data`);
  });

  test('the rollout strategy is the one given', () => {
    const { json } = serverAlone(objectStorage, { rolloutStrategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '1', maxUnavailable: '0' } } });
    expect(only(json, 'kubernetes_deployment_v1').spec.strategy).toEqual({ type: 'RollingUpdate', rolling_update: { max_surge: '1', max_unavailable: '0' } });
  });

  test('seLinuxOptions land on the pod; without them the runtime default applies', () => {
    const labelled = serverAlone(objectStorage, { seLinuxOptions: { level: 's0:c1,c2' } }).json;
    expect(only(labelled, 'kubernetes_deployment_v1').spec.template.spec.security_context.se_linux_options).toEqual({ level: 's0:c1,c2' });
    const plain = serverAlone(objectStorage).json;
    expect(only(plain, 'kubernetes_deployment_v1').spec.template.spec.security_context.se_linux_options).toBeUndefined();
  });

  test('fails when an SELinux level is not well formed, naming the field', () => {
    expect(() => serverAlone(objectStorage, { seLinuxOptions: { level: 'c1,c2' } }))
      .toThrow(/^seLinuxOptions.level: "c1,c2" is not allowed; expected an SELinux level/);
    expect(() => serverAlone(objectStorage, { seLinuxOptions: { range: 's0' } as any }))
      .toThrow('seLinuxOptions.range: is not allowed; expected one of level, role, type, user.');
  });
});
