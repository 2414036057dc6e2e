// Server-Sent Event responses stay open as long as their subscription: a graceful shutdown would
// wait on them forever. This keeps track of them so shutdown can end them (clients reconnect).
import type { ServerResponse } from 'node:http';
import type { NodeHandler } from './server';

export interface EventStreams {
  /** `handler`, noting every response it serves to a request that accepts an event stream. */
  readonly handler: NodeHandler;
  /** Ends every open event stream. */
  closeAll(): void;
}

export function trackEventStreams(handler: NodeHandler): EventStreams {
  const open = new Set<ServerResponse>();
  return {
    handler: (req, res) => {
      if (req.headers.accept?.includes('text/event-stream')) {
        open.add(res);
        res.once('close', () => open.delete(res));
      }
      return handler(req, res);
    },
    closeAll: () => {
      for (const res of open) res.destroy();
      open.clear();
    },
  };
}
