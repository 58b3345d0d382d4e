import { EXIT_CODES } from '../../lib/check/advice';
import { runCheck } from '../../lib/check/steps';
import { useCleanup } from '../../harness/programs';
import { PASSWORD, startScenario, USER } from './scenario';

describe('registry-check against misconfigured registries', () => {
  const cleanup = useCleanup();

  it('passes an open registry (no auth, deletes disabled) but warns that it is open', async () => {
    const { registry, tls } = await startScenario(cleanup, { auth: false, deletes: false });
    const result = await runCheck({ target: registry.address, caPem: tls!.caPem });
    expect(result).toMatchObject({ ok: true, exitCode: EXIT_CODES.ok });
    expect(result.warnings).toEqual([expect.stringMatching(/^REGISTRY IS OPEN: anyone who reaches 127\.0\.0\.1:\d+ can push/)]);
    expect(result.steps.find((s) => s.name === 'auth-challenge')!.warning).toMatch(/REGISTRY IS OPEN/);
    expect(result.steps.find((s) => s.name === 'cleanup')).toMatchObject({ ok: true, detail: expect.stringMatching(/^deletes disabled/) });
  }, 30_000);

  it('says "server gave HTTP response to HTTPS client" for a plain HTTP registry (exit 3)', async () => {
    const { registry } = await startScenario(cleanup, { tls: false });
    const result = await runCheck({ target: registry.address, username: USER, password: PASSWORD });
    expect(result).toMatchObject({ ok: false, exitCode: EXIT_CODES.tls, failure: 'tls' });
    expect(result.steps).toEqual([expect.objectContaining({ name: 'tls', ok: false, detail: 'server gave HTTP response to HTTPS client' })]);
    expect(result.steps[0].advice).toMatch(/plain HTTP/);
  }, 30_000);

  it('names the SAN mismatch when the certificate does not cover the address (exit 3)', async () => {
    const { registry, tls } = await startScenario(cleanup, { tls: { dnsNames: ['registry.example.test'], ipAddresses: [] } });
    const result = await runCheck({ target: registry.address, username: USER, password: PASSWORD, caPem: tls!.caPem });
    expect(result.exitCode).toBe(EXIT_CODES.tls);
    expect(result.steps[0].detail).toMatch(/certificate does not name 127\.0\.0\.1/);
    expect(result.steps[0].detail).toContain('SANs DNS:registry.example.test');
    expect(result.steps[0].advice).toMatch(/subjectAltName/);
  }, 30_000);
});
