/**
 * The synth-time half of "one set of rules, enforced twice": every case of the table goes through the stack the
 * way an operator's environment settings would (as variable defaults, checked with rules.check when the stack is
 * built). Variables without an environment default (secrets, the kube connection) are checked with the very
 * rules the stack attached to them.
 */
import { check } from '../../lib/rules';
import { BAD_CASES, DEFAULT_SETTING, GOOD_CASES, type Case } from './cases';
import { buildStack, environment, withDefaults } from './fixtures';

/** Builds the case's stack with its values as defaults, then checks the values that cannot be defaults. */
function judge(c: Case): void {
  const defaults: Record<string, unknown> = {};
  const others: [string, unknown][] = [];
  for (const [name, value] of Object.entries(c.vars)) {
    if (DEFAULT_SETTING[name]) defaults[DEFAULT_SETTING[name]] = value;
    else others.push([name, value]);
  }
  const stack = buildStack(withDefaults(environment(c.stack), defaults));
  for (const [name, value] of others) {
    const rules = stack.variableRules[name];
    if (!rules) throw new Error(`stack registry-${c.stack} has no variable ${name}`);
    check(name, value, rules, stack.variables[name].sensitive);
  }
}

const judged = (cases: readonly Case[]) => cases.filter((c) => !c.terraformOnly).map((c) => [c.title, c] as const);

describe('validation rules at synth time', () => {
  test('the table is large enough', () => {
    expect(judged(BAD_CASES).length).toBeGreaterThanOrEqual(40);
    expect(judged(GOOD_CASES).length).toBeGreaterThanOrEqual(10);
  });

  test.each(judged(BAD_CASES))('fails when %s', (_, c) => {
    let error: Error | undefined;
    try {
      judge(c);
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).toMatch(new RegExp(`^${c.field}: .+ is not allowed; expected .+\\.$`, 's'));
    // A sensitive value never appears in the message.
    if (c.field!.match(/pem|token|htpasswd/)) {
      expect(error!.message).toContain('(sensitive value)');
      for (const value of [c.vars[c.field!]].flat()) expect(error!.message).not.toContain(String(value));
    }
  });

  test.each(judged(GOOD_CASES))('accepts %s', (_, c) => {
    expect(() => judge(c)).not.toThrow();
  });
});
