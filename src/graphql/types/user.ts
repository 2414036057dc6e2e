// Users: the `User` node, `viewer`, and the admin-only `createUser` mutation.
import { type Actor, PORTAL_ACTOR_ID } from '../../domain/actor';
import type { User as UserRow } from '../../generated/prisma/client';
import { builder, UserError, type UserErrorsPayload } from '../builder';

interface CreateUserPayload extends UserErrorsPayload {
  user?: UserRow;
  token?: string;
}

export const User = builder.prismaNode('User', {
  id: { field: 'id' },
  nullable: true,
  // A node lookup is not a way around the rules: users may refetch themselves, admins anyone.
  findUnique: (id, context) => ({
    id: Number.parseInt(id, 10) || -1,
    ...(context.actor?.isAdmin ? {} : { AND: [{ id: context.actor?.id ?? -1 }] }),
  }),
  fields: (t) => ({
    databaseId: t.exposeInt('id'),
    username: t.exposeString('username'),
    isAdmin: t.exposeBoolean('isAdmin'),
  }),
});

builder.queryField('viewer', (t) =>
  t.prismaField({
    type: 'User',
    nullable: true,
    description: 'The user the API token belongs to. A portal session is a non-admin named for its namespace (databaseId 0: no stored user).',
    resolve: (query, _root, _args, context) => {
      if (context.actor?.id === PORTAL_ACTOR_ID) return portalViewer(context.actor);
      return context.prisma.user.findUnique({ ...query, where: { id: context.actor?.id ?? -1 } });
    },
  }),
);

/** A portal session acts as its namespace (domain/portal.ts); no row backs it, so it is built here. */
function portalViewer(actor: Actor): UserRow {
  const epoch = new Date(0);
  return { id: PORTAL_ACTOR_ID, username: actor.username, isAdmin: false, createdAt: epoch, updatedAt: epoch };
}

builder.relayMutationField(
  'createUser',
  {
    inputFields: (t) => ({
      username: t.string({ required: true, validate: { maxLength: 255, minLength: 1 } }),
      isAdmin: t.boolean({ required: false }),
    }),
  },
  {
    description: 'Creates a user and its first API token (administrators only).',
    authScopes: { admin: true },
    resolve: async (_root, { input }, context): Promise<CreateUserPayload> => {
      const { user, token } = await context.services.users.createUser(context.actor!, {
        username: input.username,
        isAdmin: input.isAdmin ?? false,
      });
      return { user, token, userErrors: [] };
    },
  },
  {
    outputFields: (t) => ({
      user: t.field({ type: User, nullable: true, resolve: (payload) => payload.user ?? null }),
      token: t.string({
        nullable: true,
        description: 'The new API token. Shown once: only its hash is stored.',
        resolve: (payload) => payload.token ?? null,
      }),
      userErrors: t.field({ type: [UserError], resolve: (payload) => payload.userErrors ?? [] }),
    }),
  },
);
