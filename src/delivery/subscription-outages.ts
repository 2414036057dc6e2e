// Subscriptions through a database outage: a subscriber hears of the outage once (one error
// event), its stream pauses until the database answers, then carries on; the process logs one line
// per outage for all of its subscribers together, not one per update.
import { type DatabaseAvailability, OutageLog } from '../db/availability';
import { DatabaseUnavailableError } from '../db/unavailable';
import type { Logger } from '../logger';

export class SubscriptionOutages {
  private readonly log: OutageLog;

  constructor(
    private readonly availability: DatabaseAvailability,
    logger: Logger,
  ) {
    this.log = new OutageLog(logger, 'delivery subscriptions');
  }

  /** Holds a stream while the database is known to be down (until it answers, or `signal` aborts). */
  pause(signal?: AbortSignal): Promise<void> {
    return this.availability.waitUntilUp(signal);
  }

  /**
   * A reader for one subscriber. Its reads ride out outages: the first failure of an outage is a
   * DatabaseUnavailableError (the subscriber's one error event), later ones in the same outage
   * wait for the database and try again. A failure while the database answers is tried once more
   * (a connection lost to a restart), then is the error it is.
   */
  reader(signal?: AbortSignal): <T>(load: () => Promise<T>) => Promise<T> {
    let reported = -1;
    return async <T>(load: () => Promise<T>): Promise<T> => {
      let retried = false;
      for (;;) {
        try {
          const value = await load();
          this.log.recovered();
          return value;
        } catch (error) {
          if (signal?.aborted) throw error;
          if (!(await this.availability.check())) {
            if (retried) throw error;
            retried = true;
            continue;
          }
          this.log.failed(error);
          if (reported !== this.availability.outage) {
            reported = this.availability.outage;
            throw new DatabaseUnavailableError('The database is unavailable; updates resume when it answers again');
          }
          await this.availability.waitUntilUp(signal);
          if (signal?.aborted) throw error;
        }
      }
    };
  }
}
