/**
 * The published files import only what an installer gets: dependencies, peer dependencies and Node built-ins, never a
 * devDependency (this repository's node_modules has them all, so loading the entry points here cannot notice one).
 */
import { expect } from 'chai';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { ensureBuilt, repoRoot } from './setup/build.js';

/** Every .js file under `dir`. */
function jsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return jsFiles(path);
    return path.endsWith('.js') ? [path] : [];
  });
}

/** The package a bare specifier names (`@scope/name/sub` → `@scope/name`), or undefined for a relative path. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/')) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** Module specifiers of static imports, re-exports, dynamic imports and requires in compiled JavaScript. */
export function specifiersOf(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\b(?:import|export)\s[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) for (const match of source.matchAll(pattern)) found.push(match[1]!);
  return found;
}

describe('published files', function () {
  this.timeout(120_000);
  before(ensureBuilt);

  it('finds the specifiers of every kind of import it checks', () => {
    const source = `import a from 'x1'; export { b } from "x2"; import 'x3'; await import('x4'); require("x5");`;
    expect(specifiersOf(source)).to.have.members(['x1', 'x2', 'x3', 'x4', 'x5']);
  });

  it('import only dependencies, peer dependencies and Node built-ins (no devDependency)', () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      peerDependencies?: Record<string, string>;
    };
    const allowed = new Set([
      ...Object.keys(pkg.dependencies ?? {}),
      ...Object.keys(pkg.peerDependencies ?? {}),
      ...builtinModules,
      ...builtinModules.map((m) => `node:${m}`),
    ]);
    const files = jsFiles(join(repoRoot, 'dist'));
    expect(files.length).to.be.above(10);
    const outside: string[] = [];
    for (const file of files) {
      for (const specifier of specifiersOf(readFileSync(file, 'utf8'))) {
        const name = packageOf(specifier);
        if (name !== undefined && !allowed.has(name) && name !== 'infercache') {
          outside.push(`${file.slice(repoRoot.length + 1)}: ${specifier}`);
        }
      }
    }
    expect(outside).to.deep.equal([]);
  });
});
