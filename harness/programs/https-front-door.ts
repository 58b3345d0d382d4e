/**
 * An L7 data plane for the stack's HTTPS route, as NGINX Gateway Fabric builds one: nginx's http module terminates
 * TLS with the listener's certificate and proxies to the registry over TLS. Everything it routes and limits is read
 * from the objects the stack emits, never written here: the HTTPRoute's hostnames (server_name) and path match
 * (location), the BackendTLSPolicy's hostname (proxy_ssl_name, SNI) with its CA (proxy_ssl_trusted_certificate,
 * verification on), and the ClientSettingsPolicy's body size and body timeout. What is the data plane's own is
 * nginx's defaults, as NGF leaves them (request bodies buffered before they are sent on), and the forwarded headers.
 *
 * Forwarded headers: NGF sends `Host` and `X-Forwarded-Host` as the request's host and `X-Forwarded-Proto` as the
 * scheme. On the listener's port 443 the host carries no port; here the listener is a free loopback port, so the
 * host is passed as the client wrote it (`$http_host`, with the port), which is what 443 gives in production.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { Cleanup } from './cleanup';
import { startConnectProxy } from './connect-proxy';
import { freePort, tcpAccepts, underTempRoot } from './net';
import { execFileAsync, spawnLogged, waitUntilReady } from './process';
import { startStackRegistry } from './stack-registry';
import { makeTlsMaterial } from './tls';

export interface HttpsFrontDoorOptions {
  readonly dir: string;
  readonly listenPort: number;
  /** The listener's certificate and key (cert-manager's, in a cluster). */
  readonly certPath: string;
  readonly keyPath: string;
  /** The objects the stack emits. */
  readonly httpRoute: any;
  readonly backendTlsPolicy: any;
  /** NGINX Gateway Fabric's ClientSettingsPolicy on the route. */
  readonly clientSettingsPolicy: any;
  /** Where the route's backend Service answers (127.0.0.1:<registry port>). */
  readonly backendAddress: string;
  /** The CA PEM file of the ConfigMap the BackendTLSPolicy names. */
  readonly backendCaPath: string;
}

export interface HttpsFrontDoor {
  readonly pid: number;
  readonly port: number;
  readonly confPath: string;
  /** One line per request: `method uri status request_length location="<upstream Location>" time`. */
  readonly accessLogPath: string;
  stop(): Promise<void>;
}

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const SIZE = /^\d{1,4}(k|m|g)?$/;
const DURATION = /^[0-9]{1,4}(ms|s|m|h)?$/;

function expect(condition: boolean, what: string): void {
  if (!condition) throw new Error(`https front door: ${what}`);
}

/** The nginx.conf text, from the route and policy objects. Throws on any shape this data plane does not program. */
export function httpsFrontDoorConfig(options: HttpsFrontDoorOptions): string {
  const { httpRoute: route, backendTlsPolicy: btp, clientSettingsPolicy: csp, dir } = options;
  expect(route?.kind === 'HTTPRoute', 'httpRoute is not an HTTPRoute');
  const hostnames: string[] = route.spec.hostnames;
  expect(Array.isArray(hostnames) && hostnames.length > 0 && hostnames.every((h) => NAME.test(h)), `hostnames ${JSON.stringify(hostnames)}`);
  expect(route.spec.rules.length === 1, 'one rule');
  const [rule] = route.spec.rules;
  expect(rule.backendRefs.length === 1, 'one backendRef');
  const matches: any[] = rule.matches;
  expect(matches.every((m) => m.path?.type === 'PathPrefix' && /^\/[a-z0-9]+$/.test(m.path.value)), `matches ${JSON.stringify(matches)}`);
  expect(btp?.kind === 'BackendTLSPolicy' && btp.spec.targetRefs[0].name === rule.backendRefs[0].name, 'the BackendTLSPolicy targets the route\'s Service');
  const validation = btp.spec.validation;
  expect(NAME.test(validation.hostname) && validation.caCertificateRefs?.[0]?.kind === 'ConfigMap', 'the BackendTLSPolicy checks a hostname against a CA ConfigMap');
  expect(csp?.kind === 'ClientSettingsPolicy' && csp.spec.targetRef.kind === 'HTTPRoute' && csp.spec.targetRef.name === route.metadata.name, 'the ClientSettingsPolicy targets the route');
  const { maxSize, timeout } = csp.spec.body;
  expect(SIZE.test(maxSize) && DURATION.test(timeout), `body ${JSON.stringify(csp.spec.body)}`);

  // Gateway API's PathPrefix matches whole path elements: `/v2` is `/v2` and `/v2/...`, never `/v2x`.
  const locations = matches.flatMap((m) => [`location = ${m.path.value}`, `location ${m.path.value}/`]).map((loc) => `    ${loc} {
      client_max_body_size ${maxSize};
      client_body_timeout ${timeout};
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_pass https://registry_backend;
      proxy_ssl_server_name on;
      proxy_ssl_name ${validation.hostname};
      proxy_ssl_verify on;
      proxy_ssl_trusted_certificate ${options.backendCaPath};
    }`).join('\n');
  const tmp = (name: string) => path.join(dir, 'tmp', name);
  return `daemon off;
worker_processes 1;
pid ${path.join(dir, 'nginx.pid')};
error_log ${path.join(dir, 'error.log')} warn;
events { worker_connections 256; }
http {
  client_body_temp_path ${tmp('body')};
  proxy_temp_path ${tmp('proxy')};
  fastcgi_temp_path ${tmp('fastcgi')};
  uwsgi_temp_path ${tmp('uwsgi')};
  scgi_temp_path ${tmp('scgi')};
  log_format front '$request_method $uri $status $request_length location="$upstream_http_location" $request_time';
  access_log ${path.join(dir, 'access.log')} front;
  upstream registry_backend { server ${options.backendAddress}; }
  server {
    listen 127.0.0.1:${options.listenPort} ssl;
    server_name ${hostnames.join(' ')};
    ssl_certificate ${options.certPath};
    ssl_certificate_key ${options.keyPath};
${locations}
    location / { return 404; }
  }
  # Names no route lists: no certificate of theirs, no route.
  server {
    listen 127.0.0.1:${options.listenPort} ssl default_server;
    ssl_reject_handshake on;
  }
}
`;
}

