// `npm run test:mutation` (not in CI): Stryker plants bugs in the core files and runs their unit tests against each.
// The whole core would take hours on a 2-core machine; pass `--mutate src/codec.ts` (etc.) to run another file.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'mocha',
  testRunnerNodeArgs: ['--import', 'tsx'],
  mochaOptions: {
    config: '.mocharc.unit.cjs',
    // the property tests (keys.property.test.ts) would kill a few more mutants, at ten times the time
    spec: ['test/keys.test.ts', 'test/keys.grammar.test.ts', 'test/ttl.test.ts', 'test/ttl.errors.test.ts'],
  },
  checkers: ['typescript'],
  // the checker type-checks each mutant: only the mutated files and what they import (all of src/ made the checker
  // the bottleneck, ~4 s a mutant on a loaded machine); a file passed with --mutate must be added to its "files"
  tsconfigFile: 'tsconfig.stryker.json',
  mutate: ['src/keys.ts', 'src/ttl.ts'],
  coverageAnalysis: 'perTest',
  concurrency: 2,
  timeoutMS: 20_000,
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
};
