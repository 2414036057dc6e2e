// The rules a hook must satisfy, shared by every transport and by event matching.
import { RE2JS } from 're2js';
import type { BranchFilterStrategy, SubjectType } from '../generated/prisma/enums';
import type { Actor } from './actor';
import type { FieldIssue } from './errors';

export const SUBJECT_EVENTS: Record<SubjectType, readonly string[]> = {
  BUILD_REPO: ['build:complete'],
  IMAGE_REPO: ['image:push'],
  JOB: ['job:succeed', 'job:fail'],
};

/** System-hook event names, one per REST `*_events` flag. */
export const SYSTEM_EVENTS = ['push', 'tag_push', 'merge_request', 'repository_update'] as const;
export type SystemEvent = (typeof SYSTEM_EVENTS)[number];

/** GitLab's defaults for a new system hook: only `repository_update_events` is on. */
export const DEFAULT_SYSTEM_EVENTS: readonly SystemEvent[] = ['repository_update'];

import { LIMITS } from './limits';

export { LIMITS };

// GitLab's rule for url-variable keys.
const URL_VARIABLE_KEY = /^[A-Za-z]+[0-9]*(?:[._-][A-Za-z0-9]+)*$/;
const REPO_SUBJECT = /^[A-Za-z0-9][A-Za-z0-9_.-]*\/[A-Za-z0-9][A-Za-z0-9_.-]*$/;
// A job id, bare (`4242`, admins only) or owned by a namespace (`acme/4242`).
const JOB_SUBJECT = /^(?:[A-Za-z0-9][A-Za-z0-9_.-]*\/)?[A-Za-z0-9][A-Za-z0-9_.:-]*$/;
// PostgreSQL text cannot hold NUL; other C0 controls have no business in a URL.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

/** PostgreSQL cannot store a NUL character in text: such input is refused (or matches nothing). */
export function hasNul(value: string): boolean {
  return value.includes('\u0000');
}

