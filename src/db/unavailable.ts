// The database cannot take this request now (down, or its queue is full): transports answer 503
// with `Retry-After` instead of letting the client time out.
export class DatabaseUnavailableError extends Error {
  override name = 'DatabaseUnavailableError';

  constructor(
    message = 'the database is unavailable',
    readonly retryAfterSeconds = 1,
  ) {
    super(message);
  }
}
