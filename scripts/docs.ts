/** `npm run docs`: writes the variable table in docs/configuration.md and terraform.tfvars.example from the variable catalog. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tfvarsExample, VARIABLES_TABLE_FILE, withVariablesTable } from '../lib/variables/docs';

const root = join(__dirname, '..');
const tablePath = join(root, VARIABLES_TABLE_FILE);
writeFileSync(tablePath, withVariablesTable(readFileSync(tablePath, 'utf8')));
writeFileSync(join(root, 'terraform.tfvars.example'), tfvarsExample());
console.log(`wrote ${VARIABLES_TABLE_FILE} (variable table) and terraform.tfvars.example from lib/variables/catalog.ts`);
