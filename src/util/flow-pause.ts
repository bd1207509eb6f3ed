import type { Duplex } from 'node:stream';

/** How often a paused publisher checks whether the consumer it waits for has caught up. */
const POLL_MS = 5;

/**
 * Stops reading `stream` until `congested()` turns false: a publisher is read only as fast
 * as the backed-up consumer it feeds can take messages. Does nothing when already paused.
 */
export function pauseWhile(stream: Duplex, congested: () => boolean): void {
  if (stream.isPaused()) return;
  stream.pause();
  const timer = setInterval(() => {
    if (stream.destroyed || !congested()) {
      clearInterval(timer);
      if (!stream.destroyed) stream.resume();
    }
  }, POLL_MS);
}
