/**
 * Roles on the real programs: the stack's front (Debian nginx with the synthesized nginx.conf and the grants file
 * Terraform rendered from the role variables) before the real registry, reached through the exposure's nginx stream
 * proxy, every success and refusal checked with skopeo as a user runs it (status and the error text it prints), and
 * the raw status and body where skopeo cannot show one request alone.
 */
import * as https from 'node:https';
import * as path from 'node:path';
import { pushBlob, pushImage, pushManifest } from '../../lib/check/blobs';
import { RegistryClient } from '../../lib/check/client';
import { imageConfig, imageManifest, MEDIA_TYPES } from '../../lib/check/oci';
import { environment, synth, address, resourcesOf } from '../../harness/synth';
import { synthesized, type Synthesized } from '../../harness/json';
import { SkopeoAuth, skopeoCopy, skopeoDelete, skopeoDigest, skopeoFailure, useCleanup } from '../../harness/programs';
import { tcpRouteFromValues } from '../../harness/programs/pod';
import { StackRegistry, startProxy, startStackRegistry } from '../../harness/programs/stack-registry';

const ROLES = {
  registry_users: ['admin', 'ci', 'viewer'],
  registry_roles: ['admin:admin', 'ci:push:team-a/*', 'viewer:pull:team-a/app'],
  anonymous_pull_repositories: ['public/**'],
  pull_secret_namespaces: ['team-a'],
};
const PULL_USER = 'registry-pull';
// skopeo prints the registry's error code ("denied"), or the status where the response has no body (HEAD)
const DENIED = /: denied|403 \(Forbidden\)|requested access to the resource is denied/;
const UNAUTHORIZED = /authentication required|unauthorized/i;

let json: Synthesized;
beforeAll(() => {
  json = synth(environment('dev', { variables: ROLES })).json;
});

