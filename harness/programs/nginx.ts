import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { Cleanup } from './cleanup';
import { tcpAccepts } from './net';
import { spawnLogged, waitUntilReady } from './process';

/** Debian's libnginx-mod-stream installs the module here (its modules-available conf loads `modules/...so`). */
export const STREAM_MODULE_PATH = '/usr/lib/nginx/modules/ngx_stream_module.so';

export interface NginxStreamProcess {
  readonly pid: number;
  readonly port: number;
  readonly address: string;
  readonly logPath: string;
  stop(): Promise<void>;
}

export interface StartNginxStreamOptions {
  /** Prefix directory: nginx.conf, nginx.pid and error.log are written here. */
  readonly dir: string;
  readonly port: number;
  /** The one upstream; or use `upstreamPorts`. */
  readonly upstreamPort?: number;
  /**
   * Several upstreams (registry replicas behind one Service): round robin per connection; a connection an upstream
   * refuses (a killed replica) goes to the next one.
   * @default - [upstreamPort]
   */
  readonly upstreamPorts?: readonly number[];
  /**
   * Terminate TLS with this certificate and key (a TLS endpoint in front of a plain-HTTP server).
   * @default - plain L4, no TLS termination
   */
  readonly tls?: { readonly certPath: string; readonly keyPath: string };
  /** @default STREAM_MODULE_PATH */
  readonly streamModulePath?: string;
}

/** The top of every test nginx config: the stream module, foreground, one worker, pid and log in `dir`. */
export function nginxPreamble(dir: string, modulePath = STREAM_MODULE_PATH): string {
  return `load_module ${modulePath};
daemon off;
worker_processes 1;
pid ${path.join(dir, 'nginx.pid')};
error_log ${path.join(dir, 'error.log')} warn;
events { worker_connections 256; }`;
}

/** The stand-in for ingress-nginx tcp-services: a plain L4 proxy, no TLS termination, no body limit. */
export function nginxStreamConfig(
  dir: string,
  port: number,
  upstream: number | readonly number[],
  modulePath = STREAM_MODULE_PATH,
  tls?: StartNginxStreamOptions['tls'],
): string {
  const servers = (typeof upstream === 'number' ? [upstream] : upstream).map((p) => `    server 127.0.0.1:${p};`).join('\n');
  const tlsLines = tls ? `\n    ssl_certificate ${tls.certPath};\n    ssl_certificate_key ${tls.keyPath};` : '';
  const proxyPass = typeof upstream === 'number'
    ? `    proxy_pass 127.0.0.1:${upstream};`
    : '    proxy_pass backends;';
  return `${nginxPreamble(dir, modulePath)}
stream {${typeof upstream === 'number' ? '' : `\n  upstream backends {\n${servers}\n  }`}
  server {
    listen 127.0.0.1:${port}${tls ? ' ssl' : ''};${tlsLines}
${proxyPass}
  }
}
`;
}

/**
 * Runs `nginx -c <conf> -p <dir>` in the foreground as a child (works as root and non-root: no `user` directive,
 * no http block, so no temp paths under /var/lib/nginx) and waits for its port.
 */
export async function startNginxStream(cleanup: Cleanup, options: StartNginxStreamOptions): Promise<NginxStreamProcess> {
  await fs.mkdir(options.dir, { recursive: true });
  const confPath = path.join(options.dir, 'nginx.conf');
  const errorLog = path.join(options.dir, 'error.log');
  const upstream = options.upstreamPorts ?? options.upstreamPort;
  if (upstream === undefined) throw new Error('startNginxStream: upstreamPort or upstreamPorts');
  await fs.writeFile(confPath, nginxStreamConfig(options.dir, options.port, upstream, options.streamModulePath, options.tls));
  // -e: the error log used before the config is read (the default /var/log/nginx may not be writable).
  const proc = spawnLogged(cleanup, 'nginx', ['-e', errorLog, '-c', confPath, '-p', options.dir], {
    logPath: path.join(options.dir, 'nginx.out.log'),
  });
  await waitUntilReady(proc, `nginx stream on port ${options.port}`, () => tcpAccepts(options.port));
  return { pid: proc.pid, port: options.port, address: `127.0.0.1:${options.port}`, logPath: errorLog, stop: () => proc.stop() };
}
