import { checksumMatches, checksumOf } from '../../../lambdas/core/migrations/checksum';
import { toLocalMigrations } from '../../../lambdas/core/migrations/folder';

describe('Prisma checksum', () => {
  it.each([
    ['hello', '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824'],
    ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
  ])('hashes %j like Prisma', (text, expected) => {
    expect(checksumOf(Buffer.from(text, 'utf8'))).toBe(expected);
  });

  it('hashes the bytes as stored: a BOM and CRLF change the checksum', () => {
    const plain = checksumOf(Buffer.from('SELECT 1;\n'));
    const crlf = checksumOf(Buffer.from('SELECT 1;\r\n'));
    const bom = checksumOf(Buffer.from('\uFEFFSELECT 1;\n', 'utf8'));
    expect(new Set([plain, crlf, bom]).size).toBe(3);
    expect(bom).toBe(checksumOf(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('SELECT 1;\n')])));
  });

  it('matches a checksum recorded from the same file with other line endings, as Prisma status does', () => {
    const lf = 'CREATE TABLE a (id int);\nCREATE TABLE b (id int);\n';
    const crlf = lf.replace(/\n/g, '\r\n');
    expect(checksumMatches(checksumOf(lf), crlf)).toBe(true);
    expect(checksumMatches(checksumOf(crlf), lf)).toBe(true);
    expect(checksumMatches(checksumOf(lf), `${lf}-- edited\n`)).toBe(false);
  });

  it('accepts the legacy non-zero-padded hex format', () => {
    // A file whose digest has a byte below 0x10, so the legacy format is shorter.
    const text = Array.from({ length: 50 }, (_, i) => `SELECT ${i};\n`).find((t) => /^(..)*0/.test(checksumOf(t))) as string;
    const legacy = (checksumOf(text).match(/../g) as string[]).map((b) => parseInt(b, 16).toString(16)).join('');
    expect(legacy.length).toBeLessThan(64);
    expect(checksumMatches(legacy, text)).toBe(true);
    expect(checksumMatches(legacy, 'SELECT 43;\n')).toBe(false);
  });
});

describe('migrations folder', () => {
  const sql = (text: string) => Buffer.from(text, 'utf8');

  it('orders folders by name and computes checksums from the raw bytes', () => {
    const migrations = toLocalMigrations({
      lockToml: 'provider = "postgresql"\n',
      folders: [
        { name: '20240102000000_b', migrationSql: sql('SELECT 2;\r\n') },
        { name: '20240101000000_a', migrationSql: sql(''), rollbackSql: sql('DROP TABLE x;'), backfillJson: sql('{}') },
      ],
    });
    expect(migrations.map((m) => m.name)).toEqual(['20240101000000_a', '20240102000000_b']);
    expect(migrations[0]).toMatchObject({ sql: '', checksum: checksumOf(''), rollbackSql: 'DROP TABLE x;', backfillJson: '{}' });
    expect(migrations[1].checksum).toBe(checksumOf('SELECT 2;\r\n'));
  });

  it('refuses another provider with P3019', () => {
    expect(() => toLocalMigrations({ lockToml: 'provider = "mysql"', folders: [] })).toThrow(/P3019.*mysql/);
  });

  it('refuses a folder without migration.sql with P3015', () => {
    expect(() => toLocalMigrations({ folders: [{ name: '20240101000000_empty' }] })).toThrow(/P3015.*20240101000000_empty\/migration\.sql/);
  });

  it('refuses a file that is not UTF-8, naming it', () => {
    expect(() => toLocalMigrations({ folders: [{ name: 'x', migrationSql: Buffer.from([0xff, 0xfe, 0x00]) }] })).toThrow(
      'x/migration.sql is not valid UTF-8',
    );
  });
});
