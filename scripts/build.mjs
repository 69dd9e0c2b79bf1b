// Builds dist/esm and dist/cjs with declarations, each with a package.json naming its module type.
// Source maps carry their sources (inlineSources): the package ships dist/ only, not src/.
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync, mkdirSync, chmodSync } from 'node:fs';

const tsc = (args) =>
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '--inlineSources', ...args], { stdio: 'inherit' });
rmSync('dist', { recursive: true, force: true });
tsc(['-p', 'tsconfig.build.json', '--outDir', 'dist/esm', '--module', 'ESNext', '--moduleResolution', 'Bundler']);
tsc(['-p', 'tsconfig.build.json', '--outDir', 'dist/cjs', '--module', 'CommonJS', '--moduleResolution', 'Node10']);
for (const [dir, type] of [
  ['dist/esm', 'module'],
  ['dist/cjs', 'commonjs'],
]) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/package.json`, JSON.stringify({ type }) + '\n');
}

// The `infercache` bin: an ESM entry with a shebang, running the CLI built above.
mkdirSync('dist/bin', { recursive: true });
writeFileSync(
  'dist/bin/infercache.mjs',
  "#!/usr/bin/env node\nimport { main } from '../esm/src/cli/main.js';\nprocess.exit(await main(process.argv.slice(2)));\n",
);
chmodSync('dist/bin/infercache.mjs', 0o755);
