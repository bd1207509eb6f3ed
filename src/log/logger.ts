import pino from 'pino';

/** The root logger; modules take child loggers with `logger.child({ module: '...' })`. */
export const logger = pino({
  level: process.env.WARREN_LOG_LEVEL ?? 'info',
  base: { pid: process.pid },
});

export type Logger = pino.Logger;
