// `npm run test:unit`: the files of test/setup/suites.cjs, with no Redis started.
const base = require('./.mocharc.json');
const { unitFiles } = require('./test/setup/suites.cjs');

module.exports = { ...base, spec: unitFiles, timeout: 10_000 };
