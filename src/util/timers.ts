import { logger } from '../log/logger';

/** setTimeout's largest delay (2^31 - 1 ms, about 24.8 days); longer ones fire at once with a warning. */
export const MAX_TIMER_MS = 0x7fffffff;

const log = logger.child({ module: 'timers' });

/**
 * An unref'd timer whose callback cannot take the process down: an exception is logged.
 * Delays beyond MAX_TIMER_MS are clamped; callers re-check the time when it fires.
 */
export function safeTimeout(fn: () => void, delayMs: number): NodeJS.Timeout {
  const timer = setTimeout(() => {
    try {
      fn();
    } catch (err) {
      log.error({ err }, 'timer callback failed');
    }
  }, Math.min(Math.max(0, delayMs), MAX_TIMER_MS));
  timer.unref();
  return timer;
}
