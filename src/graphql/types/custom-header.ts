// Custom headers: extra request headers every delivery of a hook carries. Values are write-only:
// `Hook.customHeaders` lists the keys, and a value is never even loaded for GraphQL.

import { LIMITS } from '../../domain/limits';
import { builder } from '../builder';
import { decodeId } from '../errors';
import { type HookPayload, hookPayloadFields } from './hook';

export const CustomHeader = builder.prismaObject('CustomHeader', {
  select: { key: true },
  fields: (t) => ({ key: t.exposeString('key') }),
});

builder.prismaObjectFields('Hook', (t) => ({
  customHeaders: t.relation('customHeaders', {
    description: 'Keys only: values are never readable.',
    query: { orderBy: { key: 'asc' } },
  }),
}));

builder.relayMutationField(
  'setCustomHeader',
  {
    inputFields: (t) => ({
      hookId: t.id({ required: true }),
      key: t.string({ required: true, validate: { maxLength: LIMITS.customHeaderKeyLength } }),
      value: t.string({ required: true, description: 'Write-only: never readable again.', validate: { maxLength: LIMITS.customHeaderValueLength } }),
    }),
  },
  {
    description: 'Sets (adds or replaces) one custom header of a hook; keys are case-insensitive, at most 20 per hook.',
    resolve: async (_root, { input }, context): Promise<HookPayload> => {
      const hookId = decodeId(String(input.hookId), 'Hook', ['input', 'hookId']);
      return { hook: await context.services.hooks.setCustomHeader(context.actor!, hookId, input.key, input.value), userErrors: [] };
    },
  },
  { outputFields: (t) => hookPayloadFields(t) },
);

builder.relayMutationField(
  'deleteCustomHeader',
  {
    inputFields: (t) => ({
      hookId: t.id({ required: true }),
      key: t.string({ required: true, validate: { maxLength: LIMITS.customHeaderKeyLength } }),
    }),
  },
  {
    resolve: async (_root, { input }, context): Promise<HookPayload> => {
      const hookId = decodeId(String(input.hookId), 'Hook', ['input', 'hookId']);
      return { hook: await context.services.hooks.deleteCustomHeader(context.actor!, hookId, input.key), userErrors: [] };
    },
  },
  { outputFields: (t) => hookPayloadFields(t) },
);
