// URL variables: `{key}` placeholders in a hook's URL, filled in at delivery time. Values are
// write-only (the `UrlVariable` type itself lives with `Hook`, which lists the keys).
import { builder } from '../builder';
import { decodeId } from '../errors';
import { type HookPayload, hookPayloadFields } from './hook';

builder.relayMutationField(
  'setUrlVariable',
  {
    inputFields: (t) => ({
      hookId: t.id({ required: true }),
      key: t.string({ required: true, validate: { maxLength: 255 } }),
      value: t.string({ required: true, description: 'Write-only: never readable again.', validate: { maxLength: 2048 } }),
    }),
  },
  {
    description: 'Sets (adds or replaces) one URL variable of a hook; at most 20 per hook.',
    resolve: async (_root, { input }, context): Promise<HookPayload> => {
      const hookId = decodeId(String(input.hookId), 'Hook', ['input', 'hookId']);
      return { hook: await context.services.hooks.setUrlVariable(context.actor!, hookId, input.key, input.value), userErrors: [] };
    },
  },
  { outputFields: (t) => hookPayloadFields(t) },
);

builder.relayMutationField(
  'deleteUrlVariable',
  {
    inputFields: (t) => ({
      hookId: t.id({ required: true }),
      key: t.string({ required: true, validate: { maxLength: 255 } }),
    }),
  },
  {
    resolve: async (_root, { input }, context): Promise<HookPayload> => {
      const hookId = decodeId(String(input.hookId), 'Hook', ['input', 'hookId']);
      return { hook: await context.services.hooks.deleteUrlVariable(context.actor!, hookId, input.key), userErrors: [] };
    },
  },
  { outputFields: (t) => hookPayloadFields(t) },
);
