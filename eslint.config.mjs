// Lint: typescript-eslint's recommended rules; formatting is Prettier's job.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** A `no-restricted-imports` pattern refusing imports from the folders named (adapters of the core). */
function adapters(...folders) {
  return {
    group: folders.map((folder) => `**/${folder}${folder.endsWith('/') ? '' : '/'}*`),
    message: 'the core does not import its adapters: see docs/ARCHITECTURE.md (who may import whom).',
  };
}

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'bench/results/', '.stryker-tmp/', 'reports/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-function-type': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // Who may import whom (docs/ARCHITECTURE.md): the core never reaches into its adapters, and the Redis driver layer
  // never into the core that drives it.
  {
    files: ['src/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [adapters('plugins')] }] },
  },
  {
    files: ['src/*.ts'],
    ignores: ['src/index.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [adapters('plugins', 'decorators', 'http', 'llm', 'cli')] }],
    },
  },
  {
    files: ['src/redis/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../*', '!../errors.js', '!../options.js', '!../timeout.js', '!../redis/*'],
              message:
                'src/redis/ is the driver layer: it may import only errors.ts, options.ts and timeout.ts from the core.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/decorators/**/*.ts', 'src/http/**/*.ts', 'src/fleet/**/*.ts', 'src/telemetry/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [adapters('plugins', 'decorators/', 'http/', 'llm', 'cli')] }],
    },
  },
  {
    files: ['**/*.mjs', '**/*.cjs', '**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly' } },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { globals: { require: 'readonly', module: 'writable' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
