import { Fn, TerraformOutput, TerraformVariable, Testing } from 'cdktf';
import { testApp } from '../../harness/synth';
import { TerraformStack } from 'cdktf';
import { ConfigMapV1 } from '@cdktf/provider-kubernetes/lib/config-map-v1';
import { escapeTemplate, expressionString, literalText } from '../../lib/hcl';
import { templateLiteral } from '../../harness/json';

describe('literalText', () => {
  test('escapes shell and template syntax so Terraform hands it over as written', () => {
    const script = 'echo "${HOSTS:-}" ${#port} ${1%:*} %{if x}';
    expect(literalText(script)).toBe('echo "$${HOSTS:-}" $${#port} $${1%:*} %%{if x}');
    expect(templateLiteral(literalText(script))).toBe(script);
    // text that already holds an escape keeps it: `$${` reaches the container as `$${`
    expect(templateLiteral(escapeTemplate('a $${b}'))).toBe('a $${b}');
  });

  test('leaves cdktf tokens inside the text as Terraform expressions', () => {
    // GIVEN a config file with a variable spliced in
    const stack = new TerraformStack(testApp(), 'test');
    const port = new TerraformVariable(stack, 'port', { type: 'string' });
    new ConfigMapV1(stack, 'config', {
      metadata: { name: 'config' },
      data: { 'run.sh': literalText(`PORT=${port.stringValue} # \${PORT:-5000} ${Fn.upper('x')}`) },
    });
    // WHEN it is synthesized THEN the tokens resolve and only the literal part is escaped
    const json = JSON.parse(Testing.synth(stack));
    expect(json.resource.kubernetes_config_map_v1.config.data['run.sh']).toBe('PORT=${var.port} # $${PORT:-5000} ${upper("x")}');
  });

  test('templateLiteral refuses a string Terraform would interpolate', () => {
    expect(() => templateLiteral('x ${var.a}')).toThrow(/interpolates/);
  });
});

describe('expressionString', () => {
  test('PromQL quotes survive inside jsonencode(): literal parts escaped, a variable spliced in stays a reference', () => {
    // GIVEN a stack whose output is jsonencode() of a PromQL expression naming a variable
    const stack = new TerraformStack(testApp(), 'test');
    const job = new TerraformVariable(stack, 'job', { type: 'string' });
    // WHEN the string goes through expressionString
    new TerraformOutput(stack, 'rule', { value: Fn.jsonencode({ expr: expressionString(`up{job="${job.stringValue}"} == 0 or vector(1) \\ \${x}`) }) });
    // THEN Terraform reads a quoted string with escaped quotes and backslash, and the reference interpolated
    const value = JSON.parse(Testing.synth(stack)).output.rule.value;
    expect(value).toBe('${jsonencode({"expr" = "up{job=\\"${var.job}\\"} == 0 or vector(1) \\\\ $${x}"})}');
  });
});
