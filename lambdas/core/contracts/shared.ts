/**
 * What every step's contract shares: schemas of names, the caps that keep results small (Step
 * Functions caps a state's payload at 256 KB), the blocking-session shape, verdicts, and the event
 * parser whose errors name every offending field.
 */
import { z } from 'zod';
import { InputValidationError } from '../errors';

/** Step Functions execution names: 1-80 chars; we only log them and put them in application_name. */
export const executionNameSchema = z.string().min(1).max(80);
export const migrationNameSchema = z.string().min(1).max(255);
export const pidSchema = z.number().int().positive();

/** Caps that keep results far below 256 KB whatever the database holds. */
export const RESULT_LIMITS = {
  /** Names in pending / applied / remaining lists. */
  names: 500,
  /** Findings kept per migration in a preflight verdict. */
  findingsPerMigration: 10,
  /** Sessions in a blockers list, long transactions in health. */
  sessions: 50,
  /** Characters of any query text or message. */
  text: 300,
} as const;

/** A session in a lock conflict (the runbook's blocking-locks query, with durations). */
export interface BlockerSession {
  readonly pid: number;
  /** PIDs this session waits for (pg_blocking_pids); empty for a pure blocker. */
  readonly blockedBy: number[];
  /** true when at least one other session waits for this one. */
  readonly blocking: boolean;
  readonly user: string | null;
  readonly applicationName: string | null;
  /** pg_stat_activity.state: active, idle in transaction, ... */
  readonly state: string | null;
  readonly waitEventType: string | null;
  /** Seconds since the transaction began (null outside a transaction). */
  readonly transactionSeconds: number | null;
  /** Seconds since the current (or last) query began. */
  readonly querySeconds: number | null;
  /** Seconds in the current state (for a waiting session: how long it has waited). */
  readonly stateSeconds: number | null;
  /** The query text, trimmed to RESULT_LIMITS.text. Bind values never appear (pg shows $1). */
  readonly query: string | null;
}

export type Verdict = 'safe' | 'careful' | 'dangerous';

/**
 * Validates an event; the error names every offending field (`terminate[0]: ...`) and never
 * echoes values (an event may carry anything).
 */
export function parseEvent<S extends z.ZodType>(schema: S, raw: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const path = formatPath(issue.path);
    const keys = issue.code === 'unrecognized_keys' ? ` (${issue.keys.join(', ')})` : '';
    return `${path || '(event)'}: ${issue.message}${keys}`;
  });
  throw new InputValidationError(`invalid ${what} event: ${problems.join('; ')}`);
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((text, part) => (typeof part === 'number' ? `${text}[${part}]` : text ? `${text}.${String(part)}` : String(part)), '');
}

/** Trims a text to the result limit. */
export function clip(text: string | null | undefined, max: number = RESULT_LIMITS.text): string | null {
  if (text === null || text === undefined) return null;
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
