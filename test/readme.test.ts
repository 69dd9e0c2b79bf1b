/**
 * Every ```ts sample of README.md type-checks under `strict` against the built package, as a user's ES module that
 * imports `infercache` (resolved through the package's own `exports`, like an installed copy). A sample may use the
 * names in {@link READER_CODE}, which stand for the reader's own code (their model, their handlers, the cache made in
 * the quick start), and `app` (see {@link preamble}); anything else it uses it must import or declare. A block preceded by
 * `<!-- readme-check: skip (why) -->` is not checked; the reason is required.
 */
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { ensureBuilt, repoRoot } from './setup/build.js';
import { codeBlocks, installLines, readmeBlocks, type CodeBlock } from './setup/readme.js';

/** Ambient declarations for the reader's own code that samples refer to without defining it. */
const READER_CODE = `
interface PropertyInput { region: string; area: number; rooms: number }
interface Prediction { price: number }
interface Model { predict(input: PropertyInput): Promise<Prediction> }
interface Product { id: string; name: string }
/** The reader's cache, made as in the quick start. */
declare const cache: import('infercache').Cache;
declare const model: Model;
declare const input: PropertyInput;
declare const prompt: string;
declare const catalogue: { find(id: string): Promise<Product | undefined> };
declare function loadModelFromDisk(region: string): Promise<Model>;
declare function retrainModels(): Promise<void>;
declare function callLlm(prompt: string): Promise<string>;
/** An Express app's own middleware. */
declare const authenticate: import('express').RequestHandler;
declare const predictHandler: import('express').RequestHandler;
declare const statusHandler: import('express').RequestHandler;
declare const retrainHandler: import('express').RequestHandler;
`;

/**
 * The line put before a sample: declares `app` when the sample uses it without making it, as the framework its
 * section (else its code) is about.
 */
function preamble(block: CodeBlock): string {
  if (/\b(?:const|let|var)\s+app\b/.test(block.code)) return '';
  for (const text of [block.section, block.code]) {
    if (/fastify/i.test(text)) return "declare const app: import('fastify').FastifyInstance;";
    if (/express/i.test(text)) return "declare const app: import('express').Express;";
  }
  return '';
}

const TS_LANGS = new Set(['ts', 'typescript']);
const samples = readmeBlocks().filter((block) => TS_LANGS.has(block.lang));

/** How the reader's project compiles: an ES module on Node 20 with `strict`, no DOM. */
const COMPILER_OPTIONS: ts.CompilerOptions = {
  strict: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  lib: ['lib.es2023.d.ts'],
  types: ['node'],
  esModuleInterop: true,
  skipLibCheck: true,
  noEmit: true,
};

const where = (block: CodeBlock) => `README.md:${block.line} (${block.section})`;

describe('README samples', function () {
  this.timeout(120_000);
  let dir: string;
  const errors = new Map<CodeBlock, string[]>();

  before(function () {
    ensureBuilt.call(this);
    // Inside the repository so that fastify, express and @types/node resolve from its node_modules; `infercache`
    // resolves through the symlink to the package itself, by its package.json `exports`, as an installed copy would.
    const cacheDir = join(repoRoot, 'node_modules', '.cache');
    mkdirSync(cacheDir, { recursive: true });
    dir = mkdtempSync(join(cacheDir, 'infercache-readme-'));
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(repoRoot, join(dir, 'node_modules', 'infercache'), 'dir');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }));
    const files = new Map<string, CodeBlock>();
    writeFileSync(join(dir, 'reader-code.d.ts'), READER_CODE);
    for (const block of samples) {
      if (block.skip !== undefined) continue;
      const file = join(dir, `sample-${block.line}.mts`);
      writeFileSync(file, `${preamble(block)}\n${block.code}\nexport {};\n`);
      files.set(file, block);
      errors.set(block, []);
    }
    const program = ts.createProgram([join(dir, 'reader-code.d.ts'), ...files.keys()], COMPILER_OPTIONS);
    for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
      const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
      const block = diagnostic.file && files.get(diagnostic.file.fileName);
      if (!block || diagnostic.start === undefined) {
        throw new Error(`README check set-up: ${diagnostic.file?.fileName ?? 'options'}: ${message}`);
      }
      const { line, character } = diagnostic.file!.getLineAndCharacterOfPosition(diagnostic.start);
      const hint = [2304, 2552].includes(diagnostic.code)
        ? " (import or declare it in the sample; if it stands for the reader's own code, add it to READER_CODE in test/readme.test.ts)"
        : '';
      // line is 0-based and counts the preamble's line.
      errors
        .get(block)!
        .push(`README.md:${block.line + line - 1}:${character + 1}: TS${diagnostic.code}: ${message}${hint}`);
    }
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('has TypeScript samples to check', () => {
    expect(samples.filter((block) => block.skip === undefined)).to.have.length.greaterThan(3);
  });

  for (const block of samples) {
    if (block.skip !== undefined) {
      it(`skips the sample at ${where(block)} only with a reason`, () => {
        const message = `the readme-check: skip comment before ${where(block)} needs a reason: skip (why)`;
        expect(block.skip, message).to.not.equal('');
      });
      continue;
    }
    it(`type-checks the sample at ${where(block)} under strict`, () => {
      expect(errors.get(block), block.code).to.deep.equal([]);
    });
  }
});

describe('README code block reader', () => {
  it('reads fenced blocks with their language, first code line, section and skip reason', () => {
    const markdown = [
      '## Quick start', // 1
      '```ts', // 2
      'const a = 1;', // 3
      '```', // 4
      '- a list item:', // 5
      '  <!-- readme-check: skip (continues the previous sample) -->', // 6
      '', // 7
      '  ```ts', // 8
      '  b();', // 9
      '  ```', // 10
      '<!-- readme-check: skip -->', // 11
      '```bash', // 12
      'REDISMS_DISABLE_POSTINSTALL=1 npm install -D redis-memory-server # tests', // 13
      'npm install && npm run demo', // 14
      '```', // 15
    ].join('\n');
    const blocks = codeBlocks(markdown);
    expect(blocks.map(({ lang, code, line, section, skip }) => ({ lang, code, line, section, skip }))).to.deep.equal([
      { lang: 'ts', code: 'const a = 1;', line: 3, section: 'Quick start', skip: undefined },
      { lang: 'ts', code: 'b();', line: 9, section: 'Quick start', skip: 'continues the previous sample' },
      {
        lang: 'bash',
        code: 'REDISMS_DISABLE_POSTINSTALL=1 npm install -D redis-memory-server # tests\nnpm install && npm run demo',
        line: 13,
        section: 'Quick start',
        skip: '',
      },
    ]);
    expect(installLines(blocks).map(({ env, packages, dev }) => ({ env, packages, dev }))).to.deep.equal([
      { env: { REDISMS_DISABLE_POSTINSTALL: '1' }, packages: ['redis-memory-server'], dev: true },
    ]);
  });
});
