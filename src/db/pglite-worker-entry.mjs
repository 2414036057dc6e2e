// The PGlite worker thread's entry: worker threads start without the main thread's TypeScript
// loader, so this registers tsx's in this thread, then loads the worker itself.
import { register } from 'tsx/esm/api';

register();
await import('./pglite-worker.ts');
