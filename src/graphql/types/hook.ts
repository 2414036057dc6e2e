// Hooks: the `Hook` node, the `hook`/`hooks` queries and the create/update/delete mutations.
// Visibility and every rule come from the domain's HookService; this file only translates.
import { encodeGlobalID } from '@pothos/plugin-relay';
import { NotFoundError } from '../../domain/errors';
import type { CreateHookInput as DomainCreateHookInput, UpdateHookInput as DomainUpdateHookInput, HookRecord } from '../../domain/hooks';
import { LIMITS } from '../../domain/limits';
import { type BuilderTypes, builder, PAGE_SIZE, pageComplexity, UserError, type UserErrorsPayload } from '../builder';
import type { GraphQLContext } from '../context';
import { decodeId, tryDecodeId } from '../errors';
import { hookDeliveries } from '../hook-deliveries';
import { Delivery, DeliveryConnection } from './delivery';
import { BranchFilterStrategyEnum, DeliveryStatusEnum, HookKindEnum, SignatureSchemeEnum, SubjectTypeEnum } from './enums';

/** The hooks the caller may see, as a Prisma filter owned by the domain. */
function visible(context: GraphQLContext) {
  return context.services.hooks.visibleWhere(context.actor!);
}

export const Hook = builder.prismaNode('Hook', {
  id: { field: 'id' },
  nullable: true,
  // `node(id:)` answers null for hooks the caller may not see, exactly like `hook(id:)`.
  findUnique: (id, context) => ({
    id: Number.parseInt(id, 10) || -1,
    AND: [context.actor ? context.services.hooks.visibleWhere(context.actor) : { id: -1 }],
  }),
  // Defence in depth: whatever path loaded a hook, the domain's access rule must accept it.
  authScopes: (hook) => ({ hookAccess: hook }),
  fields: (t) => ({
    databaseId: t.exposeInt('id', { description: 'The id used by the REST APIs.' }),
    kind: t.expose('kind', { type: HookKindEnum }),
    url: t.exposeString('url'),
    name: t.exposeString('name', { nullable: true }),
    description: t.exposeString('description', { nullable: true }),
    subjectType: t.expose('subjectType', { type: SubjectTypeEnum, nullable: true }),
    subject: t.exposeString('subject', { nullable: true }),
    events: t.exposeStringList('events', {
      description:
        'Subject hooks: `build:complete`, `image:push`, `job:succeed`, `job:fail`. System hooks: `push`, `tag_push`, `merge_request`, `repository_update`.',
    }),
    isActive: t.exposeBoolean('isActive'),
    hasSecret: t.boolean({
      description: 'Whether deliveries are signed. The secret itself is write-only.',
      resolve: (hook) => hook.secret !== null && hook.secret !== '',
    }),
    enableSslVerification: t.exposeBoolean('enableSslVerification'),
    pushEventsBranchFilter: t.exposeString('pushEventsBranchFilter', { nullable: true }),
    branchFilterStrategy: t.expose('branchFilterStrategy', { type: BranchFilterStrategyEnum }),
    urlVariables: t.relation('urlVariables', {
      description: 'Keys only: values are never readable.',
      query: { orderBy: { key: 'asc' } },
    }),
    alertStatus: t.string({
      description: '`executable`, `temporarily_disabled` or `disabled` (as in the system hooks REST API).',
      resolve: (hook) => hook.alertStatus.toLowerCase(),
    }),
    disabledUntil: t.expose('disabledUntil', { type: 'DateTime', nullable: true }),
    createdBy: t.relation('createdBy', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    deliveries: t.connection(
      {
        type: Delivery,
        description: 'Newest first.',
        args: { status: t.arg({ type: DeliveryStatusEnum, required: false }) },
        complexity: pageComplexity,
        resolve: (hook, args, context, info) => hookDeliveries(context, info, hook.id, args),
      },
      DeliveryConnection,
    ),
  }),
});

/** The key lists a `HookRecord` holds (keys only, ordered by key), which Pothos plans with the owner's id. */
const CACHED_KEY_LISTS = new Set(['urlVariables', 'customHeaders']);

/** Whether the domain's `HookRecord` (all columns, key lists) answers a planned `hook(id)` query. */
function cachedHookAnswers(query: { select?: unknown; include?: Record<string, unknown> }): boolean {
  if (query.select) return false;
  for (const [relation, planned] of Object.entries(query.include ?? {})) {
    if (!CACHED_KEY_LISTS.has(relation) || typeof planned !== 'object' || planned === null) return false;
    const { select = {}, orderBy, ...rest } = planned as { select?: Record<string, unknown>; orderBy?: unknown };
    if (Object.keys(rest).length > 0 || JSON.stringify(orderBy) !== '{"key":"asc"}') return false;
    if (Object.keys(select).some((column) => column !== 'key' && column !== 'hookId')) return false;
  }
  return true;
}

/** `hook(id)` through `HookService.get` (the hook cache): the same visibility rule, null when hidden. */
async function cachedHook(context: GraphQLContext, id: number) {
  let hook: HookRecord;
  try {
    hook = await context.services.hooks.get(context.actor!, id);
  } catch (error) {
    if (error instanceof NotFoundError) return null;
    throw error;
  }
  // The cached copy is shared: the key lists gain their owner's id (Pothos' row key) in new arrays.
  const owned = ({ key }: { key: string }) => ({ hookId: hook.id, key });
  return { ...hook, urlVariables: hook.urlVariables.map(owned), customHeaders: hook.customHeaders.map(owned) };
}

export const UrlVariable = builder.prismaObject('UrlVariable', {
  // Select mode: a variable's value is never even loaded for GraphQL.
  select: { key: true },
  fields: (t) => ({ key: t.exposeString('key') }),
});

const HookFilter = builder.inputType('HookFilter', {
  fields: (t) => ({
    kind: t.field({ type: HookKindEnum, required: false }),
    subjectType: t.field({ type: SubjectTypeEnum, required: false }),
    subject: t.string({ required: false }),
    isActive: t.boolean({ required: false }),
  }),
});

builder.queryFields((t) => ({
  hook: t.prismaField({
    type: 'Hook',
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _root, args, context) => {
      // The domain's cached copy, as REST reads it, when it holds everything the operation asks for.
      const cached = cachedHookAnswers(query);
      // An id that is not a Hook's matches nothing: null, like a hidden hook.
      const id = tryDecodeId(String(args.id), 'Hook');
      if (id === null) return null;
      if (cached) return cachedHook(context, id);
      return context.prisma.hook.findFirst({ ...query, where: { id, AND: [visible(context)] } });
    },
  }),
  hooks: t.prismaConnection(
    {
      type: 'Hook',
      cursor: 'id',
      maxSize: PAGE_SIZE.max,
      description: 'The hooks the caller may see, oldest first (at most 100 a page).',
      args: { filter: t.arg({ type: HookFilter, required: false }) },
      complexity: pageComplexity,
      totalCount: (_connection, args, context) => context.prisma.hook.count({ where: context.services.hooks.listWhere(context.actor!, args.filter ?? {}) }),
      resolve: (query, _root, args, context) =>
        context.prisma.hook.findMany({
          ...query,
          where: context.services.hooks.listWhere(context.actor!, args.filter ?? {}),
          orderBy: { id: 'asc' },
        }),
    },
    { name: 'HookConnection' },
    { name: 'HookEdge' },
  ),
}));

