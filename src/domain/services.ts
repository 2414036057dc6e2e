// The domain's front door: every transport (GraphQL, REST) and the delivery engine call these.
import type { PrismaClient } from '../generated/prisma/client';
import type { DeliveryOperations } from './delivery-operations';
import { DeliverySearch } from './delivery-search';
import type { HookCache } from './hook-cache';
import { allowAllUrls, type HookRecord, HookService, type UrlPolicy } from './hooks';
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

export interface HookServiceOptions {
  urlPolicy?: UrlPolicy;
  /** Keeps hooks read by id in memory until the database announces a change (see hook-cache.ts). */
  hookCache?: HookCache<HookRecord>;
  /** Operator quotas (HOOKGATE_MAX_HOOKS_PER_NAMESPACE); the defaults otherwise. */
  limits?: HookLimits;
}

export interface ServiceOptions extends HookServiceOptions {
  /** The hook service, when it was built first (the delivery engine needs it for access checks). */
  hooks?: HookService;
  /** The delivery engine (src/delivery), built on `hooks` and handed in: the domain never builds it. */
  deliveries?: DeliveryOperations;
}

export function createHookService(prisma: PrismaClient, options: HookServiceOptions = {}): HookService {
  return new HookService(prisma, options.urlPolicy ?? allowAllUrls, options.hookCache ?? null, options.limits);
}

export function createServices(prisma: PrismaClient, options: ServiceOptions = {}): Services {
  const hooks = options.hooks ?? createHookService(prisma, options);
  return {
    users: new UserService(prisma),
    hooks,
    deliveries: options.deliveries ?? deliveriesNotConfigured,
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
