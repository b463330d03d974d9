#!/usr/bin/env node
// `npx migration-runner ...`: runs the TypeScript CLI through tsx (no build step needed).
require('tsx/cjs');
require('./cli.ts').runCli();
