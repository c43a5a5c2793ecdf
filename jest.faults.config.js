const base = require('./jest.config.js');

/**
 * The fault suite (`npm run test:faults`): three replicas of dist/main.js behind HAProxy, killed and
 * restarted while simulated users chat. Long and loopback-only, so it runs on its own, not in `npm test`.
 */
/** @type {import('jest').Config} */
module.exports = {
  displayName: 'faults',
  testEnvironment: 'node',
  rootDir: __dirname,
  testRegex: 'test/faults/.*\\.faults-spec\\.ts$',
  transform: base.transform,
  transformIgnorePatterns: base.projects[0].transformIgnorePatterns,
  globalSetup: base.globalSetup,
  globalTeardown: base.globalTeardown,
  testTimeout: 900_000,
  maxWorkers: 1,
};
