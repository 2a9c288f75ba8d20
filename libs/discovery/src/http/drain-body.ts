import type { Response } from 'undici';

/**
 * Bodies up to this size are read to their end when dropped: the request is then complete and its
 * keep-alive connection goes back to the pool. A larger one is cancelled, which costs its connection.
 */
const DRAINED_BYTES = 64 * 1024;

/**
 * Drops an answer that will not be the result (a hedge's loser, a 503 another instance did better
 * than) without losing its connection: cancelling a body still arriving makes undici close the
 * socket, and a caller whose losers each cost a connection opens hundreds of new ones under load.
 */
export async function drainBody(response: Response): Promise<void> {
  const body = response.body;
  if (body === null) return;
  const reader = body.getReader() as ReadableStreamDefaultReader<Uint8Array>;
  try {
    let read = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      read += value.byteLength;
      if (read > DRAINED_BYTES) {
        await reader.cancel();
        return;
      }
    }
  } catch {
    // Aborted (its attempt timed out meanwhile) or reset: nothing left to keep.
  }
}
