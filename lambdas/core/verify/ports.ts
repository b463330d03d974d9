/** What verify needs from outside the database: CloudWatch alarms and an HTTP health probe. */

export interface AlarmFacts {
  readonly name: string;
  readonly state: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
  readonly reason: string;
  readonly updatedAt: Date | null;
}

export interface AlarmsApi {
  /** The named alarms CloudWatch knows (metric and composite); unknown names are simply absent. */
  describeAlarms(names: readonly string[]): Promise<AlarmFacts[]>;
}

export interface HttpProbe {
  /** GETs the URL; resolves with the status code, rejects on network error or timeout. */
  get(url: string, timeoutMs: number): Promise<{ status: number }>;
}
