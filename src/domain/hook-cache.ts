// Hooks read by id, kept in memory until the database says they changed.
//
// Reads of one hook are the hottest path of the REST dialects, and hooks change rarely. A trigger
// announces every change to a hook or its url variables, by any process or tool (migration
// 20261123110000_hook_change_notifications), so an entry lives exactly until its hook changes:
// at once in the process that made the change, within a notification's delay (about a
// millisecond) in the others. While the notification connection is down nothing is cached.
import type { Notifications } from '../db/notifications';

export const HOOK_CHANGES_CHANNEL = 'hookgate_hook_changes';
const MAX_ENTRIES = 10_000;

/** Entries now, hits and misses since start (read by /metrics when scraped). */
export interface CacheStats {
  entries: number;
  hits: number;
  misses: number;
}

export class HookCache<T> {
  private readonly entries = new Map<number, T>();
  /**
   * Bumped by every invalidation. A read that started before one may have seen the old row, so it
   * is not stored: a notification can never be "overtaken" by a slow read.
   */
  private generation = 0;
  private hits = 0;
  private misses = 0;

  private constructor(private readonly notifications: Notifications) {}

  /** A cache fed by `notifications`; resolves once it is listening. */
  static async listening<T>(notifications: Notifications): Promise<HookCache<T>> {
    const cache = new HookCache<T>(notifications);
    await notifications.listen(HOOK_CHANGES_CHANNEL, (payload) => cache.invalidate(Number(payload)));
    notifications.onGap(() => cache.clear());
    return cache;
  }

  /** The hook with `id`, from memory or from `load`; `null` (not found) is never kept. */
  async get(id: number, load: () => Promise<T | null>): Promise<T | null> {
    const cached = this.entries.get(id);
    if (cached !== undefined) {
      this.hits++;
      return cached;
    }
    this.misses++;
    const generation = this.generation;
    const loaded = await load();
    if (loaded !== null && generation === this.generation && this.notifications.live) {
      // Oldest first out: Map keeps insertion order.
      if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(id, loaded);
    }
    return loaded;
  }

  invalidate(id: number): void {
    this.generation++;
    this.entries.delete(id);
  }

  clear(): void {
    this.generation++;
    this.entries.clear();
  }

  stats(): CacheStats {
    return { entries: this.entries.size, hits: this.hits, misses: this.misses };
  }
}
