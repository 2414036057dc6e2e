import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { printSortedSchema } from '../../src/graphql/schema';

describe('schema.graphql', () => {
  it('is the printed schema (run `npm run schema` after changing the GraphQL types)', () => {
    const committed = readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8');
    expect(committed).toBe(`${printSortedSchema()}\n`);
  });

  it('has the names of the contract', () => {
    const sdl = printSortedSchema();
    for (const name of [
      'viewer: User',
      'node(id: ID!): Node',
      'hook(id: ID!): Hook',
      'delivery(id: ID!): Delivery',
      'createHook(input: CreateHookInput!): CreateHookPayload!',
      'updateHook(input: UpdateHookInput!): UpdateHookPayload!',
      'deleteHook(input: DeleteHookInput!): DeleteHookPayload!',
      'testHook(input: TestHookInput!): TestHookPayload!',
      'setUrlVariable(input: SetUrlVariableInput!): SetUrlVariablePayload!',
      'deleteUrlVariable(input: DeleteUrlVariableInput!): DeleteUrlVariablePayload!',
      'publishEvent(input: PublishEventInput!): PublishEventPayload!',
      'redeliver(input: RedeliverInput!): RedeliverPayload!',
      'createUser(input: CreateUserInput!): CreateUserPayload!',
      'scalar DateTime',
      'scalar JSON',
    ]) {
      expect(sdl).toContain(name);
    }
    expect(sdl).toMatch(/hooks\(after: String, before: String, filter: HookFilter, first: Int, last: Int\): HookConnection!/);
    expect(sdl).toMatch(/deliveryUpdated\(\s*(""".*"""\s*)?hookId: ID\s*\): Delivery!/s);
  });
});
