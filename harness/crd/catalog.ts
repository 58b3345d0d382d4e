/**
 * The pinned CustomResourceDefinitions: one data directory per upstream release (harness/data/<project>-<tag>/),
 * each with a SOURCE.md (repository, tag, commit, sha256 of every file) and a `crds.json` index written by
 * scripts/crd-schemas.ts. `findCrd(apiVersion, kind)` is how the validator picks the schema of an object.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

export const CRD_INDEX_FILE = 'crds.json';
export const CRD_DATA_ROOT = path.join(__dirname, '..', 'data');

/** One line of a data directory's crds.json. */
export interface CrdIndexEntry {
  readonly group: string;
  readonly kind: string;
  readonly scope: 'Namespaced' | 'Cluster';
  /** The served versions, each with its schema file (beside crds.json). */
  readonly versions: Array<{ readonly name: string; readonly storage: boolean; readonly file: string }>;
}

/** The upstream releases whose CRDs are pinned; the directory is `harness/data/<name>-<tag>`. */
export const CRD_RELEASES = {
  'gateway-api': 'v1.6.1',
  'prometheus-operator': 'v0.93.0',
  'cert-manager': 'v1.21.1',
  'envoy-gateway': 'v1.9.0',
  'nginx-gateway-fabric': 'v2.6.7',
} as const;

export type CrdRelease = keyof typeof CRD_RELEASES;

export const crdDataDir = (release: CrdRelease) => path.join(CRD_DATA_ROOT, `${release}-${CRD_RELEASES[release]}`);

/** What the validator needs to know of one served version of a CRD. */
export interface PinnedCrd {
  readonly release: CrdRelease;
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly scope: 'Namespaced' | 'Cluster';
  /** Absolute path of the version's openAPIV3Schema (JSON). */
  readonly schemaFile: string;
}

let catalog: Map<string, PinnedCrd> | undefined;

/** Every pinned CRD version, keyed by `<group>/<version>/<kind>`. */
export function pinnedCrds(): ReadonlyMap<string, PinnedCrd> {
  if (!catalog) {
    catalog = new Map();
    for (const release of Object.keys(CRD_RELEASES) as CrdRelease[]) {
      const dir = crdDataDir(release);
      const index = JSON.parse(readFileSync(path.join(dir, CRD_INDEX_FILE), 'utf8')) as CrdIndexEntry[];
      for (const crd of index) {
        for (const v of crd.versions) {
          const key = `${crd.group}/${v.name}/${crd.kind}`;
          if (catalog.has(key)) throw new Error(`${key} is pinned twice (${catalog.get(key)!.release} and ${release})`);
          catalog.set(key, { release, group: crd.group, version: v.name, kind: crd.kind, scope: crd.scope, schemaFile: path.join(dir, v.file) });
        }
      }
    }
  }
  return catalog;
}

/** The pinned CRD serving `apiVersion` (`group/version`) and `kind`, or undefined. */
export function findCrd(apiVersion: string, kind: string): PinnedCrd | undefined {
  const slash = apiVersion.lastIndexOf('/');
  if (slash < 0) return undefined; // the core group ("v1") has no custom resources
  return pinnedCrds().get(`${apiVersion}/${kind}`);
}
