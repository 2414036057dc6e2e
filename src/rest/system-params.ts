// The parameters GitLab's system hooks API accepts, as zod schemas: the router parses with them and
// `/openapi.json` is generated from them, so the document cannot drift from what is accepted.
// Values arrive as JSON values or as strings (query string, form fields), coerced as Grape does.
import { z } from 'zod';

// Grape's Boolean coercion: JSON booleans and these spellings from query strings and forms.
const TRUE_WORDS = ['1', 'on', 't', 'true', 'y', 'yes'];
const FALSE_WORDS = ['0', 'off', 'f', 'false', 'n', 'no'];

/** A Grape Boolean: `true`/`false`, or one of Grape's words in any case. */
export const grapeBoolean = z
  .union([
    z.boolean(),
    z
      .string()
      .refine((text) => [...TRUE_WORDS, ...FALSE_WORDS].includes(text.trim().toLowerCase()))
      .transform((text) => TRUE_WORDS.includes(text.trim().toLowerCase())),
  ])
  .meta({ description: `A boolean, or one of: ${[...TRUE_WORDS, ...FALSE_WORDS].join(', ')}` });

/** A Grape String: numbers are accepted and read as their decimal text. */
export const grapeString = z.union([z.string(), z.number().finite().transform(String)]);

const customHeader = z.object({ key: z.string(), value: z.string() });

/**
 * Every parameter a create or update reads, in the order they are checked (the first bad one is
 * the one reported). `token` is the hook's secret; `signing_token` a `whsec_` key.
 */
export const hookParams = z.object({
  push_events: grapeBoolean.optional(),
  tag_push_events: grapeBoolean.optional(),
  merge_requests_events: grapeBoolean.optional(),
  repository_update_events: grapeBoolean.optional(),
  url: grapeString.optional().meta({ description: 'Absolute http(s) URL; `{key}` placeholders are filled from url variables.' }),
  name: grapeString.optional(),
  description: grapeString.optional(),
  token: grapeString.optional().meta({ description: 'Write-only. Sent as `X-Gitlab-Token`; signs deliveries unless a signing token is set.' }),
  signing_token: grapeString.optional().meta({ description: 'Write-only. `whsec_` + base64 of 32 bytes; empty removes it.' }),
  custom_headers: z.array(customHeader).optional().meta({ description: "Replaces the hook's custom headers (JSON bodies only). Values are write-only." }),
  enable_ssl_verification: grapeBoolean.optional(),
  push_events_branch_filter: grapeString.optional(),
  branch_filter_strategy: grapeString.optional().meta({ description: 'wildcard, regex or all_branches' }),
});
export type HookParams = z.output<typeof hookParams>;

/** `page` and `per_page`: decimal integers; out-of-range values are clamped, not refused. */
const integerText = z.preprocess(
  (value) => (value === '' ? undefined : value),
  z
    .union([z.number().transform(String), z.string()])
    .pipe(
      z
        .string()
        .trim()
        .regex(/^-?[0-9]{1,15}$/),
    )
    .transform(Number)
    .optional(),
);
export const pageParams = z.object({
  page: integerText.meta({ description: 'Default 1.' }),
  per_page: integerText.meta({ description: 'Default 20, at most 100.' }),
});

/** `PUT …/url_variables/:key` and `PUT …/custom_headers/:key`. */
export const keyedValueParams = z.object({ value: grapeString });
