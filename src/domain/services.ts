// The domain's front door: every transport (GraphQL, REST) and the delivery engine call these.
import type { PrismaClient } from '../generated/prisma/client';
import type { DeliveryOperations } from './delivery-operations';
import { DeliverySearch } from './delivery-search';
import type { HookCache } from './hook-cache';
import { HookService, allowAllUrls, type HookRecord, type UrlPolicy } from './hooks';
import type { HookLimits } from './limits';
import { PortalService } from './portal';
import { UserService } from './users';

export interface Services {
  readonly users: UserService;
  readonly hooks: HookService;
  readonly deliveries: DeliveryOperations;
  /** Deliveries across hooks, as far as the actor may see them (reads only). */
  readonly deliverySearch: DeliverySearch;
  readonly portal: PortalService;
}

export interface ServiceOptions {
  urlPolicy?: UrlPolicy;
  /** Keeps hooks read by id in memory until the database announces a change (see hook-cache.ts). */
  hookCache?: HookCache<HookRecord>;
  /** Operator quotas (HOOKGATE_MAX_HOOKS_PER_NAMESPACE); the defaults otherwise. */
  limits?: HookLimits;
  /** Builds the delivery engine (src/delivery); it needs the hook service for access checks. */
  deliveries?: (hooks: HookService) => DeliveryOperations;
}

export function createServices(prisma: PrismaClient, options: ServiceOptions = {}): Services {
  const hooks = new HookService(prisma, options.urlPolicy ?? allowAllUrls, options.hookCache ?? null, options.limits);
  return {
    users: new UserService(prisma),
    hooks,
    deliveries: options.deliveries?.(hooks) ?? deliveriesNotConfigured,
    deliverySearch: new DeliverySearch(prisma, hooks),
    portal: new PortalService(prisma),
  };
}

/** For services built without an engine (unit tests of hooks and users): every call says so. */
const deliveriesNotConfigured: DeliveryOperations = new Proxy({} as DeliveryOperations, {
  get(_target, property) {
    return () => {
      throw new Error(`services.deliveries.${String(property)}: no delivery engine was configured (createServices(prisma, { deliveries }))`);
    };
  },
});
