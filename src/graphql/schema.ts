// The executable schema: the type modules register themselves on the builder when imported.
import { lexicographicSortSchema, printSchema } from 'graphql';
import { builder } from './builder';
import './types/user';
import './types/hook';
import './types/delivery';
import './types/url-variable';
import './types/portal';
import './types/custom-header';
import './types/hook-signing';
import './types/deliveries-query';

export const schema = builder.toSchema();

/** The SDL committed as `schema.graphql` (sorted, so diffs show real changes only). */
export function printSortedSchema(): string {
  return printSchema(lexicographicSortSchema(schema));
}
