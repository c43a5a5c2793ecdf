const fs = require('node:fs');
const path = require('node:path');

const swcrc = JSON.parse(fs.readFileSync(path.join(__dirname, '.swcrc'), 'utf8'));
const transform = { '^.+\\.(t|j)s$': ['@swc/jest', { ...swcrc, swcrc: false }] };

// Every folder under src/ must keep 80% line coverage on its own, not only in the total.
const folders = fs
  .readdirSync(path.join(__dirname, 'src'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => `./src/${entry.name}/`);

// ESM-only packages: Node 20 require()s them natively, Jest's module loader does not, so SWC makes them CJS.
// The innermost node_modules decides (@fastify/static nests its own content-disposition).
const esmOnly = [
  'jose',
  'content-disposition',
  'file-type',
  'strtok3',
  'token-types',
  '@tokenizer',
  '@borewit',
  'uint8array-extras',
];
const transformIgnorePatterns = [`/node_modules/(?!(${esmOnly.join('|')})/)(?!.*/node_modules/)`];

// file-type's exports offer Node only `import` and `module-sync` (what Node's require(esm) takes); Jest asks for `require`.
const moduleNameMapper = { '^file-type$': '<rootDir>/node_modules/file-type/index.js' };

const project = (displayName, testRegex, extra = {}) => ({
  displayName,
  testEnvironment: 'node',
  rootDir: __dirname,
  testRegex,
  transform,
  transformIgnorePatterns,
  moduleNameMapper,
  ...extra,
});

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    project('unit', 'src/.*\\.spec\\.ts$'),
    project('integration', 'test/integration/.*\\.int-spec\\.ts$', { slowTestThreshold: 30 }),
    project('e2e', 'test/e2e/.*\\.e2e-spec\\.ts$', { slowTestThreshold: 30 }),
    // The pages in Debian's chromium (playwright-core), against the real server.
    project('browser', 'test/browser/.*\\.browser-spec\\.ts$', { slowTestThreshold: 60 }),
  ],
  transform,
  globalSetup: '<rootDir>/test/setup/global-setup.ts',
  globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
  maxWorkers: 2,
  testTimeout: 60000,
  // The pages' front end runs in the browser tests (test/browser), which Jest's coverage cannot see.
  collectCoverageFrom: ['src/**/*.ts', '!src/main.ts', '!src/**/*.spec.ts', '!src/web/client/**'],
  coverageReporters: ['text-summary', 'lcov', 'cobertura'],
  coverageThreshold: Object.fromEntries(folders.map((folder) => [folder, { lines: 80 }])),
};