/** Returns the error message for a hook URL, or null when it is a usable absolute http(s) URL. */
export function checkHookUrl(url: string): string | null {
  if (url.trim() === '') return "can't be blank";
  if (url.length > LIMITS.urlLength) return `is too long (maximum is ${LIMITS.urlLength} characters)`;
  // `{key}` placeholders are filled from url variables at delivery time; validate the URL around them.
  const masked = url.replace(/\{[^{}]*\}/g, 'x');
  let parsed: URL;
  try {
    parsed = new URL(masked);
  } catch {
    // WHATWG URLs have no IPv6 zone ids (`[fe80::1%25eth0]`); say so rather than blame the scheme.
    if (/\[[^\]]*%/.test(masked)) return 'is blocked: IPv6 zone identifiers (the "%" part) are not allowed';
    if (/^https?:/i.test(masked)) return 'is blocked: URL could not be parsed';
    return 'is blocked: Only allowed schemes are http, https';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'is blocked: Only allowed schemes are http, https';
  if (!parsed.hostname) return 'is blocked: Hostname is missing';
  if (/\s/.test(url)) return 'is blocked: URL must not contain whitespace';
  if (CONTROL_CHARACTERS.test(url)) return 'is blocked: URL must not contain control characters';
  return null;
}

/** Placeholders used in a URL, e.g. `https://x/{token}` → `['token']`. */
export function urlPlaceholders(url: string): string[] {
  return [...url.matchAll(/\{([^{}]*)\}/g)].map((match) => match[1]!);
}

export function checkSubject(subjectType: SubjectType, subject: string): string | null {
  if (subject.trim() === '') return "can't be blank";
  if (subject.length > LIMITS.subjectLength) return `is too long (maximum is ${LIMITS.subjectLength} characters)`;
  if (subjectType === 'JOB') return JOB_SUBJECT.test(subject) ? null : 'must be a job id, or namespace/job-id';
  return REPO_SUBJECT.test(subject) ? null : 'must be a repository path such as namespace/name';
}

/** The namespace owning a subject: `ns` for the repo `ns/name` and the job `ns/4242`, none for a bare job id. */
export function subjectNamespace(subjectType: SubjectType, subject: string): string | null {
  if (subjectType === 'JOB' && !subject.includes('/')) return null;
  return subject.split('/')[0] ?? null;
}

/**
 * Why `actor` may not add a hook on a subject of this namespace, or null when it may. A bare job
 * id belongs to no namespace, so only an administrator may watch it: anyone else could otherwise
 * receive another team's job payloads.
 */
export function subjectOwnershipIssue(actor: Actor, subjectType: SubjectType, namespace: string | null): string | null {
  if (actor.isAdmin) return null;
  if (namespace === null) {
    return subjectType === 'JOB'
      ? `Only administrators can add hooks to bare job ids; use ${actor.username}/<job id>`
      : `You can only add hooks to subjects in your own namespace (${actor.username})`;
  }
  return namespace === actor.username ? null : `You can only add hooks to subjects in your own namespace (${actor.username})`;
}

/** Validates and de-duplicates a subject hook's events, keeping their first-seen order. */
export function normaliseSubjectEvents(subjectType: SubjectType, events: readonly string[]): { events: string[]; issue: FieldIssue | null } {
  const unique = [...new Set(events)];
  if (unique.length === 0) return { events: unique, issue: { field: 'events', message: "can't be empty" } };
  const allowed = SUBJECT_EVENTS[subjectType];
  const unknown = unique.filter((event) => !allowed.includes(event));
  if (unknown.length > 0) {
    const message = `${unknown.map((event) => JSON.stringify(event)).join(', ')} not supported for ${subjectType.toLowerCase()}; allowed: ${allowed.join(', ')}`;
    return { events: unique, issue: { field: 'events', message } };
  }
  return { events: unique, issue: null };
}

export function normaliseSystemEvents(events: readonly string[]): { events: SystemEvent[]; issue: FieldIssue | null } {
  const unique = [...new Set(events)];
  const unknown = unique.filter((event) => !(SYSTEM_EVENTS as readonly string[]).includes(event));
  if (unknown.length > 0) {
    return {
      events: [],
      issue: { field: 'events', message: `${unknown.map((e) => JSON.stringify(e)).join(', ')} not supported; allowed: ${SYSTEM_EVENTS.join(', ')}` },
    };
  }
  // Stored in canonical order so equal sets compare equal.
  return { events: SYSTEM_EVENTS.filter((event) => unique.includes(event)), issue: null };
}

export function checkBranchFilter(strategy: BranchFilterStrategy, filter: string | null): string | null {
  if (filter === null || filter === '') return null;
  const textIssue = checkText(filter, LIMITS.branchFilterLength);
  if (textIssue) return textIssue;
  if (strategy === 'REGEX') {
    try {
      RE2JS.compile(filter);
    } catch {
      return 'not valid RE2 syntax';
    }
  }
  return null;
}

/**
 * Does a branch filter accept this ref? RE2 (linear time) for regexes, so a hostile pattern such
 * as `(a+)+$` cannot stall delivery; `*` globs are anchored at both ends.
 */
export function branchFilterMatches(strategy: BranchFilterStrategy, filter: string | null, ref: string | null): boolean {
  if (strategy === 'ALL_BRANCHES' || filter === null || filter === '') return true;
  if (ref === null) return true;
  const branch = ref.replace(/^refs\/(heads|tags)\//, '');
  if (strategy === 'REGEX') return compiledRegex(filter).matcher(branch).find();
  return compiledRegex(wildcardToRegex(filter)).matches(branch);
}

const regexCache = new Map<string, RE2JS>();
function compiledRegex(pattern: string): RE2JS {
  let compiled = regexCache.get(pattern);
  if (!compiled) {
    compiled = RE2JS.compile(pattern);
    if (regexCache.size > 1000) regexCache.clear();
    regexCache.set(pattern, compiled);
  }
  return compiled;
}

// Globs also go through RE2: a backtracking `a*a*a*…b` can be slow on a long branch name.
function wildcardToRegex(glob: string): string {
  return `(?s)${glob
    .split('*')
    .map((part) => RE2JS.quote(part))
    .join('.*')}`;
}

export function checkUrlVariableKey(key: string): boolean {
  return key.length <= LIMITS.urlVariableKeyLength && URL_VARIABLE_KEY.test(key);
}

export function checkUrlVariableValue(value: string): boolean {
  return value.length >= 1 && value.length <= LIMITS.urlVariableValueLength && !hasNul(value);
}

/**
 * A system hook's token travels as the `X-Gitlab-Token` header, whose value must be visible ASCII
 * to reach the receiver unchanged (receivers trim surrounding spaces, so those would never match).
 * A subject hook's secret is only an HMAC key and may be any text.
 */
export function checkHeaderToken(value: string | null | undefined): string | null {
  if (!value) return null;
  return /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(value)
    ? null
    : 'must be printable ASCII without leading or trailing spaces (it is sent as the X-Gitlab-Token header)';
}

export function checkText(value: string | null | undefined, max: number): string | null {
  if (value === null || value === undefined) return null;
  if (value.length > max) return `is too long (maximum is ${max} characters)`;
  return hasNul(value) ? 'must not contain NUL characters' : null;
}
