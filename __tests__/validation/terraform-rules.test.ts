/**
 * The plan-time half of "one set of rules, enforced twice": the same table as rules.spec.ts, judged by the real
 * terraform binary on the synthesized variable blocks (validation conditions and error messages as deployed).
 *
 * Terraform validates every input variable of a run and reports each failure as its own "Invalid value for
 * variable" diagnostic, whose message starts with the variable's name (every message is generated with it). So
 * cases of one stack that set different variables share a run, and each case must get exactly one diagnostic naming
 * its field, with no diagnostic left over. Variables joined by a cross-variable rule (a condition that reads
 * `var.<other>`, found in the synthesized blocks) form a group, and a run takes at most one case per group:
 * combined values in one group could decide each other.
 * A run that errors ends its file, hence one file per run. One init, one test invocation.
 */
import { BAD_CASES, GOOD_CASES, REQUIRED_VARS, type Case } from './cases';
import { expectNoSecret } from './secrets';
import { synthesized } from '../../harness/json';
import { runBlock, TerraformWorkspace, type RunResult } from '../../harness/terraform';

const STACKS: Case['stack'][] = ['dev', 'prod', 'shared', 'claim', 'example-ops', 'example-gateway', 'gateway-attach', 'gateway-create', 'gateway-attach-mirror', 'example-s3', 's3-aws', 'gc-untagged', 'example-https', 'https-attach', 'ingress-http'];
let workspace: TerraformWorkspace;
let results: Map<string, RunResult>;
let sensitive: Record<string, boolean>;
/** Which run judges each case: `bad3` -> `bad-dev-0`. */
const runOf = new Map<string, string>();
/** The cases each run judges. */
const casesOf = new Map<string, Case[]>();

/**
 * A stack's variables grouped by cross-variable rules (a condition of one that reads `var.<other>`): each variable
 * maps to its group, the connected component of those references. Values in different groups cannot decide each
 * other's validations.
 */
function variableGroups(json: { variable: Record<string, any> }): Map<string, string> {
  const parent = new Map<string, string>();
  const root = (v: string): string => {
    while (parent.get(v) !== v) v = parent.get(v)!;
    return v;
  };
  for (const name of Object.keys(json.variable)) parent.set(name, name);
  for (const [name, block] of Object.entries(json.variable)) {
    for (const [, other] of JSON.stringify(block.validation ?? []).matchAll(/var\.([a-z0-9_]+)/g)) {
      if (parent.has(other)) parent.set(root(other), root(name));
    }
  }
  return new Map([...parent.keys()].map((v) => [v, root(v)]));
}

/** Packs cases into runs: cases of one stack whose variables fall in different groups share a run. */
function pack(prefix: string, cases: readonly Case[], groups: Record<string, Map<string, string>>): void {
  const open: { key: string; taken: Set<string>; stack: Case['stack'] }[] = [];
  cases.forEach((c, i) => {
    const footprint = Object.keys(c.vars).map((n) => groups[c.stack].get(n) ?? n);
    let run = open.find((r) => r.stack === c.stack && footprint.every((g) => !r.taken.has(g)));
    if (!run) {
      run = { key: `${prefix}-${c.stack}-${casesOf.size}`, taken: new Set(), stack: c.stack };
      casesOf.set(run.key, []);
      open.push(run);
    }
    footprint.forEach((g) => run!.taken.add(g));
    casesOf.get(run.key)!.push(c);
    runOf.set(`${prefix}${i}`, run.key);
  });
}

beforeAll(() => {
  workspace = new TerraformWorkspace();
  sensitive = {};
  const groups: Record<string, Map<string, string>> = {};
  for (const name of STACKS) {
    const json = synthesized(name);
    workspace.addStack(name, json);
    groups[name] = variableGroups(json);
    for (const [variable, block] of Object.entries<any>(json.variable)) sensitive[variable] ||= block.sensitive === true;
  }
  pack('bad', BAD_CASES, groups);
  pack('good', GOOD_CASES, groups);
  for (const [key, cases] of casesOf) {
    const vars = Object.assign({ ...REQUIRED_VARS[cases[0].stack] }, ...cases.map((c) => c.vars));
    workspace.addTestFile(key, [runBlock('run', cases[0].stack, vars)]);
  }
  results = workspace.test();
});

afterAll(() => workspace?.remove());

const result = (key: string): RunResult => {
  const found = results.get(`${key}/run`);
  if (!found) throw new Error(`terraform test reported nothing for ${key}`);
  return found;
};

/** The diagnostics of a run that belong to a field: their message starts with `<field>:` or `<field>[<index>]:`. */
const diagnosticsOf = (run: RunResult, field: string) => run.diagnostics.filter((d) => new RegExp(`^${field}(\\[\\d+\\])?: `).test(d.detail));

describe('validation rules at plan time (terraform test)', () => {
  test('cases share runs (the table is judged in far fewer terraform runs than it has cases)', () => {
    expect(casesOf.size).toBeLessThan((BAD_CASES.length + GOOD_CASES.length) / 3);
  });

  test.each(BAD_CASES.map((c, i) => [c.title, c, i] as const))('fails when %s', (_, c, i) => {
    const key = runOf.get(`bad${i}`)!;
    const run = result(key);
    expect(run.status).toBe('error');
    // Every diagnostic of the run is an invalid variable, one per case: nothing failed that no case expects.
    expect(run.diagnostics.map((d) => d.summary)).toEqual(casesOf.get(key)!.map(() => 'Invalid value for variable'));
    const mine = diagnosticsOf(run, c.field!);
    expect(mine).toHaveLength(1);
    expect(mine[0].detail).toMatch(new RegExp(`^${c.field}(\\[\\d+\\])?: .+ is not allowed; expected .+\\.`, 's'));
    if (sensitive[c.field!]) expectNoSecret(mine[0].detail, c);
  });

  test.each(GOOD_CASES.map((c, i) => [c.title, c, i] as const))('accepts %s', (_, _c, i) => {
    expect(result(runOf.get(`good${i}`)!)).toEqual({ status: 'pass', diagnostics: [] });
  });
});
