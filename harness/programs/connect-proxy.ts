/**
 * Name resolution for clients we cannot give an address to (skopeo): a loopback HTTP CONNECT proxy that maps a few
 * host names to loopback addresses, so `docker://registry.example.internal:<port>/...` reaches 127.0.0.1:<port>
 * with DNS never asked and /etc/hosts untouched. The client still sends the name as TLS SNI and verifies the
 * certificate against it: the tunnel is plain TCP, TLS is end to end. Names not in `hosts` get 403.
 *
 * Go's net/http (skopeo) uses it with HTTPS_PROXY=http://127.0.0.1:<port> (`proxyEnv`).
 *
 * The proxy runs in a node process of its own (this file is its entry point), which reports each CONNECT on stdout:
 * every byte of a tunnel passes through it, and in a test worker's large heap 2 GiB of chunks (the 1 GiB push and
 * pull) cost ~9 s of garbage collection (BENCHMARKS.md). Stopped by PID with the test's cleanup.
 */
import { spawn } from 'node:child_process';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { Cleanup } from './cleanup';

export interface ConnectProxy {
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Every CONNECT target asked for (`host:port`), in order, and whether it was let through. */
  readonly requests: Array<{ target: string; allowed: boolean }>;
  /** Environment for a Go client: HTTPS_PROXY/https_proxy set to this proxy, NO_PROXY/no_proxy emptied. */
  proxyEnv(): Record<string, string>;
  close(): Promise<void>;
}

/** One line per event on the proxy process's stdout. */
type ProxyEvent = { listening: number } | { request: { target: string; allowed: boolean } };

const REGISTER_TS = path.join(__dirname, '..', '..', 'scripts', 'register-ts.js');

/** Starts the proxy process for `hosts` (name -> loopback address); resolves once it listens. */
export async function startConnectProxy(cleanup: Cleanup, { hosts }: { hosts: Record<string, string> }): Promise<ConnectProxy> {
  const child = spawn(process.execPath, ['--require', REGISTER_TS, __filename, JSON.stringify(hosts)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const requests: Array<{ target: string; allowed: boolean }> = [];
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let buffered = '';
    child.stdout!.on('data', (d) => {
      buffered += d;
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const event = JSON.parse(buffered.slice(0, nl)) as ProxyEvent;
        buffered = buffered.slice(nl + 1);
        if ('listening' in event) resolve(event.listening);
        else requests.push(event.request);
      }
    });
    child.once('error', reject);
    void exited.then(() => reject(new Error(`the CONNECT proxy exited before listening: ${stderr}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  cleanup.add(close);
  return {
    port,
    url,
    requests,
    proxyEnv: () => ({ HTTPS_PROXY: url, https_proxy: url, NO_PROXY: '', no_proxy: '' }),
    close,
  };
}

/** The proxy itself (in its own process): reports `listening` and every request through `report`. */
function serve(hosts: Record<string, string>, report: (event: ProxyEvent) => void): void {
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  };
  const server = http.createServer((_req, res) => {
    res.writeHead(405, { 'content-type': 'text/plain' }).end('CONNECT only\n');
  });
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    track(client);
    const target = req.url ?? '';
    const m = /^([^:]+):(\d+)$/.exec(target);
    const address = m ? hosts[m[1].toLowerCase()] : undefined;
    report({ request: { target, allowed: address !== undefined } });
    if (!m || address === undefined) {
      client.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    const upstream = net.connect({ host: address, port: Number(m[2]) });
    track(upstream);
    upstream.once('connect', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
    };
    upstream.once('error', () => {
      if (!client.destroyed && client.writable && upstream.connecting) client.end('HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n');
      else closeBoth();
    });
    client.once('error', closeBoth);
  });
  server.listen(0, '127.0.0.1', () => report({ listening: (server.address() as net.AddressInfo).port }));
  process.once('SIGTERM', () => {
    for (const s of sockets) s.destroy();
    server.close(() => process.exit(0));
  });
}

if (require.main === module) {
  serve(JSON.parse(process.argv[2]) as Record<string, string>, (event) => process.stdout.write(`${JSON.stringify(event)}\n`));
}
