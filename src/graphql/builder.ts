// The one place the schema builder is configured: plugins, scalars, the context type, auth scopes.
import SchemaBuilder from '@pothos/core';
import ComplexityPlugin from '@pothos/plugin-complexity';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import ZodPlugin from '@pothos/plugin-zod';
import { GraphQLError, getNullableType, isListType } from 'graphql';
import { canAccessHook } from '../domain/actor';
import type PrismaTypes from '../generated/pothos-types';
import { getDatamodel } from '../generated/pothos-types';
import type { HookKind } from '../generated/prisma/enums';
import type { GraphQLContext } from './context';
import { forbidden, UserInputError, unauthenticated } from './errors';
import { DateTimeScalar, JSONScalar } from './scalars';
import UserErrorsPlugin from './user-errors-plugin';

/** The 100-hooks page with 5 deliveries each and their attempts costs 20,000 to 30,000. */
export const MAX_COMPLEXITY = 50_000;

/** Connection page sizes: every connection, hand-resolved ones included, pages by these. */
export const PAGE_SIZE = { default: 20, max: 100 } as const;

/** A connection's cost multiplier: the page it may return (`first`/`last`, PAGE_SIZE's default and cap). */
export function pageComplexity(args: { first?: number | null; last?: number | null }) {
  return { field: 1, multiplier: Math.min(Math.max(args.first ?? args.last ?? PAGE_SIZE.default, 0), PAGE_SIZE.max) };
}

export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  PrismaTypes: PrismaTypes;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
    ID: { Input: string; Output: string | number };
  };
  AuthScopes: {
    /** A valid API token was sent. */
    authenticated: boolean;
    /** The caller is an administrator. */
    admin: boolean;
    /** The caller may see this hook: the domain's `canAccessHook` rule. */
    hookAccess: { kind: HookKind; namespace: string | null; createdById: number | null };
  };
  DefaultFieldNullability: false;
}>({
  // Order matters: scope-auth wraps everything (auth fails at the top level, before any input is
  // looked at); the user-errors plugin wraps the zod plugin so invalid input becomes `userErrors`.
  plugins: [ScopeAuthPlugin, UserErrorsPlugin, ComplexityPlugin, PrismaPlugin, RelayPlugin, ZodPlugin],
  defaultFieldNullability: false,
  complexity: {
    // Cost = fields selected, with a list's sub-selection multiplied by how many items it can hold:
    // connections by their page size (see `pageComplexity`), other lists by 10. Unlike a static
    // document cost, this sees `first` passed in variables too. Checked before any root field runs.
    fieldComplexity: (_args, _context, field) => {
      // A connection's `nodes`/`edges` are the page its field already paid for.
      if (field.name === 'nodes' || field.name === 'edges') return { field: 0, multiplier: 1 };
      return { field: 1, multiplier: isListType(getNullableType(field.type)) ? 10 : 1 };
    },
    limit: { complexity: MAX_COMPLEXITY },
    complexityError: (kind, result) =>
      new GraphQLError(`Query ${kind} of ${result.complexity} exceeds the limit of ${result.maxComplexity ?? MAX_COMPLEXITY}`, {
        extensions: { code: 'QUERY_TOO_COMPLEX', complexity: result.complexity, limit: result.maxComplexity ?? MAX_COMPLEXITY },
      }),
  },
  scopeAuth: {
    authorizeOnSubscribe: true,
    authScopes: (context) => ({
      authenticated: context.actor !== null,
      admin: context.actor?.isAdmin ?? false,
      hookAccess: (hook) => context.actor !== null && canAccessHook(context.actor, hook),
    }),
    unauthorizedError: (_parent, context, _info, result) => (context.actor === null ? unauthenticated(context.authFailure) : forbidden(result.message)),
  },
  prisma: {
    // plugin-prisma plans its queries on the client of the app serving the request.
    client: (context) => context.prisma,
    dmmf: getDatamodel(),
    exposeDescriptions: false,
    filterConnectionTotalCount: true,
    maxConnectionSize: PAGE_SIZE.max,
    defaultConnectionSize: PAGE_SIZE.default,
    // A resolver that forgets to spread `query` silently brings back N+1 queries: fail loudly.
    // The same everywhere (config.ts is the only reader of the environment), so what the tests
    // run is what production runs.
    onUnusedQuery: 'error',
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    nodesOnConnection: true,
    // `nodes(ids:)` is not part of the contract; one lookup path is easier to keep authorized.
    nodesQueryOptions: false,
    nodeQueryOptions: { nullable: true },
  },
  zod: {
    validationError: (zodError) =>
      new UserInputError(
        zodError.issues.map((issue) => ({
          field: issue.path.map(String),
          message: issue.message,
          code: 'VALIDATION_FAILED',
        })),
      ),
  },
});

builder.addScalarType('DateTime', DateTimeScalar);
builder.addScalarType('JSON', JSONScalar);

// Every operation needs a valid token, except introspection (GraphiQL loads the schema before
// the user has pasted one).
builder.queryType({ authScopes: { authenticated: true } });
builder.mutationType({ authScopes: { authenticated: true } });
builder.subscriptionType({ authScopes: { authenticated: true } });

export interface UserErrorsPayload {
  userErrors?: { field: string[] | null; message: string; code: string }[];
}

export const UserError = builder.objectRef<{ field: string[] | null; message: string; code: string }>('UserError').implement({
  description: 'Something wrong with the input of a mutation; nothing was changed.',
  fields: (t) => ({
    field: t.exposeStringList('field', { nullable: true, description: 'Path to the input field at fault, e.g. `["input", "url"]`.' }),
    message: t.exposeString('message'),
    code: t.exposeString('code', { description: '`VALIDATION_FAILED`, `NOT_FOUND` or `CONFLICT`.' }),
  }),
});

/** The builder's type parameters, for helpers that build fields outside a type's own callback. */
export type BuilderTypes = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;
