/**
 * The plan-time half of "one set of rules, enforced twice": the same table as rules.spec.ts, judged by the real
 * terraform binary on the synthesized variable blocks (validation conditions and error messages as deployed).
 *
 * Each bad case gets its own test file with one run that must error with exactly one "Invalid value for variable"
 * diagnostic whose message starts with the field's name: every variable's messages are generated with its own
 * name, so that prefix attributes the failure to the field's validation block (what `expect_failures` would say,
 * at half the terraform runs). A run that errors skips the rest of its file, hence one file per case.
 * One init, one test invocation.
 */
import { BAD_CASES, GOOD_CASES, REQUIRED_VARS, type Case } from './cases';
import { environment, synth } from '../../harness/synth';
import { runBlock, TerraformWorkspace, type RunResult } from '../../harness/terraform';

const STACKS: Case['stack'][] = ['dev', 'prod', 'shared', 'claim', 'example-s3', 's3-aws'];
let workspace: TerraformWorkspace;
let results: Map<string, RunResult>;
let sensitive: Record<string, boolean>;

beforeAll(() => {
  workspace = new TerraformWorkspace();
  sensitive = {};
  for (const name of STACKS) {
    const { json } = synth(environment(name));
    workspace.addStack(name, json);
    for (const [variable, block] of Object.entries<any>(json.variable)) sensitive[variable] ||= block.sensitive === true;
  }
  const vars = (c: Case) => ({ ...REQUIRED_VARS[c.stack], ...c.vars });
  BAD_CASES.forEach((c, i) => workspace.addTestFile(`bad${i}`, [runBlock('message', c.stack, vars(c))]));
  GOOD_CASES.forEach((c, i) => workspace.addTestFile(`good${i}`, [runBlock('accepted', c.stack, vars(c))]));
  results = workspace.test();
});

afterAll(() => workspace?.remove());

const result = (key: string): RunResult => {
  const found = results.get(key);
  if (!found) throw new Error(`terraform test reported nothing for ${key}`);
  return found;
};

describe('validation rules at plan time (terraform test)', () => {
  test.each(BAD_CASES.map((c, i) => [c.title, c, i] as const))('fails when %s', (_, c, i) => {
    const { status, diagnostics } = result(`bad${i}/message`);
    expect(status).toBe('error');
    expect(diagnostics.map((d) => d.summary)).toEqual(['Invalid value for variable']);
    expect(diagnostics[0].detail).toMatch(new RegExp(`^${c.field}: .+ is not allowed; expected .+\\.`, 's'));
    if (sensitive[c.field!]) {
      expect(diagnostics[0].detail).toContain('(sensitive value)');
      for (const value of [c.vars[c.field!]].flat()) expect(diagnostics[0].detail).not.toContain(String(value).trim());
    }
  });

  test.each(GOOD_CASES.map((c, i) => [c.title, c, i] as const))('accepts %s', (_, _c, i) => {
    expect(result(`good${i}/accepted`)).toEqual({ status: 'pass', diagnostics: [] });
  });
});
