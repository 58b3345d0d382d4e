/** What keeps a busy machine from failing the run: timeouts for real programs, cleanup that cannot throw. */
import { mkdirSync, mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeDirectory, removeDirectoryAsync } from '../../harness/remove';

const notEmpty = () => Object.assign(new Error('ENOTEMPTY: directory not empty, rmdir'), { code: 'ENOTEMPTY' });

describe('test hygiene', () => {
  test('jest gives tests and hooks that spawn terraform or a registry at least 30 s (the 5 s default is too short under load)', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    expect(require('../../jest.config.js').testTimeout).toBeGreaterThanOrEqual(30_000);
  });

  test('removing a scratch directory removes it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'registry-remove-'));
    mkdirSync(join(dir, 'a/b'), { recursive: true });
    writeFileSync(join(dir, 'a/b/f'), 'x');
    removeDirectory(dir);
    expect(existsSync(dir)).toBe(false);
  });

  test('a cleanup that hits ENOTEMPTY warns and does not throw (sync and async)', async () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      expect(() => removeDirectory('/tmp/x', () => { throw notEmpty(); })).not.toThrow();
      await expect(removeDirectoryAsync('/tmp/x', () => Promise.reject(notEmpty()))).resolves.toBeUndefined();
      expect(warn).toHaveBeenCalledWith(expect.stringMatching(/^left \/tmp\/x behind: ENOTEMPTY/));
    } finally {
      warn.mockRestore();
    }
  });
});
