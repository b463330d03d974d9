/** The verify step's contract: post-deploy checks and the alarm look, their events and results. */
import { z } from 'zod';
import { executionNameSchema } from './shared';

export const verifyEventSchema = z.strictObject({
  mode: z.literal('verify'),
  executionName: executionNameSchema.optional(),
  /**
   * When this deploy started (ISO, e.g. `$$.Execution.StartTime`): migrations finished since then
   * are "this deploy" for the NOT VALID check and verify.sql. Default: the last 24 hours.
   */
  since: z.iso.datetime({ offset: true }).optional(),
});
export const alarmsEventSchema = z.strictObject({
  mode: z.literal('alarms'),
  executionName: executionNameSchema.optional(),
  /** Default: the function's ALARM_NAMES. */
  alarmNames: z.array(z.string().min(1).max(255)).max(100).optional(),
});
export const verifyHandlerEventSchema = z.discriminatedUnion('mode', [verifyEventSchema, alarmsEventSchema]);
export type VerifyEvent = z.infer<typeof verifyEventSchema>;
export type AlarmsEvent = z.infer<typeof alarmsEventSchema>;
export type VerifyHandlerEvent = z.infer<typeof verifyHandlerEventSchema>;

export interface VerifyCheck {
  readonly name: 'status-clean' | 'no-invalid-indexes' | 'no-not-valid-constraints' | 'verify-sql' | 'health-url';
  readonly ok: boolean;
  readonly detail: string;
}
/** Returned only when every check passed; otherwise VerificationFailedError names the failed checks. */
export interface VerifyResult {
  readonly mode: 'verify';
  readonly ok: true;
  readonly checks: VerifyCheck[];
  /** The alarms the monitoring loop watches (function's ALARM_NAMES). */
  readonly alarmNames: string[];
}
export interface AlarmsResult {
  readonly mode: 'alarms';
  readonly state: 'OK' | 'ALARM';
  readonly firing: { readonly name: string; readonly reason: string; readonly since: string | null }[];
  /** Configured alarms CloudWatch does not know (treated as not firing, reported). */
  readonly missing: string[];
}
export type VerifyHandlerResult = VerifyResult | AlarmsResult;
