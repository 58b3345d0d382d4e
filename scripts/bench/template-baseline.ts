import * as fs from 'node:fs';
import * as path from 'node:path';

/** `config-map-v1-data` -> `configMapV1Data`: the namespace a provider's root index exports each resource under. */
function namespaceOf(dir: string): string {
  return dir.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/**
 * Rewrites deep provider imports to the root index, the way the cdktf template's code imports them:
 * `import { SecretV1 } from '@cdktf/provider-kubernetes/lib/secret-v1'` becomes
 * `import { secretV1 as kubernetes_secretV1 } from` the package root (`@cdktf/provider-kubernetes`), then
 * `import SecretV1 = kubernetes_secretV1.SecretV1;`
 * (an import alias, so the name stays usable as a type and as a value).
 */
export function rootIndexImports(source: string): string {
  return source.replace(
    /import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+'(@cdktf\/provider-[a-z]+)\/lib\/([a-z0-9-]+)';/g,
    (_match, names: string, pkg: string, dir: string) => {
      const ns = namespaceOf(dir);
      const alias = `${pkg.slice('@cdktf/provider-'.length)}_${ns}`;
      // `type X` in the braces is a type-only name: the alias serves both uses.
      const aliases = names.split(',').map((n) => n.trim().replace(/^type\s+/, '')).filter(Boolean).map((n) => {
        const [exported, local = exported] = n.split(/\s+as\s+/);
        return `import ${local} = ${alias}.${exported};`;
      });
      return `import { ${ns} as ${alias} } from '${pkg}'; ${aliases.join(' ')}`;
    },
  );
}

function copyTree(from: string, to: string, transform: (text: string) => string): number {
  let rewritten = 0;
  fs.mkdirSync(to, { recursive: true });
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (entry.isDirectory()) rewritten += copyTree(source, target, transform);
    else if (entry.name.endsWith('.ts')) {
      const text = fs.readFileSync(source, 'utf8');
      const changed = transform(text);
      if (changed !== text) rewritten++;
      fs.writeFileSync(target, changed);
    } else {
      // Assets the app ships as they are (the Gateway chart).
      fs.copyFileSync(source, target);
    }
  }
  return rewritten;
}

/**
 * A copy of the app in `dir` as the cdktf TypeScript template would have it: the same main.ts and lib/ with
 * root-index provider imports, the project's tsconfig.json, and the project's node_modules linked in.
 * Returns how many files had imports rewritten.
 */
export function writeTemplateCopy(projectRoot: string, dir: string): number {
  fs.copyFileSync(path.join(projectRoot, 'tsconfig.json'), path.join(dir, 'tsconfig.json'));
  fs.writeFileSync(path.join(dir, 'main.ts'), rootIndexImports(fs.readFileSync(path.join(projectRoot, 'main.ts'), 'utf8')));
  fs.symlinkSync(fs.realpathSync(path.join(projectRoot, 'node_modules')), path.join(dir, 'node_modules'));
  const rewritten = copyTree(path.join(projectRoot, 'lib'), path.join(dir, 'lib'), rootIndexImports);
  if (rewritten === 0) throw new Error('template baseline: no deep provider import was found to rewrite');
  return rewritten;
}
