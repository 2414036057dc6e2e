// Hooks of both kinds: the one place their rules and access control are applied.
import type { PrismaClient } from '../generated/prisma/client';
import { Prisma } from '../generated/prisma/client';
import type { BranchFilterStrategy, HookKind, SubjectType } from '../generated/prisma/enums';
import { type Actor, canAccessHook, PORTAL_ACTOR_ID, requireAdmin } from './actor';
import { type CustomHeader, customHeaderKeyIssue, customHeaderValueIssue, planCustomHeaders, sameHeader } from './custom-headers';
import { type FieldIssue, ForbiddenError, NotFoundError, ValidationError } from './errors';
import type { HookCache } from './hook-cache';
import { type AlertAnnouncer, REENABLED, updateReenables } from './hook-health';
import {
  checkBranchFilter,
  checkHeaderToken,
  checkHookUrl,
  checkSubject,
  checkText,
  checkUrlVariableKey,
  checkUrlVariableValue,
  DEFAULT_SYSTEM_EVENTS,
  hasNul,
  LIMITS,
  normaliseSubjectEvents,
  normaliseSystemEvents,
  type SystemEvent,
  subjectNamespace,
  subjectOwnershipIssue,
} from './hook-rules';
import { DEFAULT_HOOK_LIMITS, type HookLimits, isDatabaseId, namespaceQuotaIssue } from './limits';
import { applySigningInput, type RotationInput, rotate, type SignatureScheme } from './signing';

/** Decides whether a hook URL may be called (the SSRF guard); returns the reason when it may not. */
export interface UrlPolicy {
  check(url: string): Promise<string | null>;
}
export const allowAllUrls: UrlPolicy = { check: async () => null };

const hookInclude = {
  createdBy: { select: { id: true, username: true } },
  urlVariables: { select: { key: true }, orderBy: { key: 'asc' } },
  customHeaders: { select: { key: true }, orderBy: { key: 'asc' } },
} satisfies Prisma.HookInclude;

export type HookRecord = Prisma.HookGetPayload<{ include: typeof hookInclude }>;

/** First key of the two-key advisory locks that serialise hook creation per namespace. */
const NAMESPACE_LOCK = 0x686b6e73; // "hkns"

interface HookFields {
  url: string;
  name?: string | null;
  description?: string | null;
  /** Full replacement of the event set. */
  events?: readonly string[];
  /** System hooks: switch single events on or off (the REST `*_events` flags). */
  eventToggles?: Partial<Record<SystemEvent, boolean>>;
  secret?: string | null;
  /** System hooks: GitLab 19's signing token (signs instead of `secret`, which is then only sent). */
  signingToken?: string | null;
  /** ED25519 with no secret given generates a key pair; either checks the secret given. */
  signatureScheme?: SignatureScheme;
  /** Merged by key into the hook's custom headers. */
  customHeaders?: readonly CustomHeader[];
  isActive?: boolean;
  enableSslVerification?: boolean;
  pushEventsBranchFilter?: string | null;
  branchFilterStrategy?: BranchFilterStrategy;
}

export interface CreateHookInput extends HookFields {
  kind: HookKind;
  subjectType?: SubjectType | null;
  subject?: string | null;
}

/**
 * Any subset of a hook's fields. `subjectType`/`subject` may be repeated but never changed.
 * `reenable`: the update re-enables a disabled hook even without `isActive: true` (the GitLab
 * dialect's `PUT /hooks/:id`).
 */
export type UpdateHookInput = Partial<CreateHookInput> & { reenable?: boolean };

export interface HookFilter {
  kind?: HookKind | null;
  subjectType?: SubjectType | null;
  subject?: string | null;
  isActive?: boolean | null;
}

export interface Page {
  skip: number;
  take: number;
}

/** The state of a hook as stored, before or after a change. */
type HookState = Omit<Prisma.HookUncheckedCreateInput, 'events'> & { events: string[] };

