// `/openapi.json`: an OpenAPI 3.1 description of both REST dialects, generated from the zod schemas
// the routers parse with (request side) and the shapes the presenters print (response side).
// A test sends every documented operation and checks the router serves exactly these.
import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import { MAX_ID } from '../domain/limits';
import type { NodeHandler } from '../http/server';
import { sendJson, sendJsonText, splitUrl } from './http';
import { hookParams, keyedValueParams, pageParams } from './system-params';
import { createSchema, listSchema, publishSchema, updateSchema } from './v1-presenter';

const timestamp = z.string().meta({ description: 'ISO 8601 UTC with milliseconds', example: '2026-12-02T09:53:43.563Z' });

// ---- response shapes (what the presenters print, in their key order) -----------------------------

export const v1HookJson = z
  .object({
    id: z.number().int(),
    subject: z.string(),
    subject_type: z.enum(['build_repo', 'image_repo', 'job']),
    events: z.array(z.string()),
    name: z.string().nullable(),
    secret: z.string().nullable(),
    url: z.string(),
    is_active: z.boolean(),
    created_by: z.string().nullable(),
    created_at: timestamp,
    updated_at: timestamp,
  })
  .strict();

export const v1PublishedJson = z.object({ event_id: z.number().int(), deliveries: z.array(z.number().int()) }).strict();

export const v1ErrorJson = z
  .object({
    errors: z.array(z.object({ code: z.string(), message: z.string(), field: z.string().optional() }).strict()).min(1),
  })
  .strict();

export const systemHookJson = z
  .object({
    id: z.number().int(),
    url: z.string(),
    name: z.string().nullable(),
    description: z.string().nullable(),
    created_at: timestamp,
    push_events: z.boolean(),
    tag_push_events: z.boolean(),
    merge_requests_events: z.boolean(),
    repository_update_events: z.boolean(),
    enable_ssl_verification: z.boolean(),
    url_variables: z.array(z.object({ key: z.string() }).strict()),
    push_events_branch_filter: z.string().nullable(),
    branch_filter_strategy: z.enum(['wildcard', 'regex', 'all_branches']),
    alert_status: z.enum(['executable', 'temporarily_disabled', 'disabled']),
    disabled_until: timestamp.nullable(),
    custom_headers: z.array(z.object({ key: z.string() }).strict()),
    token_present: z.boolean(),
    signing_token_present: z.boolean(),
  })
  .strict();

export const systemTestJson = z
  .object({
    project_id: z.number(),
    owner_email: z.string(),
    owner_name: z.string(),
    name: z.string(),
    path: z.string(),
    event_name: z.string(),
  })
  .strict();

export const systemErrorJson = z.union([
  z.object({ message: z.union([z.string(), z.record(z.string(), z.array(z.string()))]) }).strict(),
  z.object({ error: z.string() }).strict(),
]);

// ---- operations ----------------------------------------------------------------------------------

type Method = 'get' | 'post' | 'put' | 'delete';

interface Operation {
  summary: string;
  /** JSON body (v1), or parameters read from query, form or JSON (system hooks). */
  body?: z.ZodType;
  query?: z.ZodObject;
  /** Status → [description, JSON shape or null for an empty body]. */
  responses: Record<number, [string, z.ZodType | null]>;
}

const v1Errors = (...statuses: number[]): Record<number, [string, z.ZodType]> =>
  Object.fromEntries(statuses.map((status) => [status, [V1_ERROR_TEXT[status]!, v1ErrorJson]]));
const V1_ERROR_TEXT: Record<number, string> = {
  400: '`invalid_args`: a parameter is missing or invalid',
  401: '`unauthorized`',
  403: '`permission_denied`',
  404: '`resource_not_exist`',
  409: '`resource_already_exist`',
  413: '`request_too_large`: over 1 MiB',
};
const systemErrors = (...statuses: number[]): Record<number, [string, z.ZodType]> =>
  Object.fromEntries(statuses.map((status) => [status, [SYSTEM_ERROR_TEXT[status]!, systemErrorJson]]));
