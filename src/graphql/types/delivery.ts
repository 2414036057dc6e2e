// Deliveries: the `Delivery` node and its attempts, the `delivery` query, the operations of the
// delivery engine (`testHook`, `redeliver`, `publishEvent`) and the `deliveryUpdated` subscription.
// Reads go through Prisma, limited to deliveries of hooks the caller may see; everything that
// sends or records goes through `services.deliveries`, which enforces its own rules.
import { GraphQLError } from 'graphql';
import { DatabaseUnavailableError } from '../../db/unavailable';
import type { DeliveryOperations, SubscribedUpdate } from '../../domain/delivery-operations';
import { LIMITS } from '../../domain/limits';
import type { Delivery as DeliveryRow } from '../../generated/prisma/client';
import { type BuilderTypes, builder, UserError, type UserErrorsPayload } from '../builder';
import type { GraphQLContext } from '../context';
import { parseChangeCursor } from '../delivery-cursors';
import { decodeId, tryDecodeId } from '../errors';
import { DeliveryStatusEnum, SubjectTypeEnum } from './enums';

/** Deliveries of hooks the caller may see. */
function visibleDeliveries(context: GraphQLContext) {
  return { hook: { is: context.services.hooks.visibleWhere(context.actor!) } };
}

function deliveryEngine(context: GraphQLContext): DeliveryOperations {
  return context.services.deliveries;
}

// The event's name and payload live on the event row; Pothos merges the two selections into one
// relation load when both are asked for, and a page of names never loads the payloads.
const eventName = { event: { select: { name: true } } } as const;
const eventPayload = { event: { select: { payload: true } } } as const;

export const Delivery = builder.prismaNode('Delivery', {
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, context) => ({
    id: Number.parseInt(id, 10) || -1,
    AND: [context.actor ? visibleDeliveries(context) : { id: -1 }],
  }),
  fields: (t) => ({
    databaseId: t.exposeInt('id'),
    webhookId: t.exposeString('uuid', { description: 'The `webhook-id` header, the same on every attempt.' }),
    hook: t.relation('hook'),
    event: t.string({ select: eventName, resolve: (delivery) => delivery.event.name }),
    status: t.expose('status', { type: DeliveryStatusEnum }),
    payload: t.field({ type: 'JSON', select: eventPayload, resolve: (delivery) => delivery.event.payload }),
    attemptCount: t.exposeInt('attemptCount'),
    nextAttemptAt: t.expose('nextAttemptAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    attempts: t.relation('attempts', { description: 'Oldest first.', query: { orderBy: [{ startedAt: 'asc' }, { id: 'asc' }] } }),
  }),
});

builder.prismaObject('DeliveryAttempt', {
  // Select mode: only the columns asked for (a response body is up to 64 KiB).
  select: { id: true },
  fields: (t) => ({
    startedAt: t.expose('startedAt', { type: 'DateTime' }),
    durationMs: t.exposeInt('durationMs'),
    responseStatus: t.exposeInt('responseStatus', { nullable: true }),
    responseBody: t.exposeString('responseBody', { nullable: true, description: 'Truncated to 64 KiB.' }),
    error: t.exposeString('error', { nullable: true }),
  }),
});

export const DeliveryConnection = builder.connectionObject(
  {
    type: Delivery,
    name: 'DeliveryConnection',
    fields: (t) => ({
      totalCount: t.int({
        resolve: (connection) => {
          // plugin-prisma puts the count (or a loader for it) on the connection object.
          const { totalCount } = connection as { totalCount?: number | (() => number | Promise<number>) };
          return typeof totalCount === 'function' ? totalCount() : (totalCount ?? 0);
        },
      }),
    }),
  },
  { name: 'DeliveryEdge' },
);

builder.queryField('delivery', (t) =>
  t.prismaField({
    type: 'Delivery',
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, context) =>
      context.prisma.delivery.findFirst({
        ...query,
        where: { id: tryDecodeId(String(args.id), 'Delivery') ?? 0, ...visibleDeliveries(context) },
      }),
  }),
);

interface DeliveryPayload extends UserErrorsPayload {
  delivery?: DeliveryRow;
}

builder.relayMutationField(
  'testHook',
  {
    inputFields: (t) => ({
      id: t.id({ required: true }),
      event: t.string({
        required: false,
        description: 'Subject hooks: which of its events to send a sample of.',
        validate: { maxLength: LIMITS.eventNameLength },
      }),
    }),
  },
  {
    description: 'Sends the hook a sample event right away and records it as a delivery.',
    resolve: async (_root, { input }, context): Promise<DeliveryPayload> => {
      const engine = deliveryEngine(context);
      const id = decodeId(String(input.id), 'Hook', ['input', 'id']);
      const delivery = await engine.testHook(context.actor!, id, input.event ? { event: input.event } : {});
      return { delivery, userErrors: [] };
    },
  },
  { outputFields: (t) => deliveryPayloadFields(t) },
);

