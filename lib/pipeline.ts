/**
 * CodePipeline: the stage action that runs the migrations after the application's own deploy.
 * A STANDARD state machine makes the stage wait for the execution and fail on FAILED, TIMED_OUT or
 * ABORTED (CodePipeline does not wait for Express workflows).
 */
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { MigrationRunner } from './migration-runner';

export interface MigrationStageActionProps {
  /** The runner (or its state machine) of the environment this stage deploys to. */
  readonly runner: MigrationRunner | sfn.IStateMachine;
  /**
   * Name of the action in the stage.
   * @default 'Migrate'
   */
  readonly actionName?: string;
  /**
   * Execution input, sent literally (see the execution input JSON Schema).
   * @default { action: 'deploy' }
   */
  readonly input?: { readonly action: string } & Record<string, unknown>;
  /**
   * Read the execution input from a file of an artifact instead (for example one written by the
   * build with this release's `approve` list). Mutually exclusive with `input`.
   * @default - the literal `input`
   */
  readonly inputFile?: codepipeline.ArtifactPath;
  /**
   * Prefix of the execution names (the pipeline's action execution id follows it).
   * @default 'pipeline'
   */
  readonly executionNamePrefix?: string;
  /**
   * Run order inside the stage (after the application's deploy action).
   * @default 1
   */
  readonly runOrder?: number;
  /**
   * Artifact receiving the execution's output.
   * @default - no output artifact
   */
  readonly output?: codepipeline.Artifact;
}

/** The StepFunctionInvokeAction that starts a migration execution and waits for its outcome. */
export function migrationStageAction(props: MigrationStageActionProps): actions.StepFunctionInvokeAction {
  if (props.input !== undefined && props.inputFile !== undefined) throw new Error('migrationStageAction: pass input or inputFile, not both');
  const input = props.input ?? { action: 'deploy' };
  if (props.inputFile === undefined && (typeof input.action !== 'string' || input.action.length === 0)) {
    throw new Error('migrationStageAction: input.action is required (deploy, status, ...)');
  }
  const executionNamePrefix = props.executionNamePrefix ?? 'pipeline';
  // Step Functions execution names: 80 characters; the action execution id (36) follows "<prefix>-".
  if (!/^[A-Za-z0-9_-]{1,43}$/.test(executionNamePrefix)) {
    throw new Error('migrationStageAction: executionNamePrefix must be 1-43 letters, digits, "-" or "_"');
  }
  const stateMachine = props.runner instanceof MigrationRunner ? props.runner.stateMachine : props.runner;
  return new actions.StepFunctionInvokeAction({
    actionName: props.actionName ?? 'Migrate',
    stateMachine,
    stateMachineInput: props.inputFile ? actions.StateMachineInput.filePath(props.inputFile) : actions.StateMachineInput.literal(input),
    executionNamePrefix,
    runOrder: props.runOrder ?? 1,
    output: props.output,
  });
}
