// Typed domain errors. Each transport maps them to its own error shape in exactly one place.

export abstract class DomainError extends Error {
  abstract readonly code: string;
}

export interface FieldIssue {
  /** The input field at fault, in the domain's camelCase naming (`url`, `pushEventsBranchFilter`). */
  field: string;
  message: string;
}

export class ValidationError extends DomainError {
  readonly code = 'VALIDATION_FAILED';
  constructor(readonly issues: FieldIssue[]) {
    super(issues.map((issue) => `${issue.field} ${issue.message}`).join('; '));
  }
  static of(field: string, message: string): ValidationError {
    return new ValidationError([{ field, message }]);
  }
  get field(): string {
    return this.issues[0]?.field ?? '';
  }
}

export class NotFoundError extends DomainError {
  readonly code = 'NOT_FOUND';
  constructor(readonly resource: string = 'Hook') {
    super(`${resource} not found`);
  }
}

export class UnauthenticatedError extends DomainError {
  readonly code = 'UNAUTHENTICATED';
  constructor(message = 'A valid API token is required') {
    super(message);
  }
}

export class ForbiddenError extends DomainError {
  readonly code = 'FORBIDDEN';
  constructor(message = 'You are not allowed to do this') {
    super(message);
  }
}

export class ConflictError extends DomainError {
  readonly code = 'CONFLICT';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** An `Idempotency-Key` already used, within its 24 hours, for a different publish request. */
export class IdempotencyConflictError extends ConflictError {
  constructor() {
    super('idempotencyKey', 'Idempotency-Key was already used with a different request');
  }
}
