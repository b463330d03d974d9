/**
 * Splits a migration file into statements with the real PostgreSQL parser (libpg-query, the
 * server's own grammar compiled to WebAssembly) and classifies each one for execution.
 *
 * Offsets from the parser are UTF-8 byte offsets; everything here works on the file's bytes so
 * that a multibyte identifier does not shift lines or columns.
 */
import { SqlSyntaxError } from '../errors';
import { loadParser, parseSync } from '../sql/parser';

export { loadParser };

/** How a statement must be executed. */
export type StatementKind =
  /** may run inside a transaction block */
  | 'transactional'
  /** cannot run inside a transaction block (CREATE INDEX CONCURRENTLY, VACUUM, ...) */
  | 'non-transactional'
  /** BEGIN / START TRANSACTION */
  | 'begin'
  /** COMMIT / END / ROLLBACK / PREPARE TRANSACTION (ends a block) */
  | 'end';

export interface SqlStatement {
  /** 0-based index in the file. */
  readonly index: number;
  /** Statement text without leading comments or whitespace and without the trailing semicolon. */
  readonly text: string;
  /** 1-based line and column of the statement's first token. */
  readonly line: number;
  readonly column: number;
  /** Byte offsets of the statement (including leading comments) in the UTF-8 file. */
  readonly byteStart: number;
  readonly byteEnd: number;
  /** Parse node type, e.g. 'IndexStmt', 'AlterTableStmt'. */
  readonly nodeType: string;
  /** The parse tree of the statement (libpg-query JSON, node type unwrapped). */
  readonly node: Record<string, unknown>;
  readonly kind: StatementKind;
}

export interface SplitOptions {
  /** server_version_num of the target; gates ALTER TYPE ... ADD VALUE (< 120000: non-transactional). */
  readonly serverVersionNum?: number;
  /** File name used in error messages. */
  readonly fileName?: string;
  /**
   * Another build of the parser with libpg-query's parseSync shape (the linter passes the PG 18
   * grammar so that 18-only syntax such as VIRTUAL columns parses); requires its module loaded.
   */
  readonly parse?: (sql: string) => unknown;
}

interface RawStmt {
  stmt: Record<string, Record<string, unknown>>;
  stmt_location?: number;
  stmt_len?: number;
}

/** Parses a whole file; throws SqlSyntaxError naming file:line:column. Requires loadParser(). */
export function splitSql(sql: string, options: SplitOptions = {}): SqlStatement[] {
  // A UTF-8 byte order mark is 3 bytes: three spaces keep every byte offset where it was.
  const text = sql.startsWith('\uFEFF') ? `   ${sql.slice(1)}` : sql;
  const bytes = Buffer.from(text, 'utf8');
  let tree: { stmts?: RawStmt[] };
  try {
    tree = (options.parse ?? parseSync)(text) as { stmts?: RawStmt[] };
  } catch (error) {
    // The parser rejects an empty query; an empty or comment-only migration is valid (and runs nothing).
    if (/Query cannot be empty/.test((error as Error).message)) return [];
    const details = (error as { sqlDetails?: { cursorPosition?: number; message?: string } }).sqlDetails;
    // The parser's cursor position is a 0-based character (not byte) offset.
    const offset = Buffer.byteLength(text.slice(0, Math.max(0, details?.cursorPosition ?? 0)), 'utf8');
    const { line, column } = lineAndColumn(bytes, offset);
    const file = options.fileName ?? 'migration.sql';
    throw new SqlSyntaxError(`${file}:${line}:${column}: ${details?.message ?? (error as Error).message}`, {
      details: { file, line, column },
    });
  }
  const raw = tree.stmts ?? [];
  return raw.map((entry, index) => {
    const byteStart = entry.stmt_location ?? 0;
    const byteEnd = entry.stmt_len ? byteStart + entry.stmt_len : bytes.length;
    const tokenStart = skipSpaceAndComments(bytes, byteStart, byteEnd);
    const { line, column } = lineAndColumn(bytes, tokenStart);
    const nodeType = Object.keys(entry.stmt)[0];
    const node = entry.stmt[nodeType];
    return {
      index,
      text: bytes.subarray(tokenStart, byteEnd).toString('utf8').trimEnd(),
      line,
      column,
      byteStart,
      byteEnd,
      nodeType,
      node,
      kind: classify(nodeType, node, options.serverVersionNum ?? 120000),
    };
  });
}