export interface HookPayload extends UserErrorsPayload {
  hook?: HookRecord;
}

const TEXT = {
  url: LIMITS.urlLength,
  name: LIMITS.nameLength,
  description: LIMITS.descriptionLength,
  secret: LIMITS.secretLength,
  subject: LIMITS.subjectLength,
  filter: LIMITS.branchFilterLength,
} as const;

const CustomHeaderInput = builder.inputType('CustomHeaderInput', {
  fields: (t) => ({
    key: t.string({ required: true, validate: { maxLength: LIMITS.customHeaderKeyLength } }),
    value: t.string({ required: true, description: 'Write-only: never readable again.', validate: { maxLength: LIMITS.customHeaderValueLength } }),
  }),
});

/** The optional fields `CreateHookInput` and `UpdateHookInput` share (the `Hook` field names). */
function optionalHookInputFields(t: PothosSchemaTypes.InputFieldBuilder<BuilderTypes, 'InputObject'>) {
  return {
    name: t.string({ required: false, validate: { maxLength: TEXT.name } }),
    description: t.string({ required: false, validate: { maxLength: TEXT.description } }),
    events: t.stringList({ required: false, validate: { maxLength: LIMITS.eventsPerHook, items: { maxLength: LIMITS.eventNameLength } } }),
    secret: t.string({
      required: false,
      description: 'Signing secret (the system hooks API calls it `token`). Write-only; null removes it.',
      validate: { maxLength: TEXT.secret },
    }),
    signatureScheme: t.field({
      type: SignatureSchemeEnum,
      required: false,
      description: 'ED25519 with no secret (system hooks: no signingToken) generates a key pair.',
    }),
    signingToken: t.string({
      required: false,
      description: 'System hooks: signs deliveries instead of the token (`whsec_` of 32 bytes, or a `whsk_` key). Write-only; null removes it.',
      validate: { maxLength: TEXT.secret },
    }),
    customHeaders: t.field({
      type: [CustomHeaderInput],
      required: false,
      description: "Merged by key into the hook's custom headers.",
      validate: { maxLength: LIMITS.customHeadersPerHook },
    }),
    enableSslVerification: t.boolean({ required: false }),
    pushEventsBranchFilter: t.string({ required: false, validate: { maxLength: TEXT.filter } }),
    branchFilterStrategy: t.field({ type: BranchFilterStrategyEnum, required: false }),
  };
}

