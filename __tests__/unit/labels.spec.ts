/** Every Kubernetes object the stacks create says who manages it and what it is part of. */
import { TEST_ENVIRONMENTS, synth } from '../../harness/synth';

describe('labels', () => {
  test.each(TEST_ENVIRONMENTS.map((e) => [e.name, e] as const))('every Kubernetes object of %s is labelled managed-by private-registry-stack', (_, env) => {
    const { json } = synth(env);
    const unlabelled: string[] = [];
    for (const [type, resources] of Object.entries(json.resource)) {
      if (!type.startsWith('kubernetes_') || type === 'kubernetes_config_map_v1_data') continue; // a patch of someone else's object
      for (const [id, resource] of Object.entries<any>(resources)) {
        const metadata = Array.isArray(resource.metadata) ? resource.metadata[0] : resource.metadata;
        if (metadata?.labels?.['app.kubernetes.io/managed-by'] !== 'private-registry-stack') unlabelled.push(`${type}.${id}`);
      }
    }
    expect(unlabelled).toEqual([]);
  });
});
