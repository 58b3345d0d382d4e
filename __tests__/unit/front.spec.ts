import { ACTIONS, NAME, REPOSITORY_ROUTES, renderFrontConfig } from '../../lib/registry/front';

/** The route table as the front's map reads it: the first route matching, its endpoint and repository. */
function route(path: string): { endpoint: string; repository: string } | undefined {
  for (const { endpoint, path: rest } of REPOSITORY_ROUTES) {
    const match = new RegExp(`^/v2/(?<name>${NAME})${rest}$`).exec(path);
    if (match) return { endpoint, repository: match.groups!.name };
  }
  return undefined;
}

const digest = `sha256:${'a'.repeat(64)}`;

describe('the front (lib/registry/front.ts)', () => {
  test.each([
    ['/v2/library/busybox/manifests/1.37.0', 'manifest', 'library/busybox'],
    ['/v2/library/busybox/manifests/' + digest, 'manifest', 'library/busybox'],
    // a name may contain a route word: the capture is the longest name, as gorilla/mux's Go regexp takes it
    ['/v2/a/manifests/b/manifests/latest', 'manifest', 'a/manifests/b'],
    ['/v2/x/blobs/uploads/blobs/' + digest, 'blob', 'x/blobs/uploads'],
    ['/v2/team-a/app/blobs/uploads/', 'upload', 'team-a/app'],
    ['/v2/team-a/app/blobs/uploads/3f2a-b_c.d=', 'upload', 'team-a/app'],
    ['/v2/team-a/app/tags/list', 'tags', 'team-a/app'],
    // reference.NameRegexp's optional domain: such names never match a glob (lowercase components only)
    ['/v2/Localhost:5000/app/tags/list', 'tags', 'Localhost:5000/app'],
  ])('routes %s to %s on %s', (path, endpoint, repository) => {
    expect(route(path)).toEqual({ endpoint, repository });
  });

  test.each([
    ['/v2/App/tags/list', 'an uppercase component without a domain'],
    [`/v2/app/manifests/${'t'.repeat(129)}`, 'a tag longer than 128 characters'],
    ['/v2/app/tags/list/', 'a trailing slash (the registry redirects it)'],
    ['/v2/app__/tags/list', 'a component ending in a separator'],
  ])('routes nothing for %s (%s): only an admin passes', (path) => {
    expect(route(path)).toBeUndefined();
  });

  test('asks for the action distribution\'s token auth asks for: GET/HEAD pull, POST/PUT/PATCH push, DELETE delete', () => {
    expect(ACTIONS.manifest).toEqual({ GET: 'pull', HEAD: 'pull', PUT: 'push', DELETE: 'delete' });
    expect(ACTIONS.upload).toEqual({ GET: 'pull', HEAD: 'pull', POST: 'push', PATCH: 'push', PUT: 'push', DELETE: 'delete' });
    expect(ACTIONS.blob).toEqual({ GET: 'pull', HEAD: 'pull', DELETE: 'delete' });
    expect(ACTIONS.catalog.GET).toBe('catalog');
  });

  test('streams image layers: no body limit, no buffering either way, long timeouts', () => {
    const conf = renderFrontConfig({ port: 5000, innerPort: 5002, tlsDir: '/t', htpasswdPath: '/a/htpasswd', grantsPath: '/c/grants.map', runDir: '/r' });
    for (const line of ['client_max_body_size 0;', 'proxy_request_buffering off;', 'proxy_buffering off;', 'chunked_transfer_encoding on;', 'proxy_read_timeout 900s;']) {
      expect(conf).toContain(line);
    }
    // Location URLs point where the client connected
    expect(conf).toContain('proxy_set_header Host $http_host;');
    expect(conf).toContain('proxy_set_header X-Forwarded-Proto https;');
  });
});
