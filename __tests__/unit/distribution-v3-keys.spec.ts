/**
 * Every config.yml key we render and every REGISTRY_* variable the Deployment sets exists in distribution v3.1.0
 * (the deployed image). Nothing else catches a key v3 dropped or renamed: v3 and the 2.8.2 binary the e2e tests run
 * both ignore unknown keys silently. The checker and its data: harness/distribution-v3.ts.
 */
import { parse } from 'yaml';
import { renderRegistryConfig, RegistryConfigOptions } from '../../lib/registry/config';
import { DISTRIBUTION_V3, disallowedValues, mapEnvVar, unknownConfigKeys, unknownEnvVars } from '../../harness/distribution-v3';
import { byPath, environment, synth, Synthesized } from '../../harness/synth';
import { S3_STORAGE_CLASSES } from '../../lib/rules';

/** A Terraform JSON block is an object or a one-element list depending on the schema; read both. */
const list = (value: unknown): any[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

describe('distribution-v3 keys', () => {
  // In a hook, not at collection: `-t` filters that skip these tests skip the synth too.
  let json: Synthesized;
  beforeAll(() => {
    json = synth(environment('dev')).json;
  });

  describe('data', () => {
    test('comes from the v3.1.0 tag and holds the keys this stack and its docs rely on', () => {
      expect(DISTRIBUTION_V3.source).toMatchObject({ repository: 'https://github.com/distribution/distribution', tag: 'v3.1.0' });
      expect(DISTRIBUTION_V3.source.commit).toMatch(/^[0-9a-f]{40}$/);
      expect(DISTRIBUTION_V3.keys).toEqual(
        expect.arrayContaining([
          'http.tls.certificate',
          'http.draintimeout',
          'storage.filesystem.rootdirectory',
          'storage.s3.regionendpoint',
          'storage.s3.forcepathstyle',
          'redis.addrs',
          'redis.tls.rootcas',
          'notifications.endpoints[].url',
          'proxy.ttl',
          'storage.maintenance.readonly.enabled',
          'log.fields.*',
          'http.headers.*',
        ]),
      );
      expect(new Set(DISTRIBUTION_V3.keys).size).toBe(DISTRIBUTION_V3.keys.length);
      for (const key of DISTRIBUTION_V3.keys) expect(key).toMatch(/^[a-z0-9_]+(\[\])*(\.([a-z0-9_]+|\*)(\[\])*)*$/);
    });
  });

  describe('config.yml', () => {
    const variants: [string, RegistryConfigOptions][] = [
      ['defaults', { port: 5000, debugPort: 5001 }],
      ['read-only, deletes off, debug log', { port: 5000, debugPort: 5001, readOnly: true, deleteEnabled: false, logLevel: 'debug' }],
      ['TLS and auth off', { port: 5000, debugPort: 5001, tls: false, auth: false }],
    ];

    test('the ConfigMap the dev Deployment mounts has no key v3.1.0 does not know, and no value it refuses', () => {
      const config = parse(byPath(json, 'kubernetes_config_map_v1', 'registry/config').data['config.yml']);
      expect(config.storage.filesystem.rootdirectory).toBe('/var/lib/registry');
      expect(unknownConfigKeys(config)).toEqual([]);
      expect(disallowedValues(config)).toEqual([]);
      // The same walk reports a key added anywhere in this very config.
      const typo = structuredClone(config);
      typo.storage.maintenance.readonly.enable = true;
      expect(unknownConfigKeys(typo)).toEqual(['storage.maintenance.readonly.enable']);
    });

    test.each(variants)('renderRegistryConfig (%s) renders only keys and values v3.1.0 knows', (_name, options) => {
      const config = parse(renderRegistryConfig(options));
      expect(unknownConfigKeys(config)).toEqual([]);
      expect(disallowedValues(config)).toEqual([]);
      expect(unknownConfigKeys({ ...config, http: { ...config.http, drainTimeout: '30s' } })).toEqual(['http.drainTimeout']);
    });
  });

  describe('Deployment environment', () => {
    test('every REGISTRY_* variable the Deployment sets maps onto a v3.1.0 key', () => {
      const deployments = Object.values(json.resource.kubernetes_deployment_v1 ?? {});
      const containers = deployments.flatMap((d: any) =>
        list(d.spec)
          .flatMap((spec) => list(spec.template))
          .flatMap((template) => list(template.spec))
          .flatMap((pod) => [...list(pod.init_container), ...list(pod.container)]),
      );
      const names = containers.flatMap((c) => list(c.env).map((e) => e.name as string));
      expect(deployments).toHaveLength(1);
      expect(names).toContain('REGISTRY_HTTP_SECRET');
      expect(names.filter((n) => n.startsWith('REGISTRY_')).map((n) => mapEnvVar(n))).toEqual([{ path: 'http.secret' }]);
      expect(unknownEnvVars(names)).toEqual([]);
      expect(unknownEnvVars([...names, 'REGISTRY_HTTP_SECRETS'])).toEqual(['REGISTRY_HTTP_SECRETS']);
    });
  });

  describe('object storage and Redis (example-s3, s3-aws)', () => {
    const stacks: Record<string, Synthesized> = {};
    beforeAll(() => {
      for (const name of ['example-s3', 's3-aws']) stacks[name] = synth(environment(name)).json;
    });
    const registryEnv = (json: Synthesized): string[] =>
      (Object.values(json.resource.kubernetes_deployment_v1)[0] as any).spec.template.spec.container[0].env.map((e: any) => e.name);

    test.each(['example-s3', 's3-aws'])('%s: config.yml has only v3.1.0 keys and values', (name) => {
      const config = parse(byPath(stacks[name], 'kubernetes_config_map_v1', 'registry/config').data['config.yml']);
      expect(unknownConfigKeys(config)).toEqual([]);
      expect(disallowedValues(config)).toEqual([]);
    });

    test.each(['example-s3', 's3-aws'])('%s: every REGISTRY_* variable sets a v3.1.0 key (S3 driver, redirect, Redis)', (name) => {
      const names = registryEnv(stacks[name]).filter((n) => n.startsWith('REGISTRY_'));
      expect(unknownEnvVars(names)).toEqual([]);
      const paths = names.map((n) => mapEnvVar(n)!.path);
      expect(paths).toEqual(expect.arrayContaining([
        'storage.s3.bucket', 'storage.s3.region', 'storage.s3.regionendpoint', 'storage.s3.forcepathstyle', 'storage.s3.secure',
        'storage.s3.rootdirectory', 'storage.s3.encrypt', 'storage.s3.keyid', 'storage.s3.storageclass', 'storage.s3.chunksize',
        'storage.s3.multipartcopychunksize', 'storage.s3.multipartcopythresholdsize', 'storage.s3.multipartcopymaxconcurrency',
        'storage.redirect.disable', 'redis.addrs', 'redis.username', 'redis.password', 'redis.db',
      ]));
      // v3 panics on a second driver: every storage variable is for the driver config.yml names.
      expect(paths.filter((p) => p!.startsWith('storage.') && !p!.startsWith('storage.s3.') && p !== 'storage.redirect.disable')).toEqual([]);
    });

    test('the storage classes the rules allow are the ones v3.1.0 accepts', () => {
      expect([...S3_STORAGE_CLASSES].sort()).toEqual([...DISTRIBUTION_V3.values['storage.s3.storageclass']].sort());
    });
  });

  describe('the checker fails where v3.1.0 would ignore', () => {
    test('a 2.8-style redis section', () => {
      expect(unknownConfigKeys({ redis: { addr: 'redis:6379', pool: { maxidle: 1 } } })).toEqual(['redis.addr', 'redis.pool.maxidle']);
      expect(unknownConfigKeys({ redis: { addrs: ['redis:6379'], maxidleconns: 1, tls: { rootcas: ['/ca.pem'] } } })).toEqual([]);
      // v3.0.0 spelled the CA list clientcas.
      expect(unknownConfigKeys({ redis: { tls: { clientcas: ['/ca.pem'] } } })).toEqual(['redis.tls.clientcas']);
    });

    test('a typo in a storage driver parameter, and a parameter of another driver', () => {
      expect(unknownConfigKeys({ storage: { filesystem: { rootdir: '/var/lib/registry' } } })).toEqual(['storage.filesystem.rootdir']);
      expect(unknownConfigKeys({ storage: { filesystem: { rootdirectory: '/d', maxthreads: 50 } } })).toEqual([]);
      expect(unknownConfigKeys({ storage: { filesystem: { bucket: 'b' } } })).toEqual(['storage.filesystem.bucket']);
      expect(unknownConfigKeys({ storage: { s3: { bucket: 'b', forcepathstyle: true, pathstyle: true } } })).toEqual(['storage.s3.pathstyle']);
      expect(unknownConfigKeys({ storage: { inmemory: { size: 1 } } })).toEqual(['storage.inmemory.size']);
    });

    test('keys are case-sensitive, lists and free-form maps are walked as v3.1.0 reads them', () => {
      expect(unknownConfigKeys({ Storage: { filesystem: {} }, http: { TLS: {} } })).toEqual(['Storage.filesystem', 'http.TLS']);
      expect(unknownConfigKeys({ notifications: { endpoints: [{ url: 'u', headers: { A: ['b'] } }, { urls: 'u' }] } })).toEqual([
        'notifications.endpoints[].urls',
      ]);
      expect(unknownConfigKeys({ log: { fields: { service: 'registry', nested: { any: 1 } } }, http: { headers: { 'X-A': ['1'] } } })).toEqual([]);
      expect(unknownConfigKeys({ reporting: { bugsnag: { apikey: 'k' } }, compatibility: { schema1: { enabled: true } } })).toEqual([
        'reporting.bugsnag.apikey',
        'compatibility.schema1.enabled',
      ]);
    });

    test('a value v3.1.0 refuses: TLS 1.0/1.1 as the minimum', () => {
      expect(disallowedValues({ http: { tls: { minimumtls: 'tls1.0' } } })).toEqual(['http.tls.minimumtls=tls1.0']);
      expect(disallowedValues({ http: { tls: { minimumtls: 'tls1.3' } }, log: { level: 'DEBUG' } })).toEqual([]);
    });

    test('a misspelt variable: REGISTRY_STORAGE_S3_ACESSKEY', () => {
      expect(unknownEnvVars(['REGISTRY_STORAGE_S3_ACESSKEY', 'REGISTRY_STORAGE_S3_ACCESSKEY'])).toEqual(['REGISTRY_STORAGE_S3_ACESSKEY']);
      expect(mapEnvVar('REGISTRY_STORAGE_S3_ACCESSKEY')).toEqual({ path: 'storage.s3.accesskey' });
    });

    test('variables follow Go field names, list indexes and map keys as the v3.1.0 parser does', () => {
      const known = [
        'REGISTRY_HTTP_SECRET',
        'REGISTRY_STORAGE',
        'REGISTRY_HTTP_TLS',
        'REGISTRY_HEALTH_FILECHECKERS_0_FILE',
        'REGISTRY_NOTIFICATIONS_EVENTCONFIG_INCLUDEREFERENCES',
        'REGISTRY_NOTIFICATIONS_ENDPOINTS_0_URL',
        'REGISTRY_REDIS_ADDRS',
        'REGISTRY_REDIS_OPTIONS_ADDRS',
        'REGISTRY_REDIS_TLS_ROOTCAS',
        'REGISTRY_HTTP_HEADERS_X-CONTENT-TYPE-OPTIONS',
        'REGISTRY_LOG_FIELDS_SERVICE',
        'REGISTRY_AUTH_HTPASSWD_PATH',
        'REGISTRY_STORAGE_MAINTENANCE_READONLY',
        'REGISTRY_MIDDLEWARE_STORAGE_0_OPTIONS_BASEURL',
        'OTEL_TRACES_EXPORTER',
      ];
      expect(unknownEnvVars(known)).toEqual([]);
      expect(mapEnvVar('REGISTRY_HEALTH_FILECHECKERS_0_FILE')).toEqual({ path: 'health.file[].file' });
      expect(mapEnvVar('REGISTRY_REDIS_OPTIONS_ADDRS')).toEqual({ path: 'redis.addrs' });
      expect(mapEnvVar('OTEL_TRACES_EXPORTER')).toBeUndefined();

      const unknown = [
        'REGISTRY_HEALTH_FILE_0_FILE', // the yaml tag, not the Go field name
        'REGISTRY_NOTIFICATIONS_EVENTS_INCLUDEREFERENCES',
        'REGISTRY_NOTIFICATIONS_ENDPOINTS_FIRST_URL',
        'REGISTRY_REDIS_ADDR',
        'REGISTRY_REDIS_POOL_MAXIDLE',
        'REGISTRY_REDIS_OPTIONS_TLS_KEY', // tls is not in the inlined options
        'REGISTRY_http_SECRET',
        'REGISTRY_HTTP_SECRET_VALUE',
        'REGISTRY_HTTP_TLS_CLIENTCAS_0', // a list of strings: the element is appended, never set
        'REGISTRY_STORAGE_AZURE_MAX_RETRIES', // the '_' splits the key
        'REGISTRY_STORAGE_MAINTENANCE_READONLY_ENABLED', // builds map[string]any: panic, or ignored
        'REGISTRY_HOSTS',
      ];
      expect(unknownEnvVars(unknown)).toEqual(unknown);
    });
  });
});
