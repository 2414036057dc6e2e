// How a hook's deliveries are signed: the public key of an Ed25519 hook, the grace period of a
// rotation, GitLab's signing token, and `rotateHookSecret`. Secrets themselves are never readable,
// except the new one, once, in `rotateHookSecret`'s payload.

import { LIMITS } from '../../domain/limits';
import { signingPublicKey } from '../../domain/signing';
import { builder, UserError, type UserErrorsPayload } from '../builder';
import { decodeId } from '../errors';
import { Hook, type HookPayload } from './hook';

builder.prismaObjectFields('Hook', (t) => ({
  signingPublicKey: t.string({
    nullable: true,
    description: '`whpk_…`: the Ed25519 public key receivers verify `v1a` signatures with; null for HMAC-signed hooks.',
    resolve: (hook) => signingPublicKey(hook),
  }),
  previousSecretExpiresAt: t.expose('previousSecretExpiresAt', {
    type: 'DateTime',
    nullable: true,
    description: 'Until then, deliveries are also signed with the secret the last rotation replaced.',
  }),
  hasSigningToken: t.boolean({
    description: 'System hooks: whether a signing token (not the token) signs deliveries.',
    resolve: (hook) => Boolean(hook.signingToken),
  }),
}));

interface RotatePayload extends HookPayload {
  secret?: string;
}

builder.relayMutationField(
  'rotateHookSecret',
  {
    inputFields: (t) => ({
      id: t.id({ required: true }),
      secret: t.string({
        required: false,
        description: 'The new secret; absent: one is generated (`whsec_`, or `whsk_` for an Ed25519 hook).',
        validate: { maxLength: LIMITS.secretLength },
      }),
      graceHours: t.float({ required: false, description: 'How long the old secret keeps signing too (default 24, 0 to 168).' }),
    }),
  },
  {
    description: 'Replaces the signing secret without downtime: during the grace period `webhook-signature` holds both signatures, new first.',
    resolve: async (_root, { input }, context): Promise<RotatePayload> => {
      const id = decodeId(String(input.id), 'Hook', ['input', 'id']);
      const { hook, secret } = await context.services.hooks.rotateSecret(context.actor!, id, { secret: input.secret, graceHours: input.graceHours });
      return { hook, secret, userErrors: [] };
    },
  },
  {
    outputFields: (t) => ({
      hook: t.field({ type: Hook, nullable: true, resolve: (payload) => payload.hook ?? null }),
      secret: t.string({ nullable: true, description: 'The new secret: shown this once, never again.', resolve: (payload) => payload.secret ?? null }),
      userErrors: t.field({ type: [UserError], resolve: (payload: UserErrorsPayload) => payload.userErrors ?? [] }),
    }),
  },
);
