import { parse } from 'yaml';
import { renderRegistryConfig } from '../../lib/registry/config';

describe('renderRegistryConfig', () => {
  const config = parse(renderRegistryConfig({ port: 5000, debugPort: 5001 }));

  test('serves TLS 1.2+ from the mounted secret and requires htpasswd auth', () => {
    expect(config.http.tls).toEqual({
      certificate: '/etc/distribution/tls/tls.crt',
      key: '/etc/distribution/tls/tls.key',
      minimumtls: 'tls1.2',
    });
    expect(config.auth.htpasswd.path).toBe('/etc/distribution/auth/htpasswd');
  });

  test('carries no secret: http.secret comes from the environment', () => {
    expect(config.http.secret).toBeUndefined();
  });

  test('metrics on the debug port; storage health drives GET /', () => {
    expect(config.http.addr).toBe(':5000');
    expect(config.http.debug).toEqual({ addr: ':5001', prometheus: { enabled: true, path: '/metrics' } });
    expect(config.health.storagedriver.enabled).toBe(true);
  });

  test('deletes allowed (garbage collection can reclaim space), read-only switchable for GC windows', () => {
    expect(config.storage.delete.enabled).toBe(true);
    expect(config.storage.maintenance.readonly.enabled).toBe(false);
    expect(parse(renderRegistryConfig({ port: 5000, debugPort: 5001, readOnly: true })).storage.maintenance.readonly.enabled).toBe(true);
  });

  test('TLS and auth can be turned off only explicitly', () => {
    const open = parse(renderRegistryConfig({ port: 5000, debugPort: 5001, tls: false, auth: false }));
    expect(open.http.tls).toBeUndefined();
    expect(open.auth).toBeUndefined();
  });
});
