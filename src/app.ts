// Composition root: database, migrations, services and the HTTP server, wired once.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config';
import { type Database, type DatabaseTarget, databaseTarget, openDatabase } from './db/database';
import { migrateDatabase } from './db/migrate';
import { DeliveryEngine } from './delivery/engine';
import { boundedLogSizes, measureLogTables } from './delivery/log-size';
import { RetentionTask } from './delivery/retention';
import { SsrfGuard } from './delivery/ssrf';
import { HookCache } from './domain/hook-cache';
import type { HookRecord } from './domain/hooks';
import { createHookService, createServices, type Services } from './domain/services';
import { attachGraphQLWebSocket } from './graphql/websocket';
import { createGraphQL } from './graphql/yoga';
import { consoleHandler } from './http/console';
import { restCors } from './http/cors';
import { trackEventStreams } from './http/event-streams';
import { createMetrics } from './http/metrics';
import { createHttpServer, type NodeHandler } from './http/server';
import { createLogger, type Logger } from './logger';
import { restRoutes } from './rest';

export interface App {
  readonly config: Config;
  readonly db: Database;
  readonly services: Services;
  readonly server: Server;
  readonly logger: Logger;
  readonly deliveries: DeliveryEngine;
  /** The delivery log's retention (started by `listen`). */
  readonly retention: RetentionTask;
  /** Starts the delivery workers and listening; resolves to the base URL (`http://127.0.0.1:4000`). */
  listen(): Promise<string>;
  /** Stops accepting requests, finishes in-flight ones, drains the delivery workers, closes the database. */
  close(): Promise<void>;
}

export interface AppOptions {
  /** Overrides the database chosen by the config (tests start PGlite from a migrated template). */
  databaseTarget?: DatabaseTarget;
}

export async function createApp(config: Config, logger: Logger = createLogger(config.LOG_LEVEL), options: AppOptions = {}): Promise<App> {
  const db = await openDatabase(options.databaseTarget ?? databaseTarget(config), logger);
  try {
    const applied = await migrateDatabase(db);
    if (applied.length > 0) logger.info({ migrations: applied }, 'applied database migrations');
    const guard = new SsrfGuard({ allowLocalRequests: config.HOOKGATE_ALLOW_LOCAL_REQUESTS, allowlist: config.HOOKGATE_OUTBOUND_ALLOWLIST });
    const hookCache = await HookCache.listening<HookRecord>(db.notifications);
    // Built in order, each on the last: hook rules, then the engine carrying them out, then the
    // services the transports call.
    const hooks = createHookService(db.prisma, { urlPolicy: guard, hookCache, limits: { maxHooksPerNamespace: config.HOOKGATE_MAX_HOOKS_PER_NAMESPACE } });
    const deliveries = new DeliveryEngine({
      prisma: db.prisma,
      hooks,
      guard,
      settings: config,
      logger,
      notifications: db.kind === 'postgres' ? db.notifications : null,
      exclusiveDatabase: db.kind === 'pglite',
    });
    const services = createServices(db.prisma, { hooks, deliveries });
    const retention = new RetentionTask({
      prisma: db.prisma,
      tryWithLock: (key, fn) => db.tryWithLock(key, fn),
      logger,
      retentionMs: config.HOOKGATE_LOG_RETENTION,
      intervalMs: config.HOOKGATE_RETENTION_INTERVAL,
      batchSize: config.HOOKGATE_RETENTION_BATCH_SIZE,
      vacuum: db.kind === 'pglite',
    });
    if (config.HOOKGATE_ADMIN_TOKEN) await services.users.bootstrapAdmin(config.HOOKGATE_ADMIN_TOKEN);

    const graphql = createGraphQL({
      services,
      prisma: db.prisma,
      logger,
      corsOrigins: config.HOOKGATE_CORS_ORIGINS,
      persistedOnly: config.HOOKGATE_GRAPHQL_PERSISTED_ONLY,
    });
    const eventStreams = trackEventStreams(graphql.handler);
    const cors = restCors(config.HOOKGATE_CORS_ORIGINS);
    const handlers: NodeHandler[] = [
      eventStreams.handler,
      ...(cors ? [cors] : []),
      consoleHandler({ frameAncestors: config.HOOKGATE_CONSOLE_FRAME_ANCESTORS }),
      ...restRoutes(services),
    ];
    const server = createHttpServer({
      logger,
      metrics: createMetrics({
        hookCache: () => hookCache.stats(),
        log: { tables: boundedLogSizes(() => measureLogTables(db.prisma, retention.tables), 1_000), lastRetentionRun: () => retention.lastRun },
      }),
      checkHealth: () => db.checkHealth(),
      handlers,
    });
    const graphqlWebSocket = attachGraphQLWebSocket(server, { yoga: graphql.yoga, services, prisma: db.prisma, logger, persisted: graphql.persisted });

    let closing: Promise<void> | undefined;
    return {
      config,
      db,
      services,
      server,
      logger,
      deliveries,
      retention,
      listen: async () => {
        await deliveries.start();
        retention.start();
        return new Promise<string>((resolve, reject) => {
          server.once('error', reject);
          server.listen(config.PORT, config.HOST, () => {
            server.off('error', reject);
            const { address, port } = server.address() as AddressInfo;
            resolve(`http://${address.includes(':') ? `[${address}]` : address}:${port}`);
          });
        });
      },
      close: () => {
        closing ??= (async () => {
          // Upgraded sockets are not the HTTP server's to finish: close them (1001) or it waits on them.
          const webSockets = graphqlWebSocket.close();
          await new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeIdleConnections();
            eventStreams.closeAll();
          });
          await webSockets;
          await Promise.all([deliveries.stop(), retention.stop()]);
          await db.close();
        })();
        return closing;
      },
    };
  } catch (error) {
    await db.close().catch(() => {});
    throw error;
  }
}