/** How a statement must be executed (see StatementKind). */
export function classify(nodeType: string, node: Record<string, unknown>, serverVersionNum: number): StatementKind {
  switch (nodeType) {
    case 'TransactionStmt': {
      const kind = node.kind as string;
      if (kind === 'TRANS_STMT_BEGIN' || kind === 'TRANS_STMT_START') return 'begin';
      if (kind === 'TRANS_STMT_COMMIT' || kind === 'TRANS_STMT_ROLLBACK' || kind === 'TRANS_STMT_PREPARE') return 'end';
      // SAVEPOINT, RELEASE, ROLLBACK TO: only meaningful inside a block.
      return kind === 'TRANS_STMT_COMMIT_PREPARED' || kind === 'TRANS_STMT_ROLLBACK_PREPARED' ? 'non-transactional' : 'transactional';
    }
    case 'IndexStmt':
    case 'DropStmt':
      return node.concurrent ? 'non-transactional' : 'transactional';
    case 'ReindexStmt': {
      const params = (node.params as { DefElem?: { defname?: string } }[] | undefined) ?? [];
      const concurrently = params.some((p) => p.DefElem?.defname === 'concurrently');
      const kind = node.kind as string;
      return concurrently || kind === 'REINDEX_OBJECT_SYSTEM' || kind === 'REINDEX_OBJECT_DATABASE' ? 'non-transactional' : 'transactional';
    }
    case 'VacuumStmt':
      return node.is_vacuumcmd ? 'non-transactional' : 'transactional';
    case 'AlterTableStmt': {
      const cmds = (node.cmds as { AlterTableCmd?: { subtype?: string; def?: { PartitionCmd?: { concurrent?: boolean } } } }[]) ?? [];
      return cmds.some((c) => c.AlterTableCmd?.subtype === 'AT_DetachPartition' && c.AlterTableCmd.def?.PartitionCmd?.concurrent)
        ? 'non-transactional'
        : 'transactional';
    }
    case 'AlterEnumStmt':
      // ADD VALUE inside a transaction block is allowed from PostgreSQL 12 on.
      return serverVersionNum < 120000 && !node.oldVal ? 'non-transactional' : 'transactional';
    case 'AlterSystemStmt':
    case 'CreatedbStmt':
    case 'DropdbStmt':
    case 'CreateTableSpaceStmt':
    case 'DropTableSpaceStmt':
    case 'CreateSubscriptionStmt':
    case 'DropSubscriptionStmt':
      return 'non-transactional';
    default:
      return 'transactional';
  }
}

/** 1-based line and column (in characters) of a byte offset. */
export function lineAndColumn(bytes: Buffer, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, bytes.length);
  for (let i = 0; i < end; i++) {
    if (bytes[i] === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  const column = bytes.subarray(lineStart, end).toString('utf8').length + 1;
  return { line, column };
}

/** First byte at or after `from` that is not whitespace or part of a comment. */
function skipSpaceAndComments(bytes: Buffer, from: number, to: number): number {
  let i = from;
  while (i < to) {
    const c = bytes[i];
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0c || c === 0x3b) {
      i++;
    } else if (c === 0x2d && bytes[i + 1] === 0x2d) {
      while (i < to && bytes[i] !== 0x0a) i++;
    } else if (c === 0x2f && bytes[i + 1] === 0x2a) {
      // Block comments nest in PostgreSQL.
      let depth = 0;
      do {
        if (bytes[i] === 0x2f && bytes[i + 1] === 0x2a) {
          depth++;
          i += 2;
        } else if (bytes[i] === 0x2a && bytes[i + 1] === 0x2f) {
          depth--;
          i += 2;
        } else i++;
      } while (i < to && depth > 0);
    } else break;
  }
  return i;
}
