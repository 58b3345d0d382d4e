/**
 * Nothing shared is destroyed, and an adopted controller keeps exactly our route. The synthesized blocks are run
 * by the real terraform binary: lifecycle and `removed` on a terraform_data stand-in (the helm provider cannot be
 * downloaded here; the blocks' meaning does not depend on the resource type), and the adopted release's values and
 * chart-version precondition evaluated with stand-in data-source results.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { parse } from 'yaml';
import { Exposure } from '../../lib/exposure';
import { INGRESS_NGINX_RELEASE_ADDRESS, INGRESS_NGINX_TCP_KEY_ADDRESS } from '../../lib/keep-earlier';
import { address, environment, only, synth, Synthesized } from '../../harness/synth';
import { evaluateVariantsWithTerraform, terraformCommand } from '../../harness/terraform';
import { synthesized, testEnvironmentNames } from '../../harness/json';
import { tempDir, useCleanup } from '../../harness/programs';

const terraform = terraformCommand;

let prod: Synthesized;
let claim: Synthesized;
beforeAll(() => {
  prod = synth(environment('prod')).json;
  claim = synth(environment('claim')).json;
});

describe('an adopted ingress-nginx is never uninstalled', () => {
  const cleanup = useCleanup();

  test('every stack carries removed blocks for the ingress-nginx objects it does not manage, at their addresses', () => {
    const keep = (from: string) => ({ from, lifecycle: { destroy: false } });
    expect(address(prod, 'helm_release', 'exposure/release')).toBe(INGRESS_NGINX_RELEASE_ADDRESS);
    const configMapOnly = synth(environment('dev', { exposure: Exposure.ingressNginx.configmapOnly() })).json;
    expect(address(configMapOnly, 'kubernetes_config_map_v1_data', 'exposure/tcp-services')).toBe(INGRESS_NGINX_TCP_KEY_ADDRESS);
    expect(claim.removed).toEqual([keep(INGRESS_NGINX_RELEASE_ADDRESS), keep(INGRESS_NGINX_TCP_KEY_ADDRESS)]);
    expect(prod.removed).toEqual([keep(INGRESS_NGINX_TCP_KEY_ADDRESS)]);
    expect(synth(environment('dev')).json.removed).toEqual([keep(INGRESS_NGINX_TCP_KEY_ADDRESS)]);
    expect(configMapOnly.removed).toEqual([keep(INGRESS_NGINX_RELEASE_ADDRESS)]);
  });

  test('no stack declares a resource at an address it also marks removed (terraform refuses such a plan)', () => {
    for (const name of testEnvironmentNames()) {
      const json = synthesized(name);
      const declared = Object.entries(json.resource).flatMap(([type, resources]) => Object.keys(resources).map((id) => `${type}.${id}`));
      const removed = (json.removed ?? []).map((block: any) => block.from);
      expect({ name, both: removed.filter((from: string) => declared.includes(from)) }).toEqual({ name, both: [] });
    }
  });

  test('terraform: destroy of the adopted release fails; leaving adopt mode forgets it without destroying it', async () => {
    const dir = await tempDir(cleanup, 'adopt-tf-');
    const name = INGRESS_NGINX_RELEASE_ADDRESS.split('.')[1];
    const release = only(prod, 'helm_release');
    const write = (config: object) => fs.writeFile(path.join(dir, 'main.tf.json'), JSON.stringify(config));
    // GIVEN the adopted release in state, with the lifecycle the stack synthesizes (precondition left out: it reads
    // the cluster)
    await write({ resource: { terraform_data: { [name]: { input: 'controller', lifecycle: { prevent_destroy: release.lifecycle.prevent_destroy } } } } });
    expect(await terraform(dir, 'init', '-input=false')).not.toContain('FAILED');
    expect(await terraform(dir, 'apply', '-auto-approve', '-input=false')).toContain('1 added');
    // WHEN the stack is destroyed THEN the plan fails and nothing is removed
    const destroy = await terraform(dir, 'destroy', '-auto-approve', '-input=false');
    expect(destroy).toMatch(/Instance cannot be destroyed/);
    expect(await terraform(dir, 'state', 'list')).toContain(`terraform_data.${name}`);
    // WHEN the environment leaves adopt mode (the synthesized removed block, same address)
    const removed = claim.removed!.filter((block: any) => block.from === INGRESS_NGINX_RELEASE_ADDRESS)
      .map((block: any) => ({ ...block, from: block.from.replace(/^helm_release\./, 'terraform_data.') }));
    await write({ removed });
    const apply = await terraform(dir, 'apply', '-auto-approve', '-input=false');
    // THEN Terraform forgets it and destroys nothing
    expect(apply).toMatch(/will no longer be managed by Terraform, but will not be destroyed/);
    expect(apply).toMatch(/0 destroyed/);
    expect(await terraform(dir, 'state', 'list')).not.toContain('terraform_data.');
    // AND the block is harmless in a stack that never had a release
    expect(await terraform(dir, 'plan', '-input=false')).toMatch(/No changes/);
  }, 60_000);
});

describe('the adopted release routes exactly our port', () => {
  const cleanup = useCleanup();
  const route = 'registry/registry:5000';
  type Cluster = { tcp?: Record<string, string> | null; chart?: string; daemonSet?: boolean };
  /** Each case: the operator's variables and what the cluster's release looks like. */
  const CASES: Record<string, [Record<string, unknown>, Cluster]> = {
    moved: [{ external_port: 5001 }, { tcp: { 5000: route, 6000: 'other/svc:80' } }],
    same: [{}, { tcp: { 5000: route, 6000: 'other/svc:80' } }],
    fresh: [{}, {}],
    older: [{}, { chart: 'ingress-nginx-4.14.0' }],
    matching: [{}, { chart: 'ingress-nginx-4.15.1' }],
    matchingSet: [{ ingress_chart_version: '4.14.0' }, { chart: 'ingress-nginx-4.14.0' }],
    olderDaemonSet: [{}, { chart: 'ingress-nginx-4.14.0', daemonSet: true }],
    emptyTcpMap: [{}, { tcp: null }],
  };
  let out: Record<string, Record<string, any>>;

  /** The synthesized values and precondition, evaluated by terraform for every case in one apply. */
  beforeAll(async () => {
    const dir = await tempDir(cleanup, 'adopt-values-');
    const release = only(prod, 'helm_release');
    const ids = Object.keys(prod.data!.kubernetes_resources);
    const configMaps = ids.find((id) => id.startsWith('exposure_release-config-maps_'))!;
    const controller = ids.find((id) => id.startsWith('exposure_release-controller_'))!;
    const daemonSet = ids.find((id) => id.startsWith('exposure_release-controller-daemonset_'))!;
    const service = address(prod, 'kubernetes_service_v1', 'registry/service').split('.')[1];
    const standIn = (id: string) => `resource_${id.replace(/[^A-Za-z0-9_]/g, '_')}`;
    const clusterValues = (cluster: Cluster) => ({
      // A -tcp ConfigMap may exist without data (tcp: null).
      [standIn(configMaps)]: { objects: cluster.tcp !== undefined ? [{ metadata: { name: 'ingress-nginx-controller' }, data: {} }, { metadata: { name: 'ingress-nginx-tcp' }, data: cluster.tcp }] : [] },
      [standIn(cluster.daemonSet ? daemonSet : controller)]: { objects: cluster.chart ? [{ metadata: { labels: { 'helm.sh/chart': cluster.chart } } }] : [] },
    });
    const resources = {
      'kubernetes_namespace_v1.namespace': { metadata: [{ name: 'registry' }] },
      [service]: { metadata: [{ name: 'registry' }] },
      [configMaps]: { objects: [] },
      [controller]: { objects: [] },
      [daemonSet]: { objects: [] },
    };
    const [precondition] = release.lifecycle.precondition;
    const evaluated = await evaluateVariantsWithTerraform(dir, prod, {
      values: release.values[0], allowed: precondition.condition, message: precondition.error_message,
    }, Object.fromEntries(Object.entries(CASES).map(([name, [vars, cluster]]) => [name, { ...vars, ...clusterValues(cluster) }])), resources);
    out = Object.fromEntries(Object.entries(evaluated).map(([name, o]) => [name, { ...o, tcp: parse(o.values).tcp }]));
  }, 60_000);

  test('a changed port removes the old route (null) and keeps other services\' routes', () => {
    expect(out.moved.tcp).toEqual({ 5000: null, 5001: route });
  });

  test('an unchanged port, or a release without tcp routes yet, gets only our route', () => {
    expect(out.same.tcp).toEqual({ 5000: route });
    expect(out.fresh.tcp).toEqual({ 5000: route });
    expect(out.emptyTcpMap.tcp).toEqual({ 5000: route });
  });

  test('a chart version other than the installed one is refused at plan time, saying what to do', () => {
    expect(out.older.allowed).toBe(false);
    expect(out.older.message).toMatch(/^ingress_chart_version: "4\.15\.1" is not allowed; expected the version the adopted release runs \(ingress-nginx-4\.14\.0\)\..*upgrade ingress-nginx the way its owner does/);
    expect(out.matching.allowed).toBe(true);
    expect(out.matchingSet.allowed).toBe(true);
    // a controller deployed as a DaemonSet (the chart's controller.kind) is compared too
    expect(out.olderDaemonSet.allowed).toBe(false);
    // no controller of this release found (other labels): nothing to compare
    expect(out.fresh.allowed).toBe(true);
  });
});
