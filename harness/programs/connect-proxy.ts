/**
 * Name resolution for clients we cannot give an address to (skopeo): a loopback HTTP CONNECT proxy that maps a few
 * host names to loopback addresses, so `docker://registry.example.internal:<port>/...` reaches 127.0.0.1:<port>
 * with DNS never asked and /etc/hosts untouched. The client still sends the name as TLS SNI and verifies the
 * certificate against it: the tunnel is plain TCP, TLS is end to end. Names not in `hosts` get 403.
 *
 * Go's net/http (skopeo) uses it with HTTPS_PROXY=http://127.0.0.1:<port> (`proxyEnv`).
 */
import * as http from 'node:http';
import * as net from 'node:net';
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

export async function startConnectProxy(cleanup: Cleanup, { hosts }: { hosts: Record<string, string> }): Promise<ConnectProxy> {
  const requests: Array<{ target: string; allowed: boolean }> = [];
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
    requests.push({ target, allowed: address !== undefined });
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
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
    return closed;
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