export class HookService {
  /** Announces re-enabled hooks (hook_enabled); set by the delivery engine, which publishes events. */
  private announcer: AlertAnnouncer | null = null;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly urlPolicy: UrlPolicy = allowAllUrls,
    /** Shared copies: whatever `get` returns is never to be mutated. */
    private readonly cache: HookCache<HookRecord> | null = null,
    private readonly limits: HookLimits = DEFAULT_HOOK_LIMITS,
  ) {}

  announceAlertChangesWith(announcer: AlertAnnouncer): void {
    this.announcer = announcer;
  }

  /** Hooks held in memory by `get` (see hook-cache.ts). */
  get cacheSize(): number {
    return this.cache?.stats().entries ?? 0;
  }

  /** Prisma filter for the hooks an actor may see; GraphQL connections build on it too. */
  visibleWhere(actor: Actor): Prisma.HookWhereInput {
    if (actor.isAdmin) return {};
    return { kind: 'SUBJECT', OR: [{ namespace: actor.username }, { createdById: actor.id }] };
  }

  async create(actor: Actor, input: CreateHookInput): Promise<HookRecord> {
    if (input.kind === 'SYSTEM') requireAdmin(actor, 'Only administrators can manage system hooks');
    const { state, headers } = await this.validate(
      input.kind,
      {
        kind: input.kind,
        url: input.url,
        events: input.kind === 'SYSTEM' ? [...DEFAULT_SYSTEM_EVENTS] : [],
        isActive: true,
        enableSslVerification: true,
        branchFilterStrategy: 'WILDCARD',
        createdById: actor.id === PORTAL_ACTOR_ID ? null : actor.id,
      },
      input,
      [],
      true,
    );
    if (input.kind === 'SUBJECT') {
      const ownershipIssue = subjectOwnershipIssue(actor, state.subjectType as SubjectType, state.namespace ?? null);
      if (ownershipIssue) throw new ForbiddenError(ownershipIssue);
    }
    const namespace = state.namespace ?? null;
    const data = { ...state, customHeaders: { create: headers } };
    if (namespace === null) return this.prisma.hook.create({ data, include: hookInclude });
    return this.prisma.$transaction(async (tx) => {
      // Creates in one namespace take turns (a transaction-scoped advisory lock on its name), so
      // the count below sees every hook committed before ours and the cap holds exactly, across
      // processes; creates in other namespaces do not wait.
      // pg_advisory_xact_lock returns void, which the driver cannot read back: `IS NULL` makes it a boolean.
      await tx.$queryRaw`SELECT (pg_advisory_xact_lock(${NAMESPACE_LOCK}::int, hashtext(${namespace})) IS NULL) AS locked`;
      const existing = await tx.hook.count({ where: { kind: 'SUBJECT', namespace } });
      const quotaIssue = namespaceQuotaIssue(this.limits, namespace, existing);
      if (quotaIssue) throw new ValidationError([quotaIssue]);
      return tx.hook.create({ data, include: hookInclude });
    });
  }

  /** One hook the actor may see. `kind` narrows it to one dialect's hooks (REST routes). */
  async get(actor: Actor, id: number, kind?: HookKind): Promise<HookRecord> {
    return this.find(actor, id, kind, true);
  }

  /**
   * `cached`: reads may come from the hook cache; changes always start from the stored row, so a
   * write never builds on a copy another process has just made stale.
   */
  private async find(actor: Actor, id: number, kind: HookKind | undefined, cached: boolean): Promise<HookRecord> {
    if (kind === 'SYSTEM') requireAdmin(actor, 'Only administrators can manage system hooks');
    let hook: HookRecord | null = null;
    if (isDatabaseId(id)) {
      const load = () => this.prisma.hook.findUnique({ where: { id }, include: hookInclude });
      hook = cached && this.cache ? await this.cache.get(id, load) : await load();
    }
    if (!hook || (kind && hook.kind !== kind) || !canAccessHook(actor, hook)) throw new NotFoundError('Hook');
    return hook;
  }

  /**
   * Prisma filter for the hooks an actor may list with `filter`; `list` and the GraphQL `hooks`
   * connection both use it. Asking for system hooks takes an administrator.
   */
  listWhere(actor: Actor, filter: HookFilter = {}): Prisma.HookWhereInput {
    if (filter.kind === 'SYSTEM') requireAdmin(actor, 'Only administrators can manage system hooks');
    // No stored subject can contain NUL, and PostgreSQL would refuse the comparison: match nothing.
    if (filter.subject != null && hasNul(filter.subject)) return { id: { in: [] } };
    return {
      AND: [
        this.visibleWhere(actor),
        {
          ...(filter.kind ? { kind: filter.kind } : {}),
          ...(filter.subjectType ? { subjectType: filter.subjectType } : {}),
          ...(filter.subject != null ? { subject: filter.subject } : {}),
          ...(filter.isActive != null ? { isActive: filter.isActive } : {}),
        },
      ],
    };
  }

  async list(actor: Actor, filter: HookFilter = {}, page?: Page): Promise<{ hooks: HookRecord[]; total: number }> {
    const where = this.listWhere(actor, filter);
    const [hooks, total] = await Promise.all([
      this.prisma.hook.findMany({ where, include: hookInclude, orderBy: { id: 'asc' }, ...(page ?? {}) }),
      page ? this.prisma.hook.count({ where }) : Promise.resolve(-1),
    ]);
    return { hooks, total: page ? total : hooks.length };
  }

  async update(actor: Actor, id: number, patch: UpdateHookInput, kind?: HookKind): Promise<HookRecord> {
    const current = await this.find(actor, id, kind, false);
    const issues: FieldIssue[] = [];
    if (patch.kind !== undefined && patch.kind !== current.kind) issues.push({ field: 'kind', message: 'cannot be changed' });
    if (patch.subjectType !== undefined && patch.subjectType !== current.subjectType) issues.push({ field: 'subjectType', message: 'cannot be changed' });
    if (patch.subject !== undefined && patch.subject !== current.subject) issues.push({ field: 'subject', message: 'cannot be changed' });
    if (issues.length > 0) throw new ValidationError(issues);
    const { urlVariables: _vars, customHeaders: storedHeaders, createdBy: _by, id: _id, createdAt: _c, updatedAt: _u, ...stored } = current;
    const { state, headers } = await this.validate(
      current.kind,
      stored,
      patch,
      storedHeaders.map((header) => header.key),
      false,
    );
    // Setting a hook active again is how someone re-enables one that deliveries disabled (hook-health.ts).
    const reenables = updateReenables(patch);
    const reenable = reenables ? REENABLED : {};
    // Back from disabled: announced (hook_enabled) in the transaction that re-enables it.
    const announcer = reenables && current.alertStatus !== 'EXECUTABLE' ? this.announcer : null;
    const { kind: _k, subjectType: _st, subject: _s, namespace: _n, createdById: _cb, ...changes } = state;
    try {
      if (headers.length === 0 && !announcer) return await this.prisma.hook.update({ where: { id }, data: { ...changes, ...reenable }, include: hookInclude });
      return await this.prisma.$transaction(async (tx) => {
        if (headers.length > 0) await this.writeCustomHeaders(tx, id, headers);
        const hook = await tx.hook.update({ where: { id }, data: { ...changes, ...reenable }, include: hookInclude });
        const now = new Date();
        await announcer?.announce(
          tx,
          [
            {
              event: 'hook_enabled',
              hook: { id, kind: hook.kind, subjectType: hook.subjectType, subject: hook.subject },
              state: REENABLED,
              at: now,
            },
          ],
          now,
        );
        return hook;
      });
    } catch (error) {
      throw goneHook(error);
    } finally {
      this.changed(id);
    }
  }

  async delete(actor: Actor, id: number, kind?: HookKind): Promise<HookRecord> {
    const hook = await this.find(actor, id, kind, false);
    try {
      await this.prisma.$transaction(async (tx) => {
        // The delivery engine records an attempt by locking the delivery, then its hook. Locking in
        // that order here too makes a delete during a recording wait for it instead of deadlocking.
        await tx.$queryRaw`SELECT count(*)::int AS n FROM (SELECT id FROM deliveries WHERE hook_id = ${id} ORDER BY id FOR UPDATE) AS locked`;
        await tx.hook.delete({ where: { id } });
      });
    } catch (error) {
      throw goneHook(error);
    } finally {
      this.changed(id);
    }
    return hook;
  }

  async setUrlVariable(actor: Actor, hookId: number, key: string, value: string, kind?: HookKind): Promise<HookRecord> {
    await this.find(actor, hookId, kind, false);
    if (!checkUrlVariableKey(key))
      throw ValidationError.of(
        'key',
        'must start with letters, then digits, then groups of letters or digits joined by ".", "_" or "-" (at most 255 characters)',
      );
    if (!checkUrlVariableValue(value)) throw ValidationError.of('value', `must be 1 to ${LIMITS.urlVariableValueLength} characters`);
    await this.prisma
      .$transaction(async (tx) => {
        // Lock the hook row so two concurrent writers cannot both add the 20th variable; a hook
        // deleted since the check above is simply not found.
        const [locked] = await tx.$queryRaw<unknown[]>`SELECT id FROM hooks WHERE id = ${hookId} FOR UPDATE`;
        if (!locked) throw new NotFoundError('Hook');
        const existing = await tx.urlVariable.findMany({ where: { hookId }, select: { key: true } });
        if (!existing.some((variable) => variable.key === key) && existing.length >= LIMITS.urlVariablesPerHook) {
          throw ValidationError.of('urlVariables', `a hook can have at most ${LIMITS.urlVariablesPerHook} URL variables`);
        }
        await tx.urlVariable.upsert({ where: { hookId_key: { hookId, key } }, create: { hookId, key, value }, update: { value } });
      })
      .finally(() => this.changed(hookId));
    return this.get(actor, hookId, kind);
  }

  async deleteUrlVariable(actor: Actor, hookId: number, key: string, kind?: HookKind): Promise<HookRecord> {
    await this.find(actor, hookId, kind, false);
    // A key that could never be set is not set (and a NUL in it would upset PostgreSQL).
    if (!checkUrlVariableKey(key)) throw new NotFoundError('URL variable');
    const { count } = await this.prisma.urlVariable.deleteMany({ where: { hookId, key } }).finally(() => this.changed(hookId));
    if (count === 0) throw new NotFoundError('URL variable');
    return this.get(actor, hookId, kind);
  }

  async setCustomHeader(actor: Actor, hookId: number, key: string, value: string, kind?: HookKind): Promise<HookRecord> {
    await this.find(actor, hookId, kind, false);
    const keyIssue = customHeaderKeyIssue(key);
    const valueIssue = keyIssue ? null : customHeaderValueIssue(value);
    if (keyIssue || valueIssue) throw ValidationError.of(keyIssue ? 'key' : 'value', (keyIssue ?? valueIssue)!);
    await this.prisma.$transaction((tx) => this.writeCustomHeaders(tx, hookId, [{ key, value }])).finally(() => this.changed(hookId));
    return this.get(actor, hookId, kind);
  }

  async deleteCustomHeader(actor: Actor, hookId: number, key: string, kind?: HookKind): Promise<HookRecord> {
    const hook = await this.find(actor, hookId, kind, false);
    const stored = hook.customHeaders.find((header) => sameHeader(header.key, key));
    if (!stored) throw new NotFoundError('Custom Header');
    const { count } = await this.prisma.customHeader.deleteMany({ where: { hookId, key: stored.key } }).finally(() => this.changed(hookId));
    if (count === 0) throw new NotFoundError('Custom Header');
    return this.get(actor, hookId, kind);
  }

  /**
   * Merges headers into a hook's set under the hook's row lock, so two concurrent writers can
   * neither add a 21st header nor the same key twice in two spellings.
   */
  private async writeCustomHeaders(tx: Prisma.TransactionClient, hookId: number, incoming: readonly CustomHeader[]): Promise<void> {
    const [locked] = await tx.$queryRaw<unknown[]>`SELECT id FROM hooks WHERE id = ${hookId} FOR UPDATE`;
    if (!locked) throw new NotFoundError('Hook');
    const existing = await tx.customHeader.findMany({ where: { hookId }, select: { key: true } });
    const { writes, issues } = planCustomHeaders(
      existing.map((header) => header.key),
      incoming,
    );
    if (issues.length > 0) throw new ValidationError(issues);
    for (const { key, value } of writes) {
      await tx.customHeader.upsert({ where: { hookId_key: { hookId, key } }, create: { hookId, key, value }, update: { value } });
    }
  }

  /**
   * A new signing secret (generated when none is given) that replaces the current one while the
   * old one keeps signing too for the grace period. Returns the new secret: the only time it is shown.
   */
  async rotateSecret(actor: Actor, id: number, input: RotationInput): Promise<{ hook: HookRecord; secret: string }> {
    const current = await this.find(actor, id, undefined, false);
    const { changes, secret, issues } = rotate(current, input, new Date());
    const textIssue = checkText(secret, LIMITS.secretLength) ?? (changes.secret !== undefined && current.kind === 'SYSTEM' ? checkHeaderToken(secret) : null);
    if (textIssue) issues.push({ field: 'secret', message: textIssue });
    if (issues.length > 0) throw new ValidationError(issues);
    try {
      return { hook: await this.prisma.hook.update({ where: { id }, data: changes, include: hookInclude }), secret };
    } catch (error) {
      throw goneHook(error);
    } finally {
      this.changed(id);
    }
  }

  /**
   * Read-your-writes in this process: the database's notification of the change reaches this
   * process too, but possibly after our answer, so the cached copy goes now.
   */
  private changed(id: number): void {
    this.cache?.invalidate(id);
  }

  /** Applies `input` on top of `base`, checks every rule, and returns the state to store. */
  private async validate(
    kind: HookKind,
    base: HookState,
    input: UpdateHookInput,
    headerKeys: readonly string[],
    creating: boolean,
  ): Promise<{ state: HookState; headers: CustomHeader[] }> {
    const issues: FieldIssue[] = [];
    const state: HookState = { ...base };
    const assign = <K extends keyof HookState>(key: K, value: HookState[K] | undefined) => {
      if (value !== undefined) state[key] = value;
    };
    assign('url', input.url);
    assign('name', input.name);
    assign('description', input.description);
    const signing = applySigningInput(kind, { secret: base.secret ?? null, signingToken: base.signingToken ?? null }, input);
    issues.push(...signing.issues);
    Object.assign(state, signing.changes);
    const planned = planCustomHeaders(headerKeys, input.customHeaders ?? []);
    issues.push(...planned.issues);
    assign('isActive', input.isActive);
    assign('enableSslVerification', input.enableSslVerification);
    assign('pushEventsBranchFilter', input.pushEventsBranchFilter);
    assign('branchFilterStrategy', input.branchFilterStrategy);

    const urlIssue = checkHookUrl(state.url);
    if (urlIssue) issues.push({ field: 'url', message: urlIssue });
    else if (input.url !== undefined) {
      const blocked = await this.urlPolicy.check(state.url);
      if (blocked) issues.push({ field: 'url', message: blocked });
    }
    for (const [field, max] of [
      ['name', LIMITS.nameLength],
      ['description', LIMITS.descriptionLength],
      ['secret', LIMITS.secretLength],
      ['signingToken', LIMITS.secretLength],
    ] as const) {
      const issue = checkText(state[field], max);
      if (issue) issues.push({ field, message: issue });
    }

    if (kind === 'SUBJECT') {
      if (creating) {
        if (!input.subjectType) issues.push({ field: 'subjectType', message: 'is missing' });
        if (input.subject == null) issues.push({ field: 'subject', message: 'is missing' });
        if (input.events === undefined) issues.push({ field: 'events', message: 'is missing' });
        if (input.subjectType && input.subject != null) {
          const subjectIssue = checkSubject(input.subjectType, input.subject);
          if (subjectIssue) issues.push({ field: 'subject', message: subjectIssue });
          state.subjectType = input.subjectType;
          state.subject = input.subject;
          state.namespace = subjectNamespace(input.subjectType, input.subject);
        }
      }
      if (input.eventToggles !== undefined) issues.push({ field: 'events', message: 'event flags apply to system hooks only' });
      if (input.pushEventsBranchFilter != null && input.pushEventsBranchFilter !== '') {
        issues.push({ field: 'pushEventsBranchFilter', message: 'applies to system hooks only' });
      }
      if (input.events !== undefined && state.subjectType) {
        const { events, issue } = normaliseSubjectEvents(state.subjectType as SubjectType, input.events);
        if (issue) issues.push(issue);
        state.events = events;
      }
    } else {
      // Checked only when given: a stored token from before this rule must not block other changes.
      const tokenIssue = input.secret !== undefined ? checkHeaderToken(state.secret) : null;
      if (tokenIssue) issues.push({ field: 'secret', message: tokenIssue });
      if (input.subjectType != null && creating) issues.push({ field: 'subjectType', message: 'applies to subject hooks only' });
      if (input.subject != null && creating) issues.push({ field: 'subject', message: 'applies to subject hooks only' });
      let events = state.events;
      if (input.events !== undefined) {
        const result = normaliseSystemEvents(input.events);
        if (result.issue) issues.push(result.issue);
        events = result.events;
      }
      for (const [event, on] of Object.entries(input.eventToggles ?? {})) {
        events = on ? [...events, event] : events.filter((e) => e !== event);
      }
      state.events = normaliseSystemEvents(events).events;
      const strategy = state.branchFilterStrategy as BranchFilterStrategy;
      // As in GitLab, choosing all_branches clears the filter rather than keeping a dead value.
      if (strategy === 'ALL_BRANCHES') state.pushEventsBranchFilter = null;
      const filterIssue = checkBranchFilter(strategy, state.pushEventsBranchFilter ?? null);
      if (filterIssue) issues.push({ field: 'pushEventsBranchFilter', message: filterIssue });
    }

    if (issues.length > 0) throw new ValidationError(issues);
    return { state, headers: planned.writes };
  }
}

/** A hook deleted by a concurrent request between our read and our write is "not found". */
function goneHook(error: unknown): unknown {
  if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2025') return new NotFoundError('Hook');
  return error;
}
