/**
 * Name resolution for in-process Node clients (registry-check), as connect-proxy.ts is for skopeo: `dns.lookup`
 * answers the given names with the given addresses, so a client reaches `registry.example.internal:<port>` on
 * loopback with DNS never asked and /etc/hosts untouched. Node's net module looks `dns.lookup` up on every connect,
 * so the client still connects by the name and sends it as TLS SNI. Other names resolve as before; the cleanup scope
 * restores the original function.
 */
import type * as DnsModule from 'node:dns';
import * as net from 'node:net';
import { Cleanup } from './cleanup';

// The module object itself (what net reads on each connect), not an import's namespace copy of it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dns: typeof DnsModule = require('node:dns');

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | DnsModule.LookupAddress[], family?: number) => void;

export function resolveNamesLocally(cleanup: Cleanup, hosts: Record<string, string>): void {
  const original = dns.lookup;
  const patched = function lookup(hostname: string, options: unknown, callback?: LookupCallback) {
    const cb = (typeof options === 'function' ? options : callback) as LookupCallback;
    const address = hosts[hostname.toLowerCase()];
    if (address === undefined) return (original as any).apply(dns, arguments);
    const family = net.isIP(address);
    const all = typeof options === 'object' && options !== null && (options as DnsModule.LookupOptions).all === true;
    process.nextTick(() => (all ? cb(null, [{ address, family }]) : cb(null, address, family)));
  };
  (dns as { lookup: unknown }).lookup = patched;
  cleanup.add(async () => {
    if (dns.lookup === (patched as unknown)) (dns as { lookup: unknown }).lookup = original;
  });
}
