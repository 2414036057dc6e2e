// The embedded database's own thread: PGlite runs here, so a long query blocks this thread and
// never the HTTP event loop. The main thread speaks the PostgreSQL wire protocol to it over a
// MessagePort (see pglite-host.ts); this side hands each batch of messages to PGlite as they came.
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import type { FromWorker, ToWorker, WorkerSettings } from './pglite-protocol';

interface Batch {
  connection: number;
  bytes: Uint8Array;
  /** Ends at a Sync or a simple Query: the session is back at ReadyForQuery after it. */
  complete: boolean;
}

const port = parentPort!;
const settings = workerData as WorkerSettings;
const send = (message: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

let pglite: PGlite;
try {
  pglite = settings.dataDir ? new PGlite(settings.dataDir) : new PGlite(settings.template ? { loadDataDir: new Blob([settings.template]) } : {});
  await pglite.waitReady;
  // The first query loads the catalogs (seconds on a busy machine): done before the pool connects.
  await pglite.query('SELECT 1');
} catch (error) {
  send({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
  process.exit(1);
}

const queue: Batch[] = [];
const open = new Set<number>();
/**
 * PGlite is one session shared by every connection. A connection inside a transaction, or in the
 * middle of an extended-query exchange (Parse … Sync), owns it: only its batches run until it is done.
 */
let owner: number | null = null;
let running = false;

function next(): Batch | undefined {
  if (owner === null) return queue.shift();
  const index = queue.findIndex((batch) => batch.connection === owner);
  return index === -1 ? undefined : queue.splice(index, 1)[0];
}

async function drain(): Promise<void> {
  if (running) return;
  running = true;
  try {
    for (;;) {
      if (owner !== null && !open.has(owner)) await release(owner);
      const batch = next();
      if (!batch) break;
      const chunks: Uint8Array[] = [];
      try {
        await pglite.execProtocolRawStream(batch.bytes, { onRawData: (chunk) => chunks.push(chunk.slice()) });
      } catch (error) {
        // PGlite reports SQL errors in the protocol; a throw here means the engine itself failed.
        send({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
        process.exit(1);
      }
      owner = batch.complete && !pglite.isInTransaction() ? null : batch.connection;
      // Answered even for a connection that has gone: the host counts the batches in flight.
      const bytes = concat(chunks);
      send({ type: 'data', connection: batch.connection, bytes }, [bytes.buffer as ArrayBuffer]);
      // Lets pings and new batches in between two queries.
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    running = false;
  }
}

/** A connection that went away inside a transaction: roll it back so the others can go on. */
async function release(connection: number): Promise<void> {
  if (owner !== connection) return;
  owner = null;
  // A Sync ends an extended-query exchange it may have left open; then undo its transaction.
  await pglite.execProtocolRawStream(SYNC, { onRawData: () => {} }).catch(() => undefined);
  if (pglite.isInTransaction()) await pglite.exec('ROLLBACK').catch(() => undefined);
}

const SYNC = new Uint8Array([0x53, 0, 0, 0, 4]);

function concat(chunks: Uint8Array[]): Uint8Array {
  const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'open':
      open.add(message.connection);
      break;
    case 'data':
      queue.push({ connection: message.connection, bytes: message.bytes, complete: message.complete });
      void drain();
      break;
    case 'close': {
      open.delete(message.connection);
      for (let i = queue.length - 1; i >= 0; i--) {
        if (queue[i]!.connection !== message.connection) continue;
        queue.splice(i, 1);
        send({ type: 'data', connection: message.connection, bytes: new Uint8Array(0) });
      }
      void drain();
      break;
    }
    case 'ping':
      send({ type: 'pong', id: message.id });
      break;
    case 'close-database':
      void pglite.close().finally(() => send({ type: 'closed' }));
      break;
  }
});

send({ type: 'ready' });
