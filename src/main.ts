// `npm start`: parse the environment, migrate, serve; shut down gracefully on SIGTERM/SIGINT.
import { createApp } from './app';
import { type Config, ConfigError, loadConfig } from './config';
import { createLogger } from './logger';

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`hookgate: ${error.message}\n`);
  process.exit(1);
}

const logger = createLogger(config.LOG_LEVEL);
try {
  const app = await createApp(config, logger);
  const url = await app.listen();
  logger.info({ url, database: app.db.kind }, `Hookgate listening on ${url} (GraphiQL at ${url}/graphql)`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    // A second signal, or a shutdown that hangs, ends the process anyway.
    setTimeout(() => process.exit(1), 30_000).unref();
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  logger.fatal({ err: error }, `Hookgate failed to start: ${message}`);
  process.exit(1);
}
