/**
 * A STOMP-level error: answered with an ERROR frame whose `message` header is `summary` and
 * whose body is `detail`. Most leave the connection open, as RabbitMQ's do.
 */
export class StompError extends Error {
  constructor(
    readonly summary: string,
    readonly detail: string,
    readonly closes = false,
  ) {
    super(`${summary}: ${detail}`);
  }
}
