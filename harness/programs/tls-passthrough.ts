/**
 * A TLS passthrough data plane like NGINX Gateway Fabric's for TLSRoutes: nginx's stream module reads the SNI of the
 * ClientHello (`ssl_preread on`), a `map $ssl_preread_server_name` with `hostnames` picks the backend, and the TLS
 * stream goes through untouched (the backend terminates TLS). A name no route lists, and a connection with no SNI
 * (or no TLS at all), maps to the default: a server that answers nothing and closes, as NGF's
 * `connection-closed-server.sock` does, so no TLS handshake completes for them. Here it listens on a loopback port,
 * not a unix socket: with a root master the workers run as `nobody` and cannot reach a socket in a 0700 temp dir.
 *
 * Hostnames follow Gateway API's Hostname: an exact lowercase DNS name, or `*.` + a DNS name. nginx's `hostnames`
 * map matches `*.example.com` as Gateway API v1.6 defines the wildcard: a suffix match over one or more leading
 * labels (`a.example.com`, `a.b.example.com`), never `example.com` itself.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { Cleanup } from './cleanup';
import { freePort, tcpAccepts } from './net';
import { nginxPreamble } from './nginx';
import { spawnLogged, waitUntilReady } from './process';

export interface SniRoute {
  /** Gateway API hostnames: `registry.example.internal` or `*.example.internal`. */
  readonly hostnames: readonly string[];
  /** `host:port` (an IPv4 address or DNS name, then a port). */
  readonly backend: string;
}

export interface SniProxyOptions {
  /** Listens on 127.0.0.1:listenPort. */
  readonly listenPort: number;
  readonly routes: readonly SniRoute[];
  /** @default STREAM_MODULE_PATH */
  readonly streamModulePath?: string;
  /** How long nginx waits for a ClientHello. @default '5s' */
  readonly prereadTimeout?: string;
  /** Loopback port of the closing server unknown names go to. @default a free port */
  readonly closedPort?: number;
}

export interface SniProxyProcess {
  readonly pid: number;
  readonly port: number;
  /** `127.0.0.1:<port>` */
  readonly address: string;
  readonly confPath: string;
  readonly errorLogPath: string;
  /** One line per connection: `sni="<name>" upstream="<addr>" status=<code>` (see `readAccessLog`). */
  readonly accessLogPath: string;
  /** `127.0.0.1:<port>` of the closing server unknown names are sent to (its own connections are not logged). */
  readonly closedAddress: string;
  stop(): Promise<void>;
}

/** Gateway API's Hostname, without the IP and wildcard CEL rules' gaps: RFC 1123, lowercase, optional `*.` label. */
const HOSTNAME = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const BACKEND = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*):([0-9]{1,5})$/;

function checkRoutes(routes: readonly SniRoute[]): void {
  const seen = new Set<string>();
  for (const route of routes) {
    if (route.hostnames.length === 0) throw new Error(`route to ${route.backend} has no hostnames`);
    const backend = BACKEND.exec(route.backend);
    if (!backend || Number(backend[5]) < 1 || Number(backend[5]) > 65535) throw new Error(`backend ${JSON.stringify(route.backend)} is not host:port`);
    for (const hostname of route.hostnames) {
      if (hostname.length > 253 || !HOSTNAME.test(hostname) || /^(\d+\.){3}\d+$/.test(hostname)) {
        throw new Error(`hostname ${JSON.stringify(hostname)} is not a Gateway API hostname (lowercase DNS name, optional leading "*." label, no IP)`);
      }
      if (seen.has(hostname)) throw new Error(`hostname ${hostname} is routed twice`);
      seen.add(hostname);
    }
  }
}

/** The nginx.conf text: stream block, ssl_preread, the SNI map, and the closing server for everything else. */
export function sniProxyConfig(dir: string, options: SniProxyOptions & { readonly closedPort: number }): string {
  checkRoutes(options.routes);
  const closedAddress = `127.0.0.1:${options.closedPort}`;
  // One upstream block per backend (names are resolved when nginx loads the config, no resolver needed).
  const backends = [...new Set(options.routes.map((r) => r.backend))];
  const upstreamOf = (backend: string) => `backend_${backends.indexOf(backend)}`;
  const upstreams = backends.map((b) => `  upstream ${upstreamOf(b)} { server ${b}; }`);
  const entries = options.routes.flatMap((r) => r.hostnames.map((h) => `    ${h} ${upstreamOf(r.backend)};`));
  return `${nginxPreamble(dir, options.streamModulePath)}
stream {
  log_format sni 'sni="$ssl_preread_server_name" upstream="$upstream_addr" status=$status';
  access_log ${path.join(dir, 'access.log')} sni;

${upstreams.join('\n')}

  map $ssl_preread_server_name $tls_backend {
    hostnames;
    default ${closedAddress};
${entries.join('\n')}
  }

  server {
    listen 127.0.0.1:${options.listenPort};
    ssl_preread on;
    preread_timeout ${options.prereadTimeout ?? '5s'};
    proxy_connect_timeout 5s;
    proxy_pass $tls_backend;
  }

  # Routes to nothing: answers nothing and closes (the ClientHello it was handed makes the close a reset).
  server {
    listen ${closedAddress};
    access_log off;
    return "";
  }
}
`;
}

/**
 * Writes `<dir>/nginx.conf` and runs `nginx -c <conf> -p <dir>` in the foreground as a child, like
 * startNginxStream; waits for the port. The cleanup scope stops it by PID.
 */
export async function startSniProxy(cleanup: Cleanup, dir: string, options: SniProxyOptions): Promise<SniProxyProcess> {
  await fs.mkdir(dir, { recursive: true });
  const confPath = path.join(dir, 'nginx.conf');
  const errorLogPath = path.join(dir, 'error.log');
  const closedPort = options.closedPort ?? (await freePort());
  await fs.writeFile(confPath, sniProxyConfig(dir, { ...options, closedPort }));
  // -e: the error log used before the config is read (the default /var/log/nginx may not be writable).
  const proc = spawnLogged(cleanup, 'nginx', ['-e', errorLogPath, '-c', confPath, '-p', dir], { logPath: path.join(dir, 'nginx.out.log') });
  await waitUntilReady(proc, `nginx SNI proxy on port ${options.listenPort}`, () => tcpAccepts(options.listenPort));
  return {
    pid: proc.pid,
    port: options.listenPort,
    address: `127.0.0.1:${options.listenPort}`,
    confPath,
    errorLogPath,
    accessLogPath: path.join(dir, 'access.log'),
    closedAddress: `127.0.0.1:${closedPort}`,
    stop: () => proc.stop(),
  };
}

export interface SniLogEntry {
  readonly sni: string;
  readonly upstream: string;
  readonly status: number;
}

/**
 * The proxy's access log, one entry per finished connection that was routed (to a backend or to the closing
 * server). A connection that closed before routing (the start-up readiness probe's bare TCP connect: upstream "-")
 * is left out: nginx logs it when it closes, which on a busy machine can be after a test has counted the log.
 */
export async function readAccessLog(proxy: SniProxyProcess): Promise<SniLogEntry[]> {
  const text = await fs.readFile(proxy.accessLogPath, 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map((line) => {
    const m = /^sni="([^"]*)" upstream="([^"]*)" status=(\d+)$/.exec(line);
    if (!m) throw new Error(`unexpected access log line: ${line}`);
    return { sni: m[1], upstream: m[2], status: Number(m[3]) };
  }).filter((entry) => entry.upstream !== '-');
}
