// Live updates: `deliveryUpdated` over Server-Sent Events (GET /graphql, Accept: text/event-stream).
// EventSource cannot send an Authorization header, so the stream is read with fetch. A graphql-ws
// client can replace this function without its callers changing.
import { authHeaders, requestBody } from './api';

export interface DeliverySummary {
  id: string;
  event: string;
  status: string;
  attemptCount: number;
  nextAttemptAt: string | null;
  createdAt: string;
}

/** Calls `onDelivery` for each update until the returned function is called; reconnects after a drop. */
export function subscribeDeliveries(hookId: string | null, onDelivery: (delivery: DeliverySummary) => void): () => void {
  const controller = new AbortController();
  const { variables, ...body } = requestBody('DeliveryUpdated', { hookId });
  const params = new URLSearchParams({ ...body, variables: JSON.stringify(variables) });
  const run = async (): Promise<void> => {
    while (!controller.signal.aborted) {
      try {
        const response = await fetch(`/graphql?${params}`, { headers: { accept: 'text/event-stream', ...authHeaders() }, signal: controller.signal });
        if (!response.body || !response.ok) throw new Error(`stream answered ${response.status}`);
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const message = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = message
              .split('\n')
              .filter((line) => line.startsWith('data:'))
              .map((line) => line.slice(5).trim())
              .join('\n');
            if (!data) continue;
            const payload = JSON.parse(data) as { data?: { deliveryUpdated?: DeliverySummary } };
            if (payload.data?.deliveryUpdated) onDelivery(payload.data.deliveryUpdated);
          }
        }
      } catch {
        if (controller.signal.aborted) return;
      }
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
  };
  void run();
  return () => controller.abort();
}
