/**
 * The stack's outputs, as an operator runs them: `save_ca` and the per-user `login_commands` evaluated by the real
 * terraform binary from cdk.tf.json, then run with sh against the synthesized registry (skopeo is the client here;
 * docker and podman take the same flags).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { synthesized, Synthesized } from '../../harness/json';
import { evaluateWithTerraform } from '../../harness/terraform';
import { tempDir, useCleanup } from '../../harness/programs';
import { startStackRegistry } from '../../harness/programs/stack-registry';

const sh = promisify(execFile);

describe('outputs an operator copies and runs', () => {
  const cleanup = useCleanup();
  let json: Synthesized;
  beforeAll(() => {
    json = synthesized('dev');
  });

  test('save_ca then a login command per user work as printed (password via stdin, CA from registry-certs)', async () => {
    const stack = await startStackRegistry(cleanup, json);
    const dir = await tempDir(cleanup, 'outputs-');
    // The endpoint as the operator's DNS would give it: a name in the certificate, the port clients use.
    const values = { registry_domains: ['localhost'], external_port: stack.port, registry_users: Object.keys(stack.users) };
    const out = await evaluateWithTerraform(path.join(dir, 'tf'), json, {
      save_ca: json.output.save_ca.value,
      login_commands: json.output.login_commands.value,
      endpoint: json.output.registry_endpoint.value,
    }, values);
    expect(out.endpoint).toBe(`localhost:${stack.port}`);
    expect(Object.keys(out.login_commands)).toEqual(Object.keys(stack.users));
    // `npx cdktf output ... --outputs-file outputs.json` stood in by a script that writes what cdktf writes, the way
    // it writes it (a new file's mode comes from the umask). An outputs.json of an earlier run is there, readable by all.
    const work = path.join(dir, 'work');
    const bin = path.join(dir, 'bin');
    await fs.mkdir(work);
    await fs.mkdir(bin);
    await fs.writeFile(path.join(dir, 'outputs.json'), JSON.stringify({
      'registry-dev': { ca_certificate_pem: stack.tls.caPem, registry_passwords: stack.users },
    }));
    await fs.writeFile(path.join(bin, 'npx'), `#!/bin/sh\ncat ${JSON.stringify(path.join(dir, 'outputs.json'))} > outputs.json\n`, { mode: 0o755 });
    await fs.writeFile(path.join(work, 'outputs.json'), '{}', { mode: 0o644 });
    expect(out.save_ca).toMatch(/npx cdktf output registry-dev --outputs-file outputs.json --outputs-file-include-sensitive-outputs/);
    await sh('sh', ['-c', `umask 022 && ${out.save_ca}`], { cwd: work, env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
    // The passwords are readable by the operator alone; the CA stays public.
    expect((await fs.stat(path.join(work, 'outputs.json'))).mode & 0o777).toBe(0o600);
    expect((await fs.stat(path.join(work, 'registry-ca.crt'))).mode & 0o777).toBe(0o644);
    expect((await fs.readFile(path.join(work, 'registry-certs/ca.crt'), 'utf8')).trim()).toBe(stack.tls.caPem.trim());

    const authFile = path.join(work, 'auth.json');
    for (const [user, commands] of Object.entries<Record<string, string>>(out.login_commands)) {
      expect(commands.skopeo).not.toContain(stack.users[user]);
      const { stdout, stderr } = await sh('sh', ['-c', commands.skopeo], { cwd: work, env: { ...process.env, REGISTRY_AUTH_FILE: authFile } });
      expect(`${stdout}${stderr}`).toMatch(/Login Succeeded/);
    }
    const saved = JSON.parse(await fs.readFile(authFile, 'utf8'));
    expect(Object.keys(saved.auths)).toEqual([`localhost:${stack.port}`]);
  }, 30_000);
});
