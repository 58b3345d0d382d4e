/**
 * Security properties of the synthesized registry-dev stack that need the real registry (issue 4): the minimum TLS
 * version from config.yml, and the debug server kept off the registry port, the Service and the proxy. The registry
 * runs as in registry.test.ts (synthesized config, REGISTRY_* overrides for the mounted paths only); the proxy here
 * listens on a free port, since registry.test.ts may hold the synthesized one in a parallel jest worker.
 */
import { spawn } from 'node:child_process';
import { synthesized, Synthesized } from '../../harness/json';
import { freePort, httpGet, startNginxStream, useCleanup } from '../../harness/programs';
import { portOf, registryWorkload, RegistryWorkload } from '../../harness/programs/pod';
import { StackRegistry, startStackRegistry } from '../../harness/programs/stack-registry';

/** `openssl s_client` handshake only (stdin closed at once); resolves with the exit code and all output. */
function handshake(address: string, caFile: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', ['s_client', '-connect', address, '-CAfile', caFile, '-verify_return_error', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
    child.stdin.end();
  });
}

describe('registry-dev security on the real registry', () => {
  const cleanup = useCleanup();
  let json: Synthesized;
  let workload: RegistryWorkload;
  let stack: StackRegistry;
  let proxy: string;

  beforeAll(async () => {
    json = synthesized('dev');
    workload = registryWorkload(json);
    stack = await startStackRegistry(cleanup, json);
    proxy = (await startNginxStream(cleanup, { dir: `${stack.dir}/nginx`, port: await freePort(), upstreamPort: stack.port })).address;
  }, 30_000);

  it('refuses a TLS 1.1 handshake (ssl_protocols of the front, which terminates TLS) and completes the same handshake with TLS 1.2', async () => {
    expect(workload.front!.nginxConf).toContain('ssl_protocols TLSv1.2 TLSv1.3;');
    // the registry behind it serves no TLS of its own
    expect(workload.config.http.tls).toBeUndefined();
    // SECLEVEL=0 lets OpenSSL 3 offer TLS 1.1 at all, so a refusal comes from the server.
    const lowered = ['-cipher', 'DEFAULT:@SECLEVEL=0'];
    const tls11 = await handshake(proxy, stack.tls.caCertPath, ['-tls1_1', ...lowered]);
    expect(tls11.code).not.toBe(0);
    // Alert 70 (protocol_version), received from the peer: the front, through the L4 proxy.
    expect(tls11.output).toMatch(/alert protocol version.*SSL alert number 70/);
    const tls12 = await handshake(proxy, stack.tls.caCertPath, ['-tls1_2', ...lowered]);
    expect(tls12.output).toMatch(/Protocol\s*: TLSv1\.2/);
    expect(tls12.output).toMatch(/Verify return code: 0 \(ok\)/);
    expect(tls12.code).toBe(0);
  });

  it('keeps the debug port off the Service: only the registry port, targeting the front\'s container port "registry"', () => {
    expect(workload.service.spec.port).toEqual([{ name: 'registry', port: workload.containerPorts.registry, protocol: 'TCP', target_port: 'registry' }]);
    expect(workload.front!.container.port.map((p: any) => p.name)).toEqual(['registry']);
    // the registry's API listens on loopback only, behind the front
    expect(workload.config.http.addr).toMatch(/^127\.0\.0\.1:/);
    expect(workload.containerPorts.metrics).toBe(portOf(workload.config.http.debug.addr));
    expect(workload.containerPorts.metrics).not.toBe(workload.containerPorts.registry);
  });

  // What each debug endpoint serves on the debug port, recognisable in its body. The metrics path is the config's
  // prometheus path, read once the stack is synthesized (jest builds these tables before beforeAll runs).
  const DEBUG_ENDPOINTS: Array<[string, RegExp]> = [
    ['metrics', /^# TYPE go_goroutines gauge$/m],
    ['/debug/vars', /"memstats":/],
    ['/debug/pprof/', /goroutine\?debug=1/],
  ];
  const pathOf = (endpoint: string) => (endpoint === 'metrics' ? workload.config.http.debug.prometheus.path : endpoint);

  it.each(DEBUG_ENDPOINTS)('serves %s on the debug port', async (endpoint, content) => {
    const res = await httpGet(`http://127.0.0.1:${stack.debugPort}${pathOf(endpoint)}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatch(content);
  });

  it.each(DEBUG_ENDPOINTS)('does not serve %s on the registry port or through the proxy, even with credentials', async (endpoint, content) => {
    const authorization = `Basic ${Buffer.from(`${stack.user}:${stack.password}`).toString('base64')}`;
    for (const address of [`127.0.0.1:${stack.port}`, proxy]) {
      // anonymous: the front asks for credentials; an admin's request reaches the registry, which has no such route
      for (const [headers, status] of [[{}, 401], [{ authorization }, 404]] as Array<[Record<string, string>, number]>) {
        const res = await httpGet(`https://${address}${pathOf(endpoint)}`, { caPem: stack.tls.caPem, headers });
        expect({ address, status: res.status, leaks: content.test(res.body) }).toEqual({ address, status, leaks: false });
      }
    }
  });
});

