/**
 * The handlers' ports over an environment object: settings (read per invocation), database
 * sessions (a connector per connection settings, sharing one secret cache), the migrations folder.
 * The Lambda entries call it once at cold start with process.env; the local executor with its own
 * object. AWS control-plane ports (RDS, CloudWatch, HTTP) are added by whoever calls it.
 */
import { secretsManagerFetcher } from '../../adapters/aws-clients';
import { connectionSettingsFromEnv, DatabaseConnector } from '../../adapters/connection';
import { loadMigrations } from '../../adapters/fs-source';
import { SecretCache } from '../../adapters/secrets';
import type { HandlerDeps, Sessions } from '../ports';
import { handlerConfig } from './config';

export function environmentDeps(env: NodeJS.ProcessEnv, observability: Pick<HandlerDeps, 'logger' | 'metric' | 'annotate'>): HandlerDeps {
  const secrets = new SecretCache(secretsManagerFetcher());
  // Keyed by the settings, so a changed environment (tests, a local rehearsal) never reuses a stale one.
  const connectors = new Map<string, DatabaseConnector>();
  const sessions = (): Sessions => {
    const settings = connectionSettingsFromEnv(env);
    const key = JSON.stringify(settings);
    let found = connectors.get(key);
    if (!found) {
      found = new DatabaseConnector(settings, secrets);
      connectors.set(key, found);
    }
    return found;
  };
  return { config: () => handlerConfig(env), sessions, migrations: loadMigrations, ...observability };
}
