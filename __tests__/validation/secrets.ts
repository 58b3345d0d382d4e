/** What a message about a sensitive value may show: a marker and, for htpasswd lines, the user; never a secret. */
import { specOf, type VariableName } from '../../lib/variables/catalog';
import type { Case } from './cases';

export const isSensitive = (name: VariableName): boolean => specOf(name).sensitive === true;

export function expectNoSecret(messageText: string, c: Case): void {
  expect(messageText).toContain('(sensitive value');
  for (const value of [c.vars[c.field!]].flat()) {
    const text = String(value).trim();
    // An htpasswd line may be named by its user; the part after the first ':' (the hash) never appears.
    const secret = c.field === 'htpasswd_entries' && text.includes(':') ? text.slice(text.indexOf(':') + 1) : text;
    if (secret.length > 0) expect(messageText).not.toContain(secret);
  }
}
