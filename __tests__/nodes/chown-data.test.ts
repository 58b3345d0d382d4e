/**
 * The opt-in init step (chownHostPath): its script, run for real as uid 0 holding only CAP_CHOWN (as the init
 * container's securityContext grants), makes a root-owned data tree uid/gid 1000's; with no capability it cannot.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REGISTRY_UID } from '../../lib/registry/config';
import { CHOWN_DATA_SCRIPT } from '../../lib/storage/host-path';
import { MOUNTS } from '../../lib/registry/config';
import { environment, synth, only } from '../../harness/synth';
import { Storage } from '../../lib/storage';
import { isRoot, rootWithCapabilities } from '../../harness/programs';
import { removeDirectory } from '../../harness/remove';

const rootOnly = isRoot ? test : test.skip;

describe('chown init container', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'registry-chown-'));
    fs.chmodSync(dir, 0o755);
  });
  afterAll(() => removeDirectory(dir));

  /** A data directory like one created by hand as root on the node, with the registry's layout. */
  function rootOwnedData(): string {
    const data = fs.mkdtempSync(path.join(dir, 'data-'));
    fs.chmodSync(data, 0o755);
    fs.mkdirSync(path.join(data, 'docker/registry/v2/blobs'), { recursive: true, mode: 0o755 });
    fs.writeFileSync(path.join(data, 'docker/registry/v2/blobs/data'), 'x', { mode: 0o644 });
    return data;
  }

  /** The synthesized init container's command, with the data mount mapped to `data`. */
  function initCommand(data: string): string[] {
    const { json } = synth(environment('dev', { storage: Storage.hostPath({ chownDataDirectory: true }) }));
    const command: string[] = only(json, 'kubernetes_deployment_v1').spec.template.spec.init_container[0].command;
    expect(command[2]).toBe(CHOWN_DATA_SCRIPT);
    return [command[0], command[1], command[2].replace(`d=${MOUNTS.data}`, `d=${data}`)];
  }

  const owners = (root: string): string[] => {
    const out: string[] = [];
    const walk = (p: string) => {
      const s = fs.lstatSync(p);
      out.push(`${s.uid}:${s.gid}`);
      if (s.isDirectory()) for (const e of fs.readdirSync(p)) walk(path.join(p, e));
    };
    walk(root);
    return out;
  };

  rootOnly('with CHOWN only, every file and directory becomes 1000:1000; a second start changes nothing', () => {
    const data = rootOwnedData();
    const command = initCommand(data);

    const first = spawnSync('setpriv', [...rootWithCapabilities(['chown']), ...command], { encoding: 'utf8' });
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(first.stdout).toContain(`chown -R ${REGISTRY_UID}:${REGISTRY_UID} ${data} (was 0:0)`);
    expect(new Set(owners(data))).toEqual(new Set([`${REGISTRY_UID}:${REGISTRY_UID}`]));

    const second = spawnSync('setpriv', [...rootWithCapabilities(['chown']), ...command], { encoding: 'utf8' });
    expect(second.status).toBe(0);
    expect(second.stdout).toBe('');
  });

  rootOnly('without CHOWN the same step fails and the owners stay', () => {
    const data = rootOwnedData();

    const r = spawnSync('setpriv', [...rootWithCapabilities([]), ...initCommand(data)], { encoding: 'utf8' });

    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/Operation not permitted/);
    expect(new Set(owners(data))).toEqual(new Set(['0:0']));
  });
});
