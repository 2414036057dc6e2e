// The main thread's side of the embedded database: PGlite runs in a worker thread (pglite-worker.ts)
// and the app reaches it as it reaches a PostgreSQL server, through `pg` and `@prisma/adapter-pg`,
// each pooled connection a Duplex stream carrying the wire protocol over the worker's MessagePort.
// So a long query occupies the worker, and HTTP, metrics and health keep answering.
import { Duplex } from 'node:stream';
import { Worker } from 'node:worker_threads';
import type { FromWorker, ToWorker, WorkerSettings } from './pglite-protocol';

export class PGliteStoppedError extends Error {
  override name = 'PGliteStoppedError';
  readonly code = 'ECONNRESET';
}

export class PGliteHost {
  private readonly connections = new Map<number, WorkerConnection>();
  /** Pings awaiting their pong: true when answered, null when the worker stopped. */
  private readonly pings = new Map<number, (answered: boolean | null) => void>();
  private nextId = 1;
  private stopped: Error | null = null;
  /** Batches sent and not yet answered: the worker is busy while this is above zero. */
  private inFlight = 0;
  private readonly stopHandlers: (() => void)[] = [];

  private constructor(private readonly worker: Worker) {
    worker.on('message', (message: FromWorker) => this.receive(message));
    worker.on('error', (error) => this.stop(error));
    worker.on('exit', (code) => this.stop(new PGliteStoppedError(`the embedded database stopped (worker exit code ${code})`)));
  }

  /** Starts the worker and resolves once PGlite is ready in it. */
  static async start(settings: WorkerSettings): Promise<PGliteHost> {
    // The entry registers tsx's loader in the worker's thread, which does not inherit it.
    const worker = new Worker(new URL('./pglite-worker-entry.mjs', import.meta.url), {
      workerData: settings,
      ...(settings.template ? { transferList: [settings.template.buffer as ArrayBuffer] } : {}),
    });
    let onMessage: (message: FromWorker) => void = () => {};
    let onError: (error: Error) => void = () => {};
    let onExit: (code: number) => void = () => {};
    const ready = new Promise<void>((resolve, reject) => {
      onMessage = (message) => {
        if (message.type === 'ready') resolve();
        if (message.type === 'failed') reject(new Error(`the embedded database could not start: ${message.message}`));
      };
      onError = reject;
      onExit = (code) => reject(new Error(`the embedded database could not start (worker exit code ${code})`));
      worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    });
    try {
      await ready;
    } catch (error) {
      await worker.terminate();
      throw error;
    } finally {
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
    }
    return new PGliteHost(worker);
  }

  get alive(): boolean {
    return this.stopped === null;
  }

  /** Whether the worker is running a query now (a ping may then wait for it to finish). */
  get busy(): boolean {
    return this.inFlight > 0;
  }

  /** Called once when the worker stops, whatever the reason. */
  onStop(handler: () => void): void {
    this.stopHandlers.push(handler);
  }

  /** A new wire-protocol connection, for `pg` (its `stream` option). */
  connection(): Duplex {
    const id = this.nextId++;
    const connection = new WorkerConnection(this, id);
    this.connections.set(id, connection);
    return connection;
  }

  /** Resolves when the worker's thread turns (between two queries), or false after `timeoutMs`. */
  async ping(timeoutMs: number): Promise<boolean> {
    if (this.stopped) throw this.stopped;
    const id = this.nextId++;
    let timer: NodeJS.Timeout | undefined;
    const answered = await new Promise<boolean | null>((resolve) => {
      this.pings.set(id, resolve);
      timer = setTimeout(() => resolve(false), timeoutMs);
      this.post({ type: 'ping', id });
    }).finally(() => {
      clearTimeout(timer);
      this.pings.delete(id);
    });
    if (answered === null) throw this.stopped ?? new Error('the embedded database stopped');
    return answered;
  }

  /** Closes PGlite (flushing it to disk) and ends the thread. */
  async close(): Promise<void> {
    if (this.stopped) return;
    const done = new Promise<void>((resolve) => {
      this.worker.on('message', (message: FromWorker) => message.type === 'closed' && resolve());
      this.worker.once('exit', () => resolve());
    });
    this.post({ type: 'close-database' });
    await done;
    await this.worker.terminate();
  }