interface OptionalHookInput {
  name?: string | null;
  description?: string | null;
  events?: string[] | null;
  isActive?: boolean | null;
  secret?: string | null;
  signatureScheme?: DomainCreateHookInput['signatureScheme'] | null;
  signingToken?: string | null;
  customHeaders?: { key: string; value: string }[] | null;
  enableSslVerification?: boolean | null;
  pushEventsBranchFilter?: string | null;
  branchFilterStrategy?: DomainCreateHookInput['branchFilterStrategy'] | null;
}

/** GraphQL's explicit `null` clears a nullable field; for a non-null one it means "leave it". */
function domainHookFields(input: OptionalHookInput) {
  return {
    name: input.name,
    description: input.description,
    events: input.events ?? undefined,
    isActive: input.isActive ?? undefined,
    secret: input.secret,
    signatureScheme: input.signatureScheme ?? undefined,
    signingToken: input.signingToken,
    customHeaders: input.customHeaders ?? undefined,
    enableSslVerification: input.enableSslVerification ?? undefined,
    pushEventsBranchFilter: input.pushEventsBranchFilter,
    branchFilterStrategy: input.branchFilterStrategy ?? undefined,
  };
}

builder.relayMutationField(
  'createHook',
  {
    inputFields: (t) => ({
      kind: t.field({ type: HookKindEnum, required: true }),
      url: t.string({ required: true, validate: { maxLength: TEXT.url } }),
      subjectType: t.field({ type: SubjectTypeEnum, required: false }),
      subject: t.string({ required: false, validate: { maxLength: TEXT.subject } }),
      isActive: t.boolean({ required: false }),
      ...optionalHookInputFields(t),
    }),
  },
  {
    description: 'Creates a subject hook, or a system hook (administrators only).',
    resolve: async (_root, { input }, context): Promise<HookPayload> => {
      const create: DomainCreateHookInput = {
        kind: input.kind,
        url: input.url,
        subjectType: input.subjectType,
        subject: input.subject,
        ...domainHookFields(input),
      };
      return { hook: await context.services.hooks.create(context.actor!, create), userErrors: [] };
    },
  },
  { outputFields: (t) => hookPayloadFields(t) },
);

builder.relayMutationField(
  'updateHook',
  {
    inputFields: (t) => ({
      id: t.id({ required: true }),
      kind: t.field({ type: HookKindEnum, required: false, description: 'Cannot change; accepted when it matches.' }),
      url: t.string({ required: false, validate: { maxLength: TEXT.url } }),
      subjectType: t.field({ type: SubjectTypeEnum, required: false, description: 'Cannot change; accepted when it matches.' }),
      subject: t.string({ required: false, description: 'Cannot change; accepted when it matches.' }),
      isActive: t.boolean({ required: false, description: 'Setting it to true also re-enables a hook that failing deliveries disabled.' }),
      ...optionalHookInputFields(t),
    }),
  },
  {
    description: "Changes any of a hook's fields; the ones left out keep their value.",
    resolve: async (_root, { input }, context): Promise<HookPayload> => {
      const id = decodeId(String(input.id), 'Hook', ['input', 'id']);
      const patch: DomainUpdateHookInput = {
        kind: input.kind ?? undefined,
        url: input.url ?? undefined,
        subjectType: input.subjectType,
        subject: input.subject,
        ...domainHookFields(input),
      };
      return { hook: await context.services.hooks.update(context.actor!, id, patch), userErrors: [] };
    },
  },
  { outputFields: (t) => hookPayloadFields(t) },
);

builder.relayMutationField(
  'deleteHook',
  { inputFields: (t) => ({ id: t.id({ required: true }) }) },
  {
    resolve: async (_root, { input }, context): Promise<UserErrorsPayload & { deletedHookId?: string }> => {
      const id = decodeId(String(input.id), 'Hook', ['input', 'id']);
      await context.services.hooks.delete(context.actor!, id);
      return { deletedHookId: encodeGlobalID('Hook', id), userErrors: [] };
    },
  },
  {
    outputFields: (t) => ({
      deletedHookId: t.id({ nullable: true, resolve: (payload) => payload.deletedHookId ?? null }),
      userErrors: t.field({ type: [UserError], resolve: (payload) => payload.userErrors ?? [] }),
    }),
  },
);

// Shared by every mutation whose payload is `{ hook, userErrors }`.
export function hookPayloadFields(t: PothosSchemaTypes.ObjectFieldBuilder<BuilderTypes, HookPayload>) {
  return {
    hook: t.field({ type: Hook, nullable: true, resolve: (payload) => payload.hook ?? null }),
    userErrors: t.field({ type: [UserError], resolve: (payload) => payload.userErrors ?? [] }),
  };
}
