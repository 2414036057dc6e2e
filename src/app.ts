// Composition root: database, migrations, services and the HTTP server, wired once.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config';
import { databaseTarget, openDatabase, type Database, type DatabaseTarget } from './db/database';
import { migrateDatabase } from './db/migrate';
import { HookCache } from './domain/hook-cache';
import type { HookRecord } from './domain/hooks';
import { createServices, type Services } from './domain/services';
import { DeliveryEngine } from './delivery/engine';
import { SsrfGuard } from './delivery/ssrf';
import { createGraphQL } from './graphql/yoga';
import { consoleHandler } from './http/console';
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
    let engine: DeliveryEngine | undefined;
    const hookCache = await HookCache.listening<HookRecord>(db.notifications);
    const services = createServices(db.prisma, {
      urlPolicy: guard,
      hookCache,
      deliveries: (hooks) => (engine = new DeliveryEngine({
        prisma: db.prisma,
        hooks,
        guard,
        settings: config,
        logger,
        notifications: db.kind === 'postgres' ? db.notifications : null,
        exclusiveDatabase: db.kind === 'pglite',
      })),
    });
    const deliveries = engine!;
    if (config.HOOKGATE_ADMIN_TOKEN) await services.users.bootstrapAdmin(config.HOOKGATE_ADMIN_TOKEN);

    const graphql = createGraphQL({ services, prisma: db.prisma, logger });
    const handlers: NodeHandler[] = [graphql.handler, consoleHandler({ frameAncestors: config.HOOKGATE_CONSOLE_FRAME_ANCESTORS }), ...restRoutes(services)];
    const server = createHttpServer({
      logger,
      metrics: createMetrics({ hookCache: () => hookCache.stats() }),
      checkHealth: () => db.checkHealth(),
      handlers,
    });

    let closing: Promise<void> | undefined;
    return {
      config, db, services, server, logger, deliveries,
      listen: async () => {
        await deliveries.start();
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
          await new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeIdleConnections();
          });
          await deliveries.stop();
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