/** Runs nginx with that config in the foreground and waits for its port. */
export async function startHttpsFrontDoor(cleanup: Cleanup, options: HttpsFrontDoorOptions): Promise<HttpsFrontDoor> {
  await fs.mkdir(path.join(options.dir, 'tmp'), { recursive: true });
  // Workers of a root master run as nobody: they write request bodies under tmp/ and must reach it through every
  // directory above it that the tests created (temp directories are 0700).
  const tmp = path.join(options.dir, 'tmp');
  await fs.chmod(tmp, 0o777);
  for (let d = options.dir; underTempRoot(d); d = path.dirname(d)) await fs.chmod(d, 0o755);
  const confPath = path.join(options.dir, 'nginx.conf');
  const errorLog = path.join(options.dir, 'error.log');
  await fs.writeFile(confPath, httpsFrontDoorConfig(options));
  const proc = spawnLogged(cleanup, 'nginx', ['-e', errorLog, '-c', confPath, '-p', options.dir], { logPath: path.join(options.dir, 'nginx.out.log') });
  await waitUntilReady(proc, `nginx https front door on port ${options.listenPort}`, () => tcpAccepts(options.listenPort));
  return { pid: proc.pid, port: options.listenPort, confPath, accessLogPath: path.join(options.dir, 'access.log'), stop: () => proc.stop() };
}

export interface FrontDoorLogEntry {
  readonly method: string;
  readonly uri: string;
  readonly status: number;
  readonly requestLength: number;
  /** The Location the registry answered with ("-" when none). */
  readonly location: string;
}

export async function readFrontDoorLog(accessLogPath: string): Promise<FrontDoorLogEntry[]> {
  const text = await fs.readFile(accessLogPath, 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map((line) => {
    const m = /^(\S+) (\S+) (\d+) (\d+) location="([^"]*)" \S+$/.exec(line);
    if (!m) throw new Error(`access log line not understood: ${line}`);
    return { method: m[1], uri: m[2], status: Number(m[3]), requestLength: Number(m[4]), location: m[5] };
  });
}

/** The registry of a stack behind its HTTPS front door, and skopeo set up to reach it by name (no DNS). */
export interface FrontDoorStack {
  readonly hostname: string;
  readonly port: number;
  readonly front: HttpsFrontDoor;
  /** The registry's first generated user, `user:password`. */
  readonly creds: string;
  /** `skopeo copy` through the front door, verifying its certificate; returns the manifest digest written. */
  copy(direction: 'push' | 'pull', src: string, dest: string): Promise<string>;
}

/**
 * Starts the stack's registry (harness/programs/stack-registry.ts), a listener certificate for the route's first name
 * (what cert-manager issues in a cluster), and the front door programmed from `objects` (the stack's HTTPS chart,
 * harness/chart-objects.ts; `clientSettingsPolicy` may be replaced to show what the data plane's defaults do).
 */
export async function startFrontDoorStack(
  cleanup: Cleanup,
  json: Parameters<typeof startStackRegistry>[1],
  dir: string,
  objects: { httpRoute: any; backendTlsPolicy: any; clientSettingsPolicy: any },
): Promise<FrontDoorStack> {
  const [hostname] = objects.httpRoute.spec.hostnames as string[];
  const [stack, listenerTls, port] = await Promise.all([
    startStackRegistry(cleanup, json),
    makeTlsMaterial(path.join(dir, 'listener'), { dnsNames: [hostname], ipAddresses: [], commonName: 'gateway-listener' }),
    freePort(),
  ]);
  // The ConfigMap the BackendTLSPolicy names holds the registry's CA.
  const backendCaPath = path.join(dir, 'backend-ca.crt');
  await fs.writeFile(backendCaPath, stack.tls.caPem);
  const front = await startHttpsFrontDoor(cleanup, {
    dir: path.join(dir, 'front'), listenPort: port, certPath: listenerTls.certPath, keyPath: listenerTls.keyPath,
    ...objects, backendAddress: `127.0.0.1:${stack.port}`, backendCaPath,
  });
  const connect = await startConnectProxy(cleanup, { hosts: { [hostname]: '127.0.0.1' } });
  const env = { ...process.env, ...connect.proxyEnv() };
  const creds = `${stack.user}:${stack.password}`;
  let copies = 0;
  return {
    hostname, port, front, creds,
    async copy(direction, src, dest) {
      const side = direction === 'push' ? 'dest' : 'src';
      const digestFile = path.join(dir, `digest-${copies++}`);
      await execFileAsync('skopeo', ['--insecure-policy', 'copy', '--digestfile', digestFile, `--${side}-cert-dir`, listenerTls.certDir, `--${side}-creds`, creds, src, dest],
        { env, maxBuffer: 1 << 24 });
      return (await fs.readFile(digestFile, 'utf8')).trim();
    },
  };
}
