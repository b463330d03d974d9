// One jest run, several projects: `npm test` runs them all, `--selectProjects unit` runs one.
// The embedded PostgreSQL server is started once per run by the global setup (or DATABASE_URL is used)
// and stopped by the global teardown.
const transform = { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] };
const base = { testEnvironment: 'node', transform, moduleFileExtensions: ['ts', 'js', 'json'] };

/** @type {import('jest').Config} */
module.exports = {
  // Per-project testTimeout is not honoured by jest's multi-project runner: one generous global value.
  testTimeout: 120_000,
  globalSetup: '<rootDir>/test/helpers/global-setup.ts',
  globalTeardown: '<rootDir>/test/helpers/global-teardown.ts',
  projects: [
    { ...base, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...base, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'] },
    { ...base, displayName: 'synth', testMatch: ['<rootDir>/test/synth/**/*.test.ts'] },
    { ...base, displayName: 'state-machines', testMatch: ['<rootDir>/test/state-machines/**/*.test.ts'] },
  ],
};
