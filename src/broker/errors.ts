/**
 * Domain errors raised by the broker model. Each carries the AMQP reply code RabbitMQ uses;
 * src/amqp/reply.ts turns them into channel.close or connection.close frames. Codes below 500
 * close the channel, the rest the connection.
 */
export class AmqpError extends Error {
  constructor(
    readonly replyCode: number,
    readonly replyName: string,
    message: string,
  ) {
    super(message);
  }

  /** reply-text as RabbitMQ writes it: `NAME - explanation`. */
  get replyText(): string {
    return `${this.replyName} - ${this.message}`;
  }
}

const define = (code: number, name: string) =>
  class extends AmqpError {
    constructor(message: string) {
      super(code, name, message);
    }
  };

export const AccessRefused = define(403, 'ACCESS_REFUSED');
export const NotFound = define(404, 'NOT_FOUND');
export const ResourceLocked = define(405, 'RESOURCE_LOCKED');
export const PreconditionFailed = define(406, 'PRECONDITION_FAILED');
export const ConnectionForced = define(320, 'CONNECTION_FORCED');
export const FrameErrorReply = define(501, 'FRAME_ERROR');
export const SyntaxErrorReply = define(502, 'SYNTAX_ERROR');
export const CommandInvalid = define(503, 'COMMAND_INVALID');
export const ChannelError = define(504, 'CHANNEL_ERROR');
export const UnexpectedFrame = define(505, 'UNEXPECTED_FRAME');
export const ResourceError = define(506, 'RESOURCE_ERROR');
export const NotAllowed = define(530, 'NOT_ALLOWED');
export const NotImplemented = define(540, 'NOT_IMPLEMENTED');
export const InternalError = define(541, 'INTERNAL_ERROR');

/** True when the error closes only the channel (a soft error). */
export function isChannelError(e: AmqpError): boolean {
  return e.replyCode < 500 && e.replyCode !== 320 && e.replyCode !== 402;
}
