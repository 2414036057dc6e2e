// The domain's front door: every transport (GraphQL, REST) and the delivery engine call these.
import type { PrismaClient } from '../generated/prisma/client';
import { HookService, allowAllUrls, type UrlPolicy } from './hooks';
import { UserService } from './users';

export interface Services {
  readonly users: UserService;
  readonly hooks: HookService;
}

export function createServices(prisma: PrismaClient, options: { urlPolicy?: UrlPolicy } = {}): Services {
  return {
    users: new UserService(prisma),
    hooks: new HookService(prisma, options.urlPolicy ?? allowAllUrls),
  };
}