describe('roles on registry-dev: the front before the real registry, through the nginx stream proxy', () => {
  const cleanup = useCleanup();
  let stack: StackRegistry;
  let proxy: string;
  let imageDir: string;
  const as = (user?: string): SkopeoAuth => ({ certDir: stack.tls.certDir, ...(user ? { creds: `${user}:${stack.users[user]}` } : {}) });
  const ref = (repoTag: string) => `docker://${proxy}/${repoTag}`;
  const client = (user?: string) => {
    const c = new RegistryClient({
      host: '127.0.0.1', port: Number(proxy.split(':')[1]), caPem: stack.tls.caPem,
      ...(user ? { username: user, password: stack.users[user] } : {}),
    });
    cleanup.add(() => c.close());
    return c;
  };
  const push = (user: string, repoTag: string) => skopeoCopy(`dir:${imageDir}`, ref(repoTag), { dest: as(user) }, stack.dir);
  const pull = (user: string | undefined, repoTag: string) =>
    skopeoCopy(ref(repoTag), `dir:${path.join(stack.dir, `pulled-${process.hrtime.bigint()}`)}`, { src: as(user) }, stack.dir);

  beforeAll(async () => {
    stack = await startStackRegistry(cleanup, json);
    proxy = (await startProxy(cleanup, stack.dir, tcpRouteFromValues(json).externalPort, stack.port)).nginx.address;
    // one image, pushed by the admin into every repository the tests read
    const admin = client('admin');
    const image = await pushImage(admin, 'seed/app', 'v1');
    imageDir = path.join(stack.dir, 'image');
    await expect(skopeoCopy(ref('seed/app:v1'), `dir:${imageDir}`, { src: as('admin') }, stack.dir)).resolves.toBe(image.manifestDigest);
    for (const repo of ['team-a/app', 'team-b/app', 'public/base']) await push('admin', `${repo}:v1`);
  }, 60_000);

  it('the pull-secret user pulls, and is refused a blob upload, a manifest PUT, a tag overwrite and a DELETE', async () => {
    await expect(pull(PULL_USER, 'team-a/app:v1')).resolves.toMatch(/^sha256:/);
    await expect(pull(PULL_USER, 'team-b/app:v1')).resolves.toMatch(/^sha256:/);
    const puller = client(PULL_USER);
    // the single requests, with the status and the registry-style error a client gets
    await expect(pushBlob(puller, 'team-a/app', Buffer.from('not allowed'), { mode: 'monolithic' }))
      .rejects.toMatchObject({ status: 403, code: 'DENIED' });
    const config = imageConfig([]);
    const manifest = imageManifest({ digest: `sha256:${'0'.repeat(64)}`, size: config.length, mediaType: MEDIA_TYPES.config }, []);
    await expect(pushManifest(puller, 'team-a/app', 'v2', manifest)).rejects.toMatchObject({ status: 403, code: 'DENIED' });
    // what a user sees: skopeo's push into a new repository (blob upload), over an existing tag (every blob is
    // there: the manifest PUT is refused) and its delete
    await expect(skopeoFailure(push(PULL_USER, 'team-a/new:v1'))).resolves.toMatch(/initiating layer upload to \/v2\/team-a\/new\/blobs\/uploads\/ in [^ ]+: denied/);
    await expect(skopeoFailure(push(PULL_USER, 'team-a/app:v1'))).resolves.toMatch(DENIED);
    await expect(skopeoFailure(skopeoDelete(ref('team-a/app:v1'), as(PULL_USER)))).resolves.toMatch(DENIED);
    // and the tag still names the admin's image
    await expect(skopeoDigest(ref('team-a/app:v1'), as('admin'))).resolves.toBe(await skopeoDigest(ref('seed/app:v1'), as('admin')));
  }, 60_000);

  it('a push user pushes into its repositories only, never deletes, and does not list the catalog', async () => {
    await expect(push('ci', 'team-a/built:v1')).resolves.toMatch(/^sha256:/);
    await expect(pull('ci', 'team-a/built:v1')).resolves.toMatch(/^sha256:/);
    // team-a/* is one path component: team-a/x/y and team-b are outside the grant, for pulls too
    await expect(skopeoFailure(push('ci', 'team-b/app:v2'))).resolves.toMatch(DENIED);
    await expect(skopeoFailure(push('ci', 'team-a/x/y:v1'))).resolves.toMatch(DENIED);
    await expect(skopeoFailure(pull('ci', 'team-b/app:v1'))).resolves.toMatch(DENIED);
    await expect(skopeoFailure(skopeoDelete(ref('team-a/built:v1'), as('ci')))).resolves.toMatch(DENIED);
    await expect(client('ci').request('GET', '/v2/_catalog').then((r) => r.status)).resolves.toBe(403);
  }, 60_000);

  it('a pull user reads exactly the repositories named', async () => {
    await expect(pull('viewer', 'team-a/app:v1')).resolves.toMatch(/^sha256:/);
    await expect(skopeoFailure(pull('viewer', 'team-a/built:v1'))).resolves.toMatch(DENIED);
    await expect(skopeoFailure(push('viewer', 'team-a/app:v3'))).resolves.toMatch(DENIED);
  }, 60_000);

  it('an admin deletes and lists the catalog', async () => {
    await push('admin', 'team-b/old:v1');
    await skopeoDelete(ref('team-b/old:v1'), as('admin'));
    await expect(skopeoFailure(skopeoDigest(ref('team-b/old:v1'), as('admin')))).resolves.toMatch(/manifest unknown/i);
    const catalog = await client('admin').expect('GET', '/v2/_catalog', [200]);
    expect(JSON.parse(await catalog.text()).repositories).toEqual(expect.arrayContaining(['team-a/app', 'team-b/app', 'public/base']));
  }, 60_000);

  it('anonymous pulls work where granted and nowhere else; nothing else is anonymous', async () => {
    await expect(pull(undefined, 'public/base:v1')).resolves.toMatch(/^sha256:/);
    await expect(skopeoFailure(pull(undefined, 'team-a/app:v1'))).resolves.toMatch(UNAUTHORIZED);
    await expect(skopeoFailure(skopeoCopy(`dir:${imageDir}`, ref('public/base:v2'), { dest: as() }, stack.dir))).resolves.toMatch(UNAUTHORIZED);
    const anonymous = client();
    const refused = await anonymous.request('GET', '/v2/team-a/app/tags/list');
    expect(refused.status).toBe(401);
    expect(refused.headers['www-authenticate']).toBe('Basic realm="Registry"');
    expect(JSON.parse(await refused.text())).toMatchObject({ errors: [{ code: 'UNAUTHORIZED' }] });
    // a claimed user with a wrong password gets no more than anonymous: the grant is only checked after the password
    const impostor = new RegistryClient({ host: '127.0.0.1', port: anonymous.port, caPem: stack.tls.caPem, username: 'admin', password: 'wrong' });
    cleanup.add(() => impostor.close());
    await expect(impostor.request('DELETE', `/v2/team-a/app/manifests/${await skopeoDigest(ref('team-a/app:v1'), as('admin'))}`).then((r) => r.status)).resolves.toBe(401);
  }, 60_000);

  it('a cross-repository mount from a repository the user cannot pull starts an upload instead of linking the blob', async () => {
    const blob = Buffer.from(`only in team-b ${Date.now()}`);
    const { digest } = await pushBlob(client('admin'), 'team-b/app', blob, { mode: 'monolithic' });
    const ci = client('ci');
    const mount = (from: string) => ci.request('POST', `/v2/team-a/mounted/blobs/uploads/?mount=${digest}&from=${encodeURIComponent(from)}`);
    // refused mount: the arguments are dropped, the registry opens an upload (202), the blob stays out of team-a
    expect((await mount('team-b/app')).status).toBe(202);
    expect((await ci.request('HEAD', `/v2/team-a/mounted/blobs/${digest}`)).status).toBe(404);
    // from a repository the user can pull, the mount links the blob (201)
    await pushBlob(client('admin'), 'team-a/app', blob, { mode: 'monolithic' });
    expect((await mount('team-a/app')).status).toBe(201);
    expect((await ci.request('HEAD', `/v2/team-a/mounted/blobs/${digest}`)).status).toBe(200);
  }, 60_000);

  it('refuses paths the registry would clean or decode into another route', async () => {
    // sent as written (URL parsers, and so RegistryClient, would resolve the dots first)
    const status = (p: string) => new Promise<number>((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port: Number(proxy.split(':')[1]), path: p, ca: stack.tls.caPem, servername: 'localhost', auth: `admin:${stack.users.admin}` }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.once('error', reject);
      req.end();
    });
    for (const p of ['/v2/team-a/%61pp/tags/list', '/v2/team-a//app/tags/list', '/v2/team-a/./app/tags/list', '/v2/team-b/../team-a/app/tags/list']) {
      expect([p, await status(p)]).toEqual([p, 400]);
    }
    expect(await status('/v2/team-a/app/tags/list')).toBe(200);
  }, 30_000);

  it('the probes read the registry\'s own GET / through the front, without credentials', async () => {
    const root = await client().request('GET', '/');
    expect(root.status).toBe(200);
  }, 30_000);
});

