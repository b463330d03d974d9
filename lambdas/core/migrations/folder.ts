/**
 * The local side of the protocol: a Prisma migrations folder as read by an adapter, validated into
 * an ordered list of migrations. Prisma ignores extra files in a migration folder; we use three:
 * rollback.sql (failure branch), backfill.json (backfill barrier) and verify.sql (verify step).
 */
import { MigrationFileMissingError, MigrationFolderError, ProviderMismatchError } from '../errors';
import { checksumOf } from './checksum';

export interface LocalMigration {
  /** Folder name, e.g. `20240125103000_add_status`. */
  readonly name: string;
  /** Path of migration.sql relative to the migrations folder, for messages. */
  readonly file: string;
  /** migration.sql as text. */
  readonly sql: string;
  /** Prisma checksum of migration.sql's bytes. */
  readonly checksum: string;
  readonly rollbackSql?: string;
  readonly backfillJson?: string;
  readonly verifySql?: string;
}

/** What an adapter hands over: raw bytes of the known files of each sub-folder. */
export interface RawMigrationsFolder {
  readonly lockToml?: string;
  readonly folders: readonly RawMigrationFolder[];
}

export interface RawMigrationFolder {
  readonly name: string;
  /** undefined when the file does not exist. */
  readonly migrationSql?: Buffer;
  readonly rollbackSql?: Buffer;
  readonly backfillJson?: Buffer;
  readonly verifySql?: Buffer;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function text(folder: string, file: string, bytes: Buffer | undefined): string | undefined {
  if (bytes === undefined) return undefined;
  try {
    return decoder.decode(bytes);
  } catch {
    throw new MigrationFolderError(`${folder}/${file} is not valid UTF-8`);
  }
}

/** `provider = "postgresql"` from migration_lock.toml, or throws P3019. */
export function checkProvider(lockToml: string | undefined): void {
  if (lockToml === undefined) return;
  const match = /^\s*provider\s*=\s*"([^"]*)"/m.exec(lockToml);
  const provider = match?.[1];
  if (provider !== 'postgresql') {
    throw new ProviderMismatchError(
      `The datasource provider \`postgresql\` does not match the one specified in the migration_lock.toml, \`${provider ?? '(none)'}\`.`,
      { code: 'P3019' },
    );
  }
}

/** Validates and orders a raw folder (sorted by name, like Prisma). */
export function toLocalMigrations(raw: RawMigrationsFolder): LocalMigration[] {
  checkProvider(raw.lockToml);
  return [...raw.folders]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((folder) => {
      if (folder.migrationSql === undefined) {
        throw new MigrationFileMissingError(
          `Could not find the migration file at ${folder.name}/migration.sql. Please delete the empty migration directory or add a migration file.`,
          { code: 'P3015' },
        );
      }
      return {
        name: folder.name,
        file: `${folder.name}/migration.sql`,
        sql: text(folder.name, 'migration.sql', folder.migrationSql) as string,
        checksum: checksumOf(folder.migrationSql),
        rollbackSql: text(folder.name, 'rollback.sql', folder.rollbackSql),
        backfillJson: text(folder.name, 'backfill.json', folder.backfillJson),
        verifySql: text(folder.name, 'verify.sql', folder.verifySql),
      };
    });
}