builder.relayMutationField(
  'redeliver',
  { inputFields: (t) => ({ deliveryId: t.id({ required: true }) }) },
  {
    description: 'Makes a new attempt of a delivery, with the same `webhook-id`.',
    resolve: async (_root, { input }, context): Promise<DeliveryPayload> => {
      const engine = deliveryEngine(context);
      const id = decodeId(String(input.deliveryId), 'Delivery', ['input', 'deliveryId']);
      return { delivery: await engine.redeliver(context.actor!, id), userErrors: [] };
    },
  },
  { outputFields: (t) => deliveryPayloadFields(t) },
);

builder.relayMutationField(
  'publishEvent',
  {
    inputFields: (t) => ({
      event: t.string({
        required: true,
        description: '`build:complete`, `push`, `project_create`, …',
        validate: { minLength: 1, maxLength: LIMITS.eventNameLength },
      }),
      subjectType: t.field({ type: SubjectTypeEnum, required: false }),
      subject: t.string({ required: false, validate: { maxLength: LIMITS.subjectLength } }),
      ref: t.string({
        required: false,
        description: 'Git ref for push-like events, matched against branch filters.',
        validate: { maxLength: LIMITS.refLength },
      }),
      payload: t.field({
        type: 'JSON',
        required: true,
        validate: { refine: [(value) => typeof value === 'object' && value !== null && !Array.isArray(value), { message: 'must be a JSON object' }] },
      }),
      idempotencyKey: t.string({
        required: false,
        description:
          'Within 24 h, a repeat with the same key answers with the same deliveries and sends nothing; the same key with another request is a CONFLICT.',
      }),
    }),
  },
  {
    description: 'Publishes an event: one delivery per matching active hook (administrators only).',
    authScopes: { admin: true },
    resolve: async (_root, { input }, context): Promise<UserErrorsPayload & { deliveries?: DeliveryRow[] }> => {
      const engine = deliveryEngine(context);
      const result = await engine.publish(context.actor!, {
        event: input.event,
        subjectType: input.subjectType,
        subject: input.subject,
        ref: input.ref,
        payload: input.payload,
        idempotencyKey: input.idempotencyKey,
      });
      return { deliveries: result.deliveries, userErrors: [] };
    },
  },
  {
    outputFields: (t) => ({
      deliveries: t.field({ type: [Delivery], nullable: true, resolve: (payload) => payload.deliveries ?? null }),
      userErrors: t.field({ type: [UserError], resolve: (payload) => payload.userErrors ?? [] }),
    }),
  },
);

builder.subscriptionField('deliveryUpdated', (t) =>
  t.prismaField({
    type: 'Delivery',
    description: 'A delivery was created or changed state, on any Hookgate process sharing the database. Over SSE.',
    args: {
      hookId: t.arg.id({ required: false, description: "Only this hook's deliveries." }),
      after: t.arg.string({ required: false, description: 'A `Delivery.updateCursor`: first every change since it (catch-up), then live ones.' }),
    },
    subscribe: (_root, args, context) => {
      const engine = deliveryEngine(context);
      const hookId = args.hookId == null ? null : decodeId(String(args.hookId), 'Hook', ['hookId']);
      return engine.subscribe(context.actor!, hookId, context.signal, parseChangeCursor(args.after));
    },
    resolve: async (query, update, _args, context) => {
      const { deliveryId, read, delivered } = update as SubscribedUpdate;
      try {
        const delivery = await read(() => context.prisma.delivery.findFirstOrThrow({ ...query, where: { id: deliveryId, ...visibleDeliveries(context) } }));
        delivered?.(delivery.updatedAt);
        return delivery;
      } catch (error) {
        // Once per outage per subscriber; the stream then pauses until the database answers.
        if (error instanceof DatabaseUnavailableError) throw new GraphQLError(error.message, { extensions: { code: 'SERVICE_UNAVAILABLE' } });
        throw error;
      }
    },
  }),
);

function deliveryPayloadFields(t: PothosSchemaTypes.ObjectFieldBuilder<BuilderTypes, DeliveryPayload>) {
  return {
    delivery: t.field({ type: Delivery, nullable: true, resolve: (payload) => payload.delivery ?? null }),
    userErrors: t.field({ type: [UserError], resolve: (payload) => payload.userErrors ?? [] }),
  };
}
