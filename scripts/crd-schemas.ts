// `npm run crds -- <data dir> <CRD yaml>...`: writes, for every served version of each CustomResourceDefinition, its
// `schema.openAPIV3Schema` unchanged (descriptions included) as `<kind>-<version>.schema.json` (2-space JSON), and
// the directory's `crds.json` index (group, kind, scope, versions, file) that harness/crd/ looks objects up in. Prints
// the sha256 of each input and output for the directory's SOURCE.md. Inputs come from the upstream tag, e.g.
// `git --git-dir=<mirror> show v1.6.1:config/crd/standard/gateway.networking.k8s.io_httproutes.yaml > httproutes.yaml`.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { CRD_INDEX_FILE, type CrdIndexEntry } from '../harness/crd/catalog';

const sha256 = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');

const [dataDir, ...inputs] = process.argv.slice(2);
if (!dataDir || inputs.length === 0) throw new Error('usage: crd-schemas <data dir> <CRD yaml>...');

const index: CrdIndexEntry[] = [];
for (const input of inputs) {
  const text = readFileSync(input);
  const crds = parseAllDocuments(text.toString('utf8')).map((d) => d.toJS()).filter((d) => d?.kind === 'CustomResourceDefinition');
  if (crds.length !== 1) throw new Error(`${input}: expected one CustomResourceDefinition, found ${crds.length}`);
  const { group, names, scope, versions } = crds[0].spec;
  console.log(`${basename(input)} sha256 ${sha256(text)}`);
  const served = (versions as any[]).filter((v) => v.served);
  const entry: CrdIndexEntry = { group, kind: names.kind, scope, versions: [] };
  for (const v of served) {
    const file = `${String(names.kind).toLowerCase()}-${v.name}.schema.json`;
    const json = `${JSON.stringify(v.schema.openAPIV3Schema, null, 2)}\n`;
    writeFileSync(join(dataDir, file), json);
    entry.versions.push({ name: v.name, storage: v.storage === true, file });
    console.log(`  ${file} sha256 ${sha256(json)}${v.storage ? ' (storage)' : ''}`);
  }
  index.push(entry);
}
index.sort((a, b) => a.kind.localeCompare(b.kind));
writeFileSync(join(dataDir, CRD_INDEX_FILE), `${JSON.stringify(index, null, 2)}\n`);
