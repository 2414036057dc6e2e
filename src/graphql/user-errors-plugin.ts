// A small Pothos plugin that turns the errors a mutation may report to its caller (invalid input,
// domain validation, not found, conflict) into its payload's `userErrors`, so bad input never
// becomes a top-level error. It is registered after scope-auth, so authorization still fails
// loudly at the top level, and before the zod plugin, so zod's validation failures are caught too.
import SchemaBuilder, { BasePlugin, type PothosOutputFieldConfig, type SchemaTypes } from '@pothos/core';
import type { GraphQLFieldResolver } from 'graphql';
import { toUserErrors } from './errors';

const pluginName = 'hookgateUserErrors';

export class UserErrorsPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override wrapResolve(
    resolver: GraphQLFieldResolver<unknown, Types['Context'], object>,
    fieldConfig: PothosOutputFieldConfig<Types>,
  ): GraphQLFieldResolver<unknown, Types['Context'], object> {
    if (fieldConfig.parentType !== 'Mutation') return resolver;
    return async (parent, args, context, info) => {
      try {
        return await resolver(parent, args, context, info);
      } catch (error) {
        const input = (args as { input?: Record<string, unknown> }).input;
        const userErrors = toUserErrors(error, input);
        if (userErrors) return { userErrors };
        throw error;
      }
    };
  }
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- Pothos' documented extension point
  export namespace PothosSchemaTypes {
    export interface Plugins<Types extends SchemaTypes> {
      hookgateUserErrors: UserErrorsPlugin<Types>;
    }
  }
}

SchemaBuilder.registerPlugin(pluginName, UserErrorsPlugin);

export default pluginName;
