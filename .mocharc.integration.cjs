// `npm run test:integration`: every test file that is not a unit test, against the root hooks' private Redis.
const base = require('./.mocharc.json');
const { unitFiles } = require('./test/setup/suites.cjs');

module.exports = { ...base, spec: ['test/**/*.test.ts'], ignore: unitFiles };