describe('where the pull-only credential lives', () => {
  it('the pull secret carries the pull user, whose grant is pull on every repository and nothing else', async () => {
    const secret = resourcesOf(json, 'kubernetes_secret_v1').find((s) => s.type === 'kubernetes.io/dockerconfigjson');
    const password = address(json, 'random_password', 'pull-secrets/password');
    expect(secret.data['.dockerconfigjson']).toContain('"username" = format("%s-pull", var.app_name)');
    expect(secret.data['.dockerconfigjson']).toContain(`"password" = ${password}.result`);
    // its htpasswd line is that password's hash
    const hash = resourcesOf(json, 'terraform_data').find((d) => d.input.hash.includes(password));
    expect(hash.input.hash).toBe(`\${bcrypt(${password}.result, 4)}`);
  });

  it('node trust carries no registry credential; with a pull-through cache, only the cache\'s pull-only one', () => {
    for (const name of ['dev', 'example-ops']) {
      const stack = synthesized(name);
      const nodeTrust = JSON.stringify(Object.values(stack.resource).flatMap((byId) => Object.entries(byId))
        .filter(([id]) => id.startsWith('node-trust_')));
      expect([name, nodeTrust.match(/random_password\.[A-Za-z0-9_-]+/g) ?? []])
        .toEqual([name, name === 'example-ops' ? expect.arrayContaining([expect.stringMatching(/^random_password\.mirror_pull-password_/)]) : []]);
      expect(nodeTrust).not.toMatch(/random_password\.(auth|pull-secrets)_/);
    }
  });
});
