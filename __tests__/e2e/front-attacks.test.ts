/**
 * The front (lib/registry/front.ts) attacked on the real programs: Debian's nginx with the synthesized nginx.conf and
 * the grants Terraform rendered, before the real registry, each request sent as written over TLS. Cross-repository
 * mounts whose "from" the registry reads differently from nginx (a decoded key, a key in another case, a form body),
 * and a table of attempts the front refuses, each with its status, sent in parallel.
 */
import * as https from 'node:https';
import * as tls from 'node:tls';
import { pushBlob } from '../../lib/check/blobs';
import { RegistryClient } from '../../lib/check/client';
import { environment, synth } from '../../harness/synth';
import { resourcesOf, type Synthesized } from '../../harness/json';
import { INNER_PORT } from '../../lib/registry/front';
import { useCleanup } from '../../harness/programs';
import { StackRegistry, startStackRegistry } from '../../harness/programs/stack-registry';

const ROLES = {
  registry_users: ['admin', 'ci', 'viewer'],
  registry_roles: ['admin:admin', 'ci:push:team-a/*', 'viewer:pull:team-a/app'],
  anonymous_pull_repositories: ['public/**'],
};

describe('the front before the real registry, attacked', () => {
  const cleanup = useCleanup();
  let stack: StackRegistry;
  let digest: string;
  let json: Synthesized;
  /** One request exactly as written (no URL parsing), its status and body. */
  const send = (method: string, path: string, user?: string, headers: Record<string, string> = {}, body?: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = https.request({
        host: '127.0.0.1', port: stack.port, method, path, ca: stack.tls.caPem, servername: 'localhost', agent: false,
        headers: { ...(user ? { authorization: `Basic ${Buffer.from(`${user}:${stack.users[user] ?? 'wrong'}`).toString('base64')}` } : {}), ...headers },
      }, (res) => {
        let text = '';
        res.on('data', (c) => { text += c; });
        res.on('end', () => resolve({ status: res.statusCode!, body: text }));
      });
      req.once('error', reject);
      req.end(body);
    });

  beforeAll(async () => {
    json = synth(environment('dev', { variables: ROLES })).json;
    stack = await startStackRegistry(cleanup, json);
    const admin = new RegistryClient({ host: '127.0.0.1', port: stack.port, caPem: stack.tls.caPem, username: 'admin', password: stack.users.admin });
    cleanup.add(() => admin.close());
    ({ digest } = await pushBlob(admin, 'team-b/app', Buffer.from(`only in team-b ${Date.now()}`), { mode: 'monolithic' }));
  }, 60_000);

  it('the registry listens on loopback only; the Service and the NetworkPolicy never name its port', () => {
    expect(stack.configYaml).toMatch(new RegExp(`addr: 127\\.0\\.0\\.1:${INNER_PORT}\\b`));
    const exposed = JSON.stringify([resourcesOf(json, 'kubernetes_service_v1'), resourcesOf(json, 'kubernetes_network_policy_v1')]);
    expect(exposed).not.toContain(String(INNER_PORT));
    const ports = resourcesOf(json, 'kubernetes_deployment_v1')[0].spec.template.spec.container.flatMap((c: any) => c.port ?? []);
    expect(ports.map((p: any) => p.container_port)).not.toContain(INNER_PORT);
  });

  it.each([
    ['the plain form', (d: string) => `mount=${d}&from=team-b%2Fapp`, {}, undefined],
    ['a percent-encoded key (Go decodes it, nginx does not)', (d: string) => `mount=${d}&%66rom=team-b%2Fapp`, {}, undefined],
    ['a granted FROM before the real from (nginx ignores case, Go does not)', (d: string) => `mount=${d}&FROM=team-a%2Fapp&from=team-b%2Fapp`, {}, undefined],
    ['"from" in a form body (Go\'s FormValue reads it)', (d: string) => `mount=${d}`, { 'content-type': 'application/x-www-form-urlencoded' }, 'from=team-b%2Fapp'],
    ['a name that is no repository', (d: string) => `mount=${d}&from=team-a%2F..%2Fteam-b%2Fapp`, {}, undefined],
  ])('a push user cannot mount a blob from outside its grant: %s', async (_, query, headers, body) => {
    const repo = `team-a/m${process.hrtime.bigint()}`;
    const started = await send('POST', `/v2/${repo}/blobs/uploads/?${query(digest)}`, 'ci', headers as Record<string, string>, body);
    expect([started.status, started.body]).toEqual([202, '']);
    expect((await send('GET', `/v2/${repo}/blobs/${digest}`, 'ci')).status).toBe(404);
  }, 30_000);

  it('refuses every other attempt, each with its status', async () => {
    const m = `sha256:${'0'.repeat(64)}`;
    const attempts: Array<[string, string, string | undefined, number, Record<string, string>?]> = [
      // catalog, delete and push outside the grant
      ['GET', '/v2/_catalog', 'ci', 403],
      ['GET', '/v2/_catalog', 'viewer', 403],
      ['GET', '/v2/_catalog', undefined, 401],
      ['DELETE', `/v2/team-a/app/manifests/${m}`, 'ci', 403],
      ['DELETE', `/v2/team-a/app/blobs/${m}`, 'ci', 403],
      ['POST', '/v2/team-a/app/blobs/uploads/', 'viewer', 403],
      ['PUT', '/v2/team-a/app/manifests/v9', 'viewer', 403],
      ['POST', '/v2/team-a-evil/x/blobs/uploads/', 'ci', 403],
      ['POST', '/v2/team-a/x/y/blobs/uploads/', 'ci', 403],
      ['GET', '/v2/team-b/app/tags/list', 'ci', 403],
      ['GET', '/v2/team-a/other/tags/list', 'viewer', 403],
      // route words inside names, domain-prefixed and uppercase names
      ['GET', '/v2/team-a/app/manifests/x/tags/list', 'viewer', 403],
      ['POST', '/v2/team-b/app/blobs/uploads/blobs/uploads/', 'ci', 403],
      ['GET', '/v2/Team-a/app/tags/list', 'viewer', 403],
      ['GET', '/v2/localhost:5000/team-a/app/tags/list', 'viewer', 403],
      // paths the registry would clean or decode
      ['GET', '/v2/team-b%2Fapp/tags/list', 'ci', 400],
      ['GET', '/v2/team-a/%2e%2e/team-b/app/tags/list', 'ci', 400],
      ['GET', '/v2/team-a/app/..%2F..%2Fteam-b/app/tags/list', 'ci', 400],
      ['GET', '/v2/team-a/%252e%252e/team-b/app/tags/list', 'ci', 400],
      ['GET', '/v2/team-a//app/tags/list', 'viewer', 400],
      ['GET', '/v2/team-a/./app/tags/list', 'viewer', 400],
      ['GET', '/v2/team-a/app/tags/list/', 'viewer', 403],
      ['GET', '/v2/team-a/app;x/tags/list', 'viewer', 403],
      // methods
      ['PROPFIND', '/v2/team-a/app/tags/list', 'viewer', 403],
      ['OPTIONS', '/v2/team-a/app/tags/list', 'viewer', 403],
      ['TRACE', '/v2/team-a/app/tags/list', 'viewer', 405],
      ['PATCH', '/v2/team-a/app/manifests/v1', 'ci', 403],
      ['GET', `/v2/team-a/app/manifests/${m}`, 'viewer', 404, { 'x-http-method-override': 'DELETE' }],
      ['POST', '/v2/team-b/app/blobs/uploads/', 'ci', 403, { 'x-http-method-override': 'GET' }],
      // credentials
      ['GET', '/v2/team-a/app/tags/list', 'nobody', 401],
      ['GET', '/v2/', 'nobody', 401],
      ['GET', '/v2/', undefined, 401],
      ['GET', '/v2/team-a/app/tags/list', undefined, 401, { authorization: `Basic ${Buffer.from(':').toString('base64')}` }],
      ['GET', '/v2/team-a/app/tags/list', undefined, 401, { authorization: `Basic ${Buffer.from('viewer:').toString('base64')}` }],
      ['GET', '/v2/team-a/app/tags/list', undefined, 401, { authorization: `Basic ${Buffer.from('viewer:x:y').toString('base64')}` }],
      ['GET', '/v2/team-a/app/tags/list', undefined, 400, { authorization: `Basic ${'A'.repeat(20_000)}` }],
      // anonymous: pulls on public/** only
      ['POST', '/v2/public/base/blobs/uploads/', undefined, 401],
      ['DELETE', `/v2/public/base/manifests/${m}`, undefined, 401],
      ['GET', '/v2/public/base/tags/list', undefined, 404],
      ['POST', '/', undefined, 403],
      ['GET', '/', undefined, 200],
    ];
    const got = await Promise.all(attempts.map(async ([method, path, user, , headers]) =>
      [method, path, user ?? '-', (await send(method, path, user, headers)).status]));
    expect(got).toEqual(attempts.map(([method, path, user, status]) => [method, path, user ?? '-', status]));
  }, 60_000);

  it('request lines and framing nginx parses before the registry sees them', async () => {
    /** One raw request over TLS; the status of the first response. */
    const raw = (text: string) => new Promise<number>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port: stack.port, ca: stack.tls.caPem, servername: 'localhost' }, () => socket.write(text));
      let got = '';
      socket.on('data', (c) => { got += c; });
      socket.on('end', () => resolve(Number(/^HTTP\/1\.[01] (\d{3})/.exec(got)?.[1] ?? 0)));
      socket.once('error', reject);
    });
    const auth = (user: string) => `Authorization: Basic ${Buffer.from(`${user}:${stack.users[user]}`).toString('base64')}\r\n`;
    // Refused requests go to the front's refusal server, which answers a request without Host with 400.
    const cases: Array<[string, string, number]> = [
      ['absolute-form request line', `GET https://other/v2/team-b/app/tags/list HTTP/1.1\r\nHost: localhost\r\n${auth('ci')}Connection: close\r\n\r\n`, 403],
      ['HTTP/1.0 without Host', `GET /v2/team-b/app/tags/list HTTP/1.0\r\n${auth('ci')}\r\n`, 400],
      ['lowercase method', `delete /v2/team-a/app/manifests/v1 HTTP/1.1\r\nHost: localhost\r\n${auth('ci')}Connection: close\r\n\r\n`, 400],
      ['Content-Length with Transfer-Encoding', `POST /v2/team-a/s/blobs/uploads/ HTTP/1.1\r\nHost: localhost\r\n${auth('ci')}Content-Length: 4\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n`, 400],
      ['a fragment in the path', `GET /v2/public/base/tags/list#/../../team-a/app/tags/list HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`, 400],
      ['a dot segment that nginx resolves to /', `GET /v2/_catalog/../.. HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`, 400],
    ];
    const got = await Promise.all(cases.map(async ([what, text]) => [what, await raw(text)]));
    expect(got).toEqual(cases.map(([what, , status]) => [what, status]));
  }, 30_000);
});
