/** Reads README.md's fenced code blocks, for the tests that hold the README's samples and install lines to the truth. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './build.js';

/** A fenced code block of the README. */
export interface CodeBlock {
  /** The fence's language tag (`ts`, `bash`...), lower case; `''` when it has none. */
  lang: string;
  /** The block's text, without the fences and without the indentation of the fence (in list items). */
  code: string;
  /** 1-based line of the README where the code starts (the line after the opening fence). */
  line: number;
  /** The heading the block is under. */
  section: string;
  /** Set when a `<!-- readme-check: skip (reason) -->` comment precedes the block: the reason, `''` if none given. */
  skip?: string;
}

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([\w+-]*)\s*$/;
const SKIP = /^\s*<!--\s*readme-check:\s*skip\b\s*(?:\((.*)\))?\s*-->\s*$/;

/** The fenced code blocks of `markdown`, in order. */
export function codeBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split('\n');
  const blocks: CodeBlock[] = [];
  let section = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    if (heading) section = heading[1]!.trim();
    const open = FENCE.exec(line);
    if (!open) continue;
    const [, indent = '', fence = '', lang = ''] = open;
    let end = i + 1;
    while (end < lines.length && !isClosing(lines[end]!, fence)) end++;
    const code = lines
      .slice(i + 1, end)
      .map((text) => (text.startsWith(indent) ? text.slice(indent.length) : text.trimStart()))
      .join('\n');
    let before = i - 1;
    while (before >= 0 && lines[before]!.trim() === '') before--;
    const marker = before >= 0 ? SKIP.exec(lines[before]!) : null;
    const block: CodeBlock = { lang: lang.toLowerCase(), code, line: i + 2, section };
    if (marker) block.skip = (marker[1] ?? '').trim();
    blocks.push(block);
    i = end;
  }
  return blocks;
}

function isClosing(line: string, fence: string): boolean {
  const trimmed = line.trim();
  return trimmed.length >= fence.length && trimmed === fence[0]!.repeat(trimmed.length);
}

/** README.md's code blocks. */
export function readmeBlocks(): CodeBlock[] {
  return codeBlocks(readFileSync(join(repoRoot, 'README.md'), 'utf8'));
}

/** An `npm install <packages>` line of the README: what a user is told to install, and with which variables. */
export interface InstallLine {
  env: Record<string, string>;
  packages: string[];
  dev: boolean;
  line: string;
}

/**
 * The `npm install` commands of the README's shell blocks that name packages (the repository's own bare
 * `npm install` is not one): `[VAR=value ...] npm install|i [flags] <packages>`.
 */
export function installLines(blocks: CodeBlock[] = readmeBlocks()): InstallLine[] {
  const found: InstallLine[] = [];
  for (const block of blocks) {
    if (!['bash', 'sh', 'shell', 'console'].includes(block.lang)) continue;
    for (const text of block.code.split('\n')) {
      for (const command of text.replace(/#.*$/, '').split(/&&|;|\|\|/)) {
        const words = command
          .trim()
          .replace(/^\$\s+/, '')
          .split(/\s+/);
        const env: Record<string, string> = {};
        while (words[0] && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0])) {
          const [name, ...value] = words.shift()!.split('=');
          env[name!] = value.join('=');
        }
        if (words[0] !== 'npm' || !['install', 'i', 'add'].includes(words[1] ?? '')) continue;
        const args = words.slice(2);
        const packages = args.filter((word) => !word.startsWith('-'));
        if (packages.length === 0) continue;
        const dev = args.some((word) => word === '-D' || word === '--save-dev');
        found.push({ env, packages, dev, line: text.trim() });
      }
    }
  }
  return found;
}
