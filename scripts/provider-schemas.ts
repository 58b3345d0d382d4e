// `npm run schemas`: writes harness/providers/schemas/<provider>.json from the pinned @cdktf/provider-* bindings,
// the schemas the stand-in providers serve (__tests__/providers/schemas.spec.ts fails when they are stale).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROVIDERS, SCHEMA_DIR, schemaFromBindings, schemaStamp, type ProviderName } from '../harness/providers/schema-source';

const root = join(__dirname, '..');
for (const name of Object.keys(PROVIDERS) as ProviderName[]) {
  const schema = schemaFromBindings(name, root);
  writeFileSync(join(SCHEMA_DIR, `${name}.json`), `${JSON.stringify({ stamp: schemaStamp(name, root), ...schema })}\n`);
  console.log(`${name}: ${Object.keys(schema.resource_schemas).length} resources, ${Object.keys(schema.data_source_schemas).length} data sources`);
}
