/**
 * The synth-time half of "one set of rules, enforced twice": every case of the table goes through the stack the
 * way an operator's environment settings would (as variable defaults, checked with rules.check when the stack is
 * built). Variables without an environment default (secrets, the kube connection) are checked with the very
 * rules the stack attached to them.
 */
import { check } from '../../lib/rules';
import { mayBeSetPerEnvironment, type VariableName } from '../../lib/variables/catalog';
import { expectNoSecret, isSensitive } from './secrets';
import { BAD_CASES, GOOD_CASES, type Case } from './cases';
import { buildStack, environment, withVariables } from '../../harness/synth';

/**
 * Builds the case's stack with its values as environment defaults, then checks the values no environment may set
 * (secrets, the per-run connection) with the rules the stack attached to those variables.
 */
function judge(c: Case): void {
  const defaults: Record<string, unknown> = {};
  const others: [VariableName, unknown][] = [];
  for (const [name, value] of Object.entries(c.vars) as [VariableName, unknown][]) {
    if (mayBeSetPerEnvironment(name)) defaults[name] = value;
    else others.push([name, value]);
  }
  const stack = buildStack(withVariables(environment(c.stack), defaults));
  for (const [name, value] of others) {
    check(name, value, stack.variables.rulesOf(name), stack.variables.isSensitive(name));
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
    // An environment's default is named as written there: `environment <name>: variables.<field>`; a list names the
    // failing element's index.
    const prefix = mayBeSetPerEnvironment(c.field!) ? `environment ${c.stack}: variables\\.` : '';
    expect(error?.message).toMatch(new RegExp(`^${prefix}${c.field}(\\[\\d+\\])?: .+ is not allowed; expected .+\\.$`, 's'));
    if (isSensitive(c.field!)) expectNoSecret(error!.message, c);
  });

  test.each(judged(GOOD_CASES))('accepts %s', (_, c) => {
    expect(() => judge(c)).not.toThrow();
  });
});