const SYSTEM_ERROR_TEXT: Record<number, string> = {
  400: '`{"error": "<param> is missing|invalid"}`',
  401: '`{"message": "401 Unauthorized"}`',
  403: '`{"message": "403 Forbidden"}` (not an admin)',
  404: '`{"message": "404 Not found"}`',
  413: 'over 1 MiB',
  422: '`{"message": {"<field>": ["<reason>"]}}`, or `{"error": "Illegal key or value"}` for keyed values',
};

const v1Paths: Record<string, Partial<Record<Method, Operation>>> = {
  '/v1/hooks': {
    get: {
      summary: 'List the subject hooks the caller may see, by id',
      query: listSchema,
      responses: { 200: ['The hooks', z.array(v1HookJson)], ...v1Errors(400, 401) },
    },
    post: { summary: 'Create a subject hook', body: createSchema, responses: { 201: ['The hook', v1HookJson], ...v1Errors(400, 401, 403, 409, 413) } },
  },
  '/v1/hooks/{id}': {
    get: { summary: 'One subject hook', responses: { 200: ['The hook', v1HookJson], ...v1Errors(401, 404) } },
    put: {
      summary: 'Update a subject hook (partial; subject and subject_type cannot change)',
      body: updateSchema,
      responses: { 200: ['The hook', v1HookJson], ...v1Errors(400, 401, 404, 413) },
    },
    delete: { summary: 'Delete a subject hook', responses: { 204: ['Deleted', null], ...v1Errors(401, 404) } },
  },
  '/v1/events': {
    post: {
      summary: 'Publish an event (admins): one delivery per matching active hook',
      body: publishSchema,
      responses: { 202: ['Accepted and stored', v1PublishedJson], ...v1Errors(400, 401, 403, 413) },
    },
  },
};

const systemPaths = (prefix: string): Record<string, Partial<Record<Method, Operation>>> => ({
  [prefix]: {
    get: {
      summary: 'List system hooks, paged as GitLab does (X-Total, X-Total-Pages, Link, …)',
      query: pageParams,
      responses: { 200: ['The hooks', z.array(systemHookJson)], ...systemErrors(400, 401, 403) },
    },
    post: {
      summary: 'Create a system hook (`url` required)',
      body: hookParams,
      responses: { 201: ['The hook', systemHookJson], ...systemErrors(400, 401, 403, 413, 422) },
    },
  },
  [`${prefix}/{id}`]: {
    get: { summary: 'One system hook', responses: { 200: ['The hook', systemHookJson], ...systemErrors(401, 403, 404) } },
    post: {
      summary: 'Test: POSTs the `project_create` sample to the hook',
      responses: { 201: ['The sample that was sent', systemTestJson], ...systemErrors(401, 403, 404) },
    },
    put: {
      summary: 'Update a system hook (partial; at least one parameter)',
      body: hookParams,
      responses: { 200: ['The hook', systemHookJson], ...systemErrors(400, 401, 403, 404, 413, 422) },
    },
    delete: { summary: 'Delete a system hook', responses: { 204: ['Deleted', null], ...systemErrors(401, 403, 404) } },
  },
  [`${prefix}/{id}/url_variables/{key}`]: {
    put: {
      summary: 'Set a url variable (value write-only)',
      body: keyedValueParams,
      responses: { 204: ['Set', null], ...systemErrors(400, 401, 403, 404, 422) },
    },
    delete: { summary: 'Remove a url variable', responses: { 204: ['Removed', null], ...systemErrors(401, 403, 404) } },
  },
  [`${prefix}/{id}/custom_headers/{key}`]: {
    put: {
      summary: 'Set a custom header (value write-only)',
      body: keyedValueParams,
      responses: { 204: ['Set', null], ...systemErrors(400, 401, 403, 404, 422) },
    },
    delete: { summary: 'Remove a custom header', responses: { 204: ['Removed', null], ...systemErrors(401, 403, 404) } },
  },
});

/** Every documented path and its methods; the router-parity test walks this. */
export const DOCUMENTED_PATHS = { ...v1Paths, ...systemPaths('/api/v4/hooks'), ...systemPaths('/hooks') };

