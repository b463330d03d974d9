/**
 * cdk-nag (AwsSolutions) on every synth: registered as a CDK validation plugin, so any finding
 * that is not acknowledged (Validations.of(scope).acknowledge, with a reason) fails the synth.
 */
import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';

export function addNagChecks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
}
