/** StackVariables alone: declared on first use from the catalog, defaults from the environment, checked once. */
import { TerraformStack } from 'cdktf';
import { StackVariables } from '../../lib/variables/stack-variables';
import { VARIABLES } from '../../lib/variables/catalog';
import { Storage } from '../../lib/storage';
import { environment, synthConstruct, testApp } from '../../harness/synth';

describe('StackVariables alone', () => {
  test('declares only what is read, once, with the catalog description and the environment default', () => {
    const { json } = synthConstruct((_scope, vars) => {
      vars.string('namespace');
      vars.string('namespace');
      vars.list('registry_domains');
    }, environment('dev'));
    expect(Object.keys(json.variable).sort()).toEqual(['namespace', 'registry_domains']);
    expect(json.variable.namespace).toMatchObject({ type: 'string', default: 'registry', description: VARIABLES.namespace.description, nullable: false });
    expect(json.variable.registry_domains.default).toEqual(['registry.dev.example.internal']);
  });

  test('sensitive variables stay sensitive and their messages never show the value', () => {
    const { json } = synthConstruct((_scope, vars) => vars.string('kube_token'));
    expect(json.variable.kube_token.sensitive).toBe(true);
    expect(json.variable.kube_token.validation[0].error_message).toContain('(sensitive value)');
  });

  test('the replicas rule follows the storage: 1 on one node, up to 10 on shared storage', () => {
    const single = synthConstruct((_s, vars) => vars.number('replicas'), environment('dev')).variables;
    expect(single.rulesOf('replicas').map((r) => r.test(2))).toEqual([false]);
    const shared = synthConstruct((_s, vars) => vars.number('replicas'), environment('dev', { storage: Storage.storageClass({ accessMode: 'ReadWriteMany' }) })).variables;
    expect(shared.rulesOf('replicas').every((r) => r.test(2))).toBe(true);
  });

  test('fails when an environment default breaks a rule, naming the environment, the setting, the element and its index', () => {
    const env = environment('dev', { variables: { registry_domains: ['ok.example.com', 'Registry.example.com'] } });
    expect(() => new StackVariables(new TerraformStack(testApp(), 's'), env).list('registry_domains'))
      .toThrow(/^environment dev: variables\.registry_domains\[1\]: "Registry.example.com" is not allowed; expected a lowercase DNS name/);
  });

  test('a default from the catalog (not the environment) is named by the variable alone', () => {
    const { variables } = synthConstruct(() => undefined, environment('dev'));
    expect(variables.defaultOf('namespace')).toBe('registry');
    expect(() => variables.list('registry_domains')).not.toThrow();
  });

  test('fails when asked for the rules of a variable the stack does not declare', () => {
    const { variables } = synthConstruct(() => undefined);
    expect(() => variables.rulesOf('host_path')).toThrow('variable host_path is not declared by this stack');
  });
});
