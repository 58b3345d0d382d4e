/** `npm run docs`: writes the README's variable table and terraform.tfvars.example from the variable catalog. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tfvarsExample, withVariablesTable } from '../lib/variables/docs';

const root = join(__dirname, '..');
const readmePath = join(root, 'README.md');
writeFileSync(readmePath, withVariablesTable(readFileSync(readmePath, 'utf8')));
writeFileSync(join(root, 'terraform.tfvars.example'), tfvarsExample());
console.log('wrote README.md (variable table) and terraform.tfvars.example from lib/variables/catalog.ts');
