/**
 * harness/crd/catalog.ts and the pinned data: every CRD version compiles (every keyword, format and CEL function
 * known), each data file is the one its SOURCE.md names (sha256), and the lookup by apiVersion/kind.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { compileCrd, findCrd, formatErrors, pinnedCrds, validateCustomResource } from '../../../harness/crd';
import { CRD_RELEASES, crdDataDir, type CrdRelease } from '../../../harness/crd/catalog';
import { functionsCalled } from '../../../harness/crd/cel';

describe('crd catalog', () => {
  test('every pinned CRD version compiles; its CEL rules and the functions they call', () => {
    const table = [...pinnedCrds().values()].map((crd) => {
      const compiled = compileCrd(crd);
      const called = new Set([...compiled.rules.values()].flat().flatMap((c) => functionsCalled(c.rule.rule)));
      return `${crd.group}/${crd.version} ${crd.kind} ${crd.scope}: ${compiled.ruleCount} rules ${[...called].sort().join(',')}`.trim();
    });
    expect(table).toEqual([
      'gateway.networking.k8s.io/v1 BackendTLSPolicy Namespaced: 8 rules size',
      'gateway.networking.k8s.io/v1 Gateway Namespaced: 16 rules matches,size,split',
      'gateway.networking.k8s.io/v1beta1 Gateway Namespaced: 16 rules matches,size,split',
      'gateway.networking.k8s.io/v1 HTTPRoute Namespaced: 89 rules contains,duration,endsWith,matches,size,startsWith',
      'gateway.networking.k8s.io/v1beta1 HTTPRoute Namespaced: 89 rules contains,duration,endsWith,matches,size,startsWith',
      'gateway.networking.k8s.io/v1 ReferenceGrant Namespaced: 0 rules',
      'gateway.networking.k8s.io/v1beta1 ReferenceGrant Namespaced: 0 rules',
      'gateway.networking.k8s.io/v1 TLSRoute Namespaced: 6 rules contains,isIP,matches,size,startsWith,substring',
      'monitoring.coreos.com/v1 PrometheusRule Namespaced: 0 rules',
      'monitoring.coreos.com/v1 ServiceMonitor Namespaced: 0 rules',
      'cert-manager.io/v1 Certificate Namespaced: 0 rules',
      'cert-manager.io/v1 ClusterIssuer Cluster: 1 rules',
      'cert-manager.io/v1 Issuer Namespaced: 1 rules',
      'gateway.envoyproxy.io/v1alpha1 BackendTrafficPolicy Namespaced: 76 rules duration,size,upperAscii',
      'gateway.envoyproxy.io/v1alpha1 ClientTrafficPolicy Namespaced: 16 rules duration,size',
      'gateway.nginx.org/v1alpha1 ClientSettingsPolicy Namespaced: 3 rules',
    ]);
  });

  test.each(Object.keys(CRD_RELEASES) as CrdRelease[])('%s: every schema file is in crds.json and its sha256 in SOURCE.md', (release) => {
    const dir = crdDataDir(release);
    const source = readFileSync(path.join(dir, 'SOURCE.md'), 'utf8');
    const files = readdirSync(dir).filter((f) => f.endsWith('.schema.json')).sort();
    const indexed = [...pinnedCrds().values()].filter((c) => c.release === release).map((c) => path.basename(c.schemaFile)).sort();
    expect(indexed).toEqual(files);
    for (const file of files) {
      const sha = createHash('sha256').update(readFileSync(path.join(dir, file))).digest('hex');
      expect([file, source.includes(`\`${file}\``) && source.includes(sha)]).toEqual([file, true]);
    }
  });

  test('a CRD is compiled once per process, then cached', () => {
    const route = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'registry', namespace: 'registry' }, spec: { parentRefs: [{ name: 'gw' }], hostnames: ['registry.example.com'], rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/v2/' } }], backendRefs: [{ name: 'registry', port: 5000 }] }] } };
    const crd = findCrd(route.apiVersion, route.kind)!;
    expect(compileCrd(crd)).toBe(compileCrd(crd));
    expect(validateCustomResource(route)).toEqual([]);
  });

  test('lookup by apiVersion and kind; an object no pinned CRD serves is an error, not a pass', () => {
    expect(findCrd('cert-manager.io/v1', 'Certificate')?.release).toBe('cert-manager');
    expect(findCrd('gateway.networking.k8s.io/v1alpha2', 'TLSRoute')).toBeUndefined();
    expect(findCrd('v1', 'ConfigMap')).toBeUndefined();
    expect(formatErrors(validateCustomResource({ apiVersion: 'gateway.networking.k8s.io/v1alpha2', kind: 'TLSRoute', metadata: { name: 'r' } })))
      .toEqual([expect.stringMatching(/^kind: Unsupported value: "gateway.networking.k8s.io\/v1alpha2 TLSRoute": no pinned CRD; pinned: gateway.networking.k8s.io\/v1 BackendTLSPolicy, /)]);
    expect(formatErrors(validateCustomResource('not an object'))).toHaveLength(1);
  });
});
