#!/usr/bin/env node
/**
 * migration-runner operator CLI. Each command lives in bin/commands/<name>.ts and is loaded only
 * when used, so `lint` does not pay for the AWS SDK and `status` does not load the CDK.
 * (require, not import(): under tsx's CommonJS hook a dynamic import() bypasses the TypeScript loader.)
 */
import type { Command, Io } from './commands/command';
import { reportError } from './commands/command';

const commands: Record<string, () => Promise<Command>> = {
  lint: async () => (require('./commands/lint') as typeof import('./commands/lint')).lintCommand,
  status: async () => (require('./commands/status') as typeof import('./commands/status')).statusCommand,
  deploy: async () => (require('./commands/deploy') as typeof import('./commands/deploy')).deployCommand,
  resolve: async () => (require('./commands/resolve') as typeof import('./commands/resolve')).resolveCommand,
  start: async () => (require('./commands/start') as typeof import('./commands/start')).startCommand,
  executions: async () => (require('./commands/executions') as typeof import('./commands/executions')).executionsCommand,
  stop: async () => (require('./commands/stop') as typeof import('./commands/stop')).stopCommand,
  backfill: async () => (require('./commands/backfill') as typeof import('./commands/backfill')).backfillCommand,
  rehearse: async () => (require('./commands/rehearse') as typeof import('./commands/rehearse')).rehearseCommand,
};

export const USAGE = `migration-runner: production PostgreSQL migrations for Prisma migration folders

Usage: migration-runner <command> [options]   (migration-runner <command> --help for details)

Commands:
{{commands}}

Environment: DATABASE_URL is used when --database-url is absent. Logs go to stderr, results to stdout.
`;

export async function main(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    const lines = await Promise.all(Object.entries(commands).map(async ([n, load]) => `  ${n.padEnd(10)} ${(await load()).summary}`));
    io.stdout(USAGE.replace('{{commands}}', lines.join('\n')));
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) {
    io.stderr(`error: unknown command "${name}". Commands: ${Object.keys(commands).join(', ')}\n`);
    return 2;
  }
  const command = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(command.help);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    return reportError(error, io);
  }
}

/** Runs the CLI on this process's arguments and sets its exit code. */
export function runCli(): void {
  const io: Io = {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    env: process.env,
    isTty: Boolean(process.stdout.isTTY),
  };
  main(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
    },
    (error) => {
      process.stderr.write(`error: ${(error as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}

if (require.main === module) runCli();