  /** Ends the worker at once, as a crash would (tests use it to make the database unavailable). */
  async terminate(): Promise<void> {
    await this.worker.terminate();
  }

  send(message: ToWorker): void {
    if (message.type === 'data') this.inFlight += 1;
    this.post(message, message.type === 'data' ? [message.bytes.buffer as ArrayBuffer] : []);
  }

  forget(id: number): void {
    this.connections.delete(id);
  }

  get stoppedError(): Error | null {
    return this.stopped;
  }

  private post(message: ToWorker, transfer: ArrayBuffer[] = []): void {
    if (!this.stopped) this.worker.postMessage(message, transfer);
  }

  private receive(message: FromWorker): void {
    switch (message.type) {
      case 'data':
        this.inFlight = Math.max(0, this.inFlight - 1);
        this.connections.get(message.connection)?.receive(message.bytes);
        break;
      case 'pong':
        this.pings.get(message.id)?.(true);
        break;
      case 'failed':
        this.stop(new PGliteStoppedError(`the embedded database failed: ${message.message}`));
        break;
      default:
        break;
    }
  }

  private stop(error: Error): void {
    if (this.stopped) return;
    this.stopped = error;
    for (const connection of this.connections.values()) connection.destroy(error);
    this.connections.clear();
    for (const resolve of this.pings.values()) resolve(null);
    this.pings.clear();
    for (const handler of this.stopHandlers) handler();
  }
}

const SYNC = 0x53;
const QUERY = 0x51;
const FLUSH = 0x48;
const TERMINATE = 0x58;

/**
 * One connection as `pg` sees a socket. Written bytes are cut into whole messages and sent to the
 * worker a round trip at a time (up to a Sync, Query or Flush), so it never sees half an exchange.
 */
class WorkerConnection extends Duplex {
  private buffer: Buffer = Buffer.alloc(0);
  private started = false;
  private opened = false;

  constructor(
    private readonly host: PGliteHost,
    private readonly id: number,
  ) {
    super();
  }

  // The socket methods `pg` calls; a thread needs no keep-alive or Nagle.
  connect(): this {
    process.nextTick(() => {
      const stopped = this.host.stoppedError;
      if (stopped) return this.destroy(stopped);
      this.opened = true;
      this.host.send({ type: 'open', connection: this.id });
      this.emit('connect');
    });
    return this;
  }

  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }

  receive(bytes: Uint8Array): void {
    this.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    let offset = 0;
    let boundary = 0;
    let complete = false;
    let terminate = false;
    if (!this.started) {
      // The startup message has no type byte: a length, then the protocol version.
      if (this.buffer.length < 4 || this.buffer.length < this.buffer.readInt32BE(0)) {
        callback();
        return;
      }
      offset = boundary = this.buffer.readInt32BE(0);
      this.started = true;
      complete = true;
    }
    while (this.buffer.length - offset >= 5) {
      const length = 1 + this.buffer.readInt32BE(offset + 1);
      if (this.buffer.length - offset < length) break;
      const type = this.buffer[offset]!;
      offset += length;
      if (type === TERMINATE) {
        terminate = true;
        break;
      }
      if (type === SYNC || type === QUERY || type === FLUSH) {
        boundary = offset;
        complete = type !== FLUSH;
      }
    }
    if (boundary > 0) {
      // A copy the worker can own: `chunk` may be a view into pg's pooled buffers.
      const bytes = new Uint8Array(this.buffer.subarray(0, boundary));
      this.host.send({ type: 'data', connection: this.id, bytes, complete });
      this.buffer = this.buffer.subarray(boundary);
    }
    if (terminate) this.end();
    callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.closeInWorker();
    this.push(null);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.closeInWorker();
    callback(error);
  }

  private closeInWorker(): void {
    this.host.forget(this.id);
    if (this.opened) this.host.send({ type: 'close', connection: this.id });
    this.opened = false;
  }
}
