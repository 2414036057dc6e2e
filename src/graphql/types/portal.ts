// Portal links: `createPortalSession` (admins) returns a console URL signed in as one namespace.
import { PORTAL_TTL_MINUTES } from '../../domain/portal';
import { builder, UserError, type UserErrorsPayload } from '../builder';

interface PortalSessionPayload extends UserErrorsPayload {
  url?: string;
  expiresAt?: Date;
}

/** The console reads the token from the fragment, which browsers never send to a server or log. */
export const CONSOLE_PORTAL_PATH = '/console#portal=';

builder.relayMutationField(
  'createPortalSession',
  {
    inputFields: (t) => ({
      namespace: t.string({ required: true, validate: { minLength: 1, maxLength: 255 } }),
      ttlMinutes: t.int({ required: false, description: `Default ${PORTAL_TTL_MINUTES.default}, at most ${PORTAL_TTL_MINUTES.max}.` }),
    }),
  },
  {
    description: 'Creates a console link that acts as a non-admin of one namespace until it expires (administrators only).',
    authScopes: { admin: true },
    resolve: async (_root, { input }, context): Promise<PortalSessionPayload> => {
      const session = await context.services.portal.create(context.actor!, { namespace: input.namespace, ttlMinutes: input.ttlMinutes });
      return { url: `${context.origin}${CONSOLE_PORTAL_PATH}${session.token}`, expiresAt: session.expiresAt, userErrors: [] };
    },
  },
  {
    outputFields: (t) => ({
      url: t.string({ nullable: true, description: "Absolute: this server's console with the session in its fragment.", resolve: (p) => p.url ?? null }),
      expiresAt: t.field({ type: 'DateTime', nullable: true, resolve: (p) => p.expiresAt ?? null }),
      userErrors: t.field({ type: [UserError], resolve: (p) => p.userErrors ?? [] }),
    }),
  },
);
