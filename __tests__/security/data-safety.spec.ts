import { resourcesOf, synth, environment } from '../../harness/synth';

const storageResources = (name: string, change: object = {}) => {
  const { json } = synth({ ...environment(name), ...change });
  return {
    volumes: resourcesOf(json, 'kubernetes_persistent_volume_v1'),
    claims: resourcesOf(json, 'kubernetes_persistent_volume_claim_v1'),
  };
};

describe('data safety', () => {
  test('prod keeps its volume and claim: reclaim Retain and prevent_destroy on both', () => {
    const { volumes, claims } = storageResources('prod');
    expect(volumes).toHaveLength(1);
    expect(claims).toHaveLength(1);
    expect(volumes[0].spec[0].persistent_volume_reclaim_policy).toBe('Retain');
    for (const resource of [...volumes, ...claims]) expect(resource.lifecycle).toEqual({ prevent_destroy: true });
  });

  test('dev opts out of prevent_destroy but its hostPath volume is still Retain', () => {
    const { volumes, claims } = storageResources('dev');
    expect(volumes[0].spec[0].persistent_volume_reclaim_policy).toBe('Retain');
    for (const resource of [...volumes, ...claims]) expect(resource.lifecycle).toEqual({ prevent_destroy: false });
  });

  test('an environment that does not say is protected (preventDestroy defaults to true)', () => {
    const { volumes, claims } = storageResources('dev', { preventDestroy: undefined });
    for (const resource of [...volumes, ...claims]) expect(resource.lifecycle).toEqual({ prevent_destroy: true });
  });

  test('a provisioned claim is protected too', () => {
    const { volumes, claims } = storageResources('shared');
    expect(volumes).toEqual([]);
    expect(claims[0].lifecycle).toEqual({ prevent_destroy: true });
  });
});
