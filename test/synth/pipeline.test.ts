/** migrationStageAction in a pipeline: configuration, defaults, overrides, the role's permission. */
import { Template } from 'aws-cdk-lib/assertions';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { migrationStageAction, type MigrationStageActionProps } from '../../lib/pipeline';
import { buildRunner } from './helpers';

function pipelineWith(props: Omit<MigrationStageActionProps, 'runner'>) {
  const built = buildRunner();
  const source = new codepipeline.Artifact('Source');
  const bucket = new s3.Bucket(built.stack, 'Releases', { enforceSSL: true, versioned: true });
  new codepipeline.Pipeline(built.stack, 'Pipeline', {
    stages: [
      { stageName: 'Source', actions: [new actions.S3SourceAction({ actionName: 'Release', bucket, bucketKey: 'release.zip', output: source })] },
      { stageName: 'Production', actions: [migrationStageAction({ runner: built.runner, ...props, ...(props.inputFile ? { inputFile: source.atPath('migration-input.json') } : {}) })] },
    ],
  });
  return Template.fromStack(built.stack);
}

const stageActions = (template: Template) =>
  (Object.values(template.findResources('AWS::CodePipeline::Pipeline'))[0].Properties.Stages as { Name: string; Actions: Record<string, unknown>[] }[]).find((s) => s.Name === 'Production')!.Actions;

describe('migrationStageAction', () => {
  it('defaults: action Migrate, literal { action: deploy }, prefix pipeline, run order 1', () => {
    const template = pipelineWith({});
    expect(stageActions(template)).toEqual([
      expect.objectContaining({
        Name: 'Migrate',
        ActionTypeId: expect.objectContaining({ Category: 'Invoke', Provider: 'StepFunctions' }),
        RunOrder: 1,
        Configuration: expect.objectContaining({ InputType: 'Literal', Input: JSON.stringify({ action: 'deploy' }), ExecutionNamePrefix: 'pipeline', StateMachineArn: expect.anything() }),
      }),
    ]);
    // the pipeline's action role may start exactly this state machine
    const starts = Object.values(template.findResources('AWS::IAM::Policy'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[])
      .filter((st) => [st.Action].flat().includes('states:DescribeStateMachine'));
    expect(starts).toEqual([expect.objectContaining({ Action: ['states:DescribeStateMachine', 'states:StartExecution'], Resource: { Ref: expect.stringMatching(/^RunnerStateMachine/) } })]);
  });

  it('overrides: name, input with approvals, prefix, run order', () => {
    const input = { action: 'deploy', approve: ['20240125103000_drop_legacy_column'], monitorMinutes: 30 };
    const template = pipelineWith({ actionName: 'MigrateDatabase', input, executionNamePrefix: 'release', runOrder: 2 });
    expect(stageActions(template)[0]).toMatchObject({ Name: 'MigrateDatabase', RunOrder: 2, Configuration: { Input: JSON.stringify(input), ExecutionNamePrefix: 'release' } });
  });

  it('input from a file of the source artifact', () => {
    const template = pipelineWith({ inputFile: {} as never });
    expect(stageActions(template)[0]).toMatchObject({ Configuration: { InputType: 'FilePath', Input: 'Source::migration-input.json' }, InputArtifacts: [{ Name: 'Source' }] });
  });

  it('refuses an input without action and a bad prefix, naming the prop', () => {
    const { runner } = buildRunner();
    expect(() => migrationStageAction({ runner, input: { action: '' } })).toThrow(/input\.action/);
    expect(() => migrationStageAction({ runner, executionNamePrefix: 'has space' })).toThrow(/executionNamePrefix/);
  });
});
