// Messages between the main thread and the PGlite worker thread (pglite-host.ts, pglite-worker.ts).

export interface WorkerSettings {
  /** A data directory, or null for an in-memory database. */
  dataDir: string | null;
  /** A `dumpDataDir('gzip')` archive to start an in-memory database from (tests). */
  template?: Uint8Array<ArrayBuffer>;
}

export type ToWorker =
  | { type: 'open'; connection: number }
  /** Whole wire-protocol messages of one connection; `complete` when they end at Sync or Query. */
  | { type: 'data'; connection: number; bytes: Uint8Array; complete: boolean }
  | { type: 'close'; connection: number }
  | { type: 'ping'; id: number }
  | { type: 'close-database' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  | { type: 'data'; connection: number; bytes: Uint8Array }
  | { type: 'pong'; id: number }
  | { type: 'closed' };
