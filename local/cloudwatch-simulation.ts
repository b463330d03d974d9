/**
 * CloudWatch as the local executor answers it: the state machine's DescribeAlarms loop (its SDK
 * integration) and the handlers' own calls (preflight's free storage, verify's alarms) through the
 * real adapters. Alarms fire as the scenario's script says, by check number.
 */
import type { SdkCommand } from './handlers';
import { SimulatedServiceError } from './rds-simulation';

export interface ScriptedAlarms {
  /** Alarm names the environment watches (the verify function's ALARM_NAMES). */
  readonly names: string[];
  /** Alarms in ALARM at the n-th check (1-based) of the monitoring loop. @default none ever */
  readonly firingAt?: (check: number) => string[];
}

/** Free storage every instance reports locally: far more than any rehearsal's DDL needs. */
const FREE_BYTES = 500 * 1024 ** 3;

export class CloudWatchSimulation {
  /** Checks of the alarms by the state machine's monitoring loop so far. */
  alarmChecks = 0;

  constructor(private readonly alarms: ScriptedAlarms | undefined) {}

  /** `arn:aws:states:::aws-sdk:cloudwatch:describeAlarms` (the monitoring loop). */
  integration(params: Record<string, unknown>): Record<string, unknown> {
    this.alarmChecks += 1;
    const firing = this.firing(params.AlarmNames);
    const wanted = params.StateValue;
    const alarms = (this.alarms?.names ?? [])
      .filter((name) => (params.AlarmNames as string[] | undefined)?.includes(name) ?? true)
      .map((name) => ({ AlarmName: name, StateValue: firing.includes(name) ? 'ALARM' : 'OK', StateReason: firing.includes(name) ? 'Threshold Crossed (local script)' : 'OK' }))
      .filter((alarm) => wanted === undefined || alarm.StateValue === wanted);
    return { MetricAlarms: alarms, CompositeAlarms: [] };
  }

  /** The handlers' SDK commands (GetMetricStatistics, GetMetricData, DescribeAlarms). */
  sdkCommand(command: SdkCommand): Record<string, unknown> {
    const input = command.input;
    switch (command.constructor.name) {
      case 'GetMetricStatisticsCommand':
        return { Datapoints: [{ Timestamp: new Date(), Minimum: FREE_BYTES, Average: FREE_BYTES }] };
      case 'GetMetricDataCommand':
        return {
          MetricDataResults: ((input.MetricDataQueries as { Id?: string }[] | undefined) ?? []).map((q) => ({ Id: q.Id, Values: [FREE_BYTES], Timestamps: [new Date()], StatusCode: 'Complete' })),
        };
      case 'DescribeAlarmsCommand': {
        const names = (input.AlarmNames as string[] | undefined) ?? this.alarms?.names ?? [];
        const firing = this.firing(names);
        return {
          MetricAlarms: names
            .filter((name) => (this.alarms?.names ?? []).includes(name))
            .map((name) => ({ AlarmName: name, StateValue: firing.includes(name) ? 'ALARM' : 'OK', StateReason: 'local script', StateUpdatedTimestamp: new Date() })),
          CompositeAlarms: [],
        };
      }
      default:
        throw new SimulatedServiceError('CloudWatch.InvalidAction', `the local executor does not implement ${command.constructor.name}`);
    }
  }

  private firing(requested: unknown): string[] {
    const names = Array.isArray(requested) ? (requested as string[]) : (this.alarms?.names ?? []);
    return (this.alarms?.firingAt?.(this.alarmChecks) ?? []).filter((name) => names.includes(name));
  }
}