// ---- the document --------------------------------------------------------------------------------

/** Definitions hoisted out of each schema, since in OpenAPI `#` is the document, not the schema. */
type Definitions = Record<string, object>;

function toSchema(schema: z.ZodType, io: 'input' | 'output', definitions: Definitions): object {
  const { $schema: _dialect, $defs = {}, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' });
  const names = new Map(Object.keys($defs).map((name, index) => [name, `Schema${Object.keys(definitions).length + index + 1}`]));
  const rewrite = (value: unknown) =>
    JSON.parse(JSON.stringify(value).replace(/"#\/\$defs\/([^"]+)"/g, (_match, name: string) => `"#/components/schemas/${names.get(name)}"`)) as object;
  for (const [name, definition] of Object.entries($defs)) definitions[names.get(name)!] = rewrite(definition);
  return rewrite(rest);
}

function pathParameters(path: string) {
  return [...path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
    name,
    in: 'path',
    required: true,
    schema: name === 'id' ? { type: 'integer', minimum: 1, maximum: MAX_ID } : { type: 'string' },
  }));
}

function queryParameters(schema: z.ZodObject, definitions: Definitions) {
  return Object.entries(schema.shape).map(([name, field]) => ({
    name,
    in: 'query',
    required: !(field as z.ZodType).safeParse(undefined).success,
    schema: toSchema(field as z.ZodType, 'input', definitions),
  }));
}

function operationObject(path: string, operation: Operation, security: string, definitions: Definitions) {
  const system = !path.startsWith('/v1');
  const jsonSchema = (schema: z.ZodType) => toSchema(schema, 'input', definitions);
  return {
    summary: operation.summary,
    security: [{ [security]: [] }],
    parameters: [...pathParameters(path), ...(operation.query ? queryParameters(operation.query, definitions) : [])],
    ...(operation.body && {
      requestBody: {
        required: true,
        content: system
          ? { 'application/json': { schema: jsonSchema(operation.body) }, 'application/x-www-form-urlencoded': { schema: jsonSchema(operation.body) } }
          : { 'application/json': { schema: jsonSchema(operation.body) } },
      },
    }),
    responses: Object.fromEntries(
      Object.entries(operation.responses).map(([status, [description, shape]]) => [
        status,
        shape ? { description, content: { 'application/json': { schema: toSchema(shape, 'output', definitions) } } } : { description },
      ]),
    ),
  };
}

export function openApiDocument() {
  const definitions: Definitions = {};
  const paths = Object.fromEntries(
    Object.entries(DOCUMENTED_PATHS).map(([path, methods]) => [
      path,
      Object.fromEntries(
        Object.entries(methods).map(([method, operation]) => [
          method,
          operationObject(path, operation, path.startsWith('/v1') ? 'v1Token' : 'gitlabToken', definitions),
        ]),
      ),
    ]),
  );
  return {
    openapi: '3.1.0',
    info: {
      title: 'Hookgate REST',
      version: '1',
      description:
        "The `/v1` dialect (subject hooks, events) and GitLab's system hooks API (`/api/v4/hooks`, also at `/hooks`). Every answer other than 2xx carries the dialect's error body.",
    },
    components: {
      schemas: definitions,
      securitySchemes: {
        v1Token: { type: 'apiKey', in: 'header', name: 'Authorization', description: '`Token <token>` or `Bearer <token>`' },
        gitlabToken: { type: 'apiKey', in: 'header', name: 'PRIVATE-TOKEN', description: 'An admin token; `Authorization: Bearer <token>` also works' },
      },
    },
    paths,
  };
}

export function openApiRoute(): NodeHandler {
  let text: string | undefined;
  return (req, res: ServerResponse) => {
    if (splitUrl(req.url).pathname !== '/openapi.json') return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(res, 405, { message: '405 Method Not Allowed' }, { allow: 'GET, HEAD' });
      return true;
    }
    text ??= JSON.stringify(openApiDocument());
    sendJsonText(res, 200, text);
    return true;
  };
}
