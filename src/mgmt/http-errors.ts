/** Errors the API answers with RabbitMQ's JSON body `{error, reason}`. */
import { AmqpError } from '../broker/errors';

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly error: string,
    readonly reason: string,
  ) {
    super(reason);
  }
}

export const badRequest = (reason: string) => new ApiError(400, 'bad_request', reason);
export const notFound = () => new ApiError(404, 'Object Not Found', 'Not Found');
export const notAuthorised = (reason = 'Not management user') => new ApiError(401, 'not_authorised', reason);

/** A domain error from the broker as the HTTP answer RabbitMQ gives for it. */
export function fromDomainError(err: unknown): ApiError | undefined {
  if (err instanceof ApiError) return err;
  if (err instanceof AmqpError) {
    if (err.replyCode === 404) return new ApiError(404, 'Object Not Found', 'Not Found');
    if (err.replyCode === 403) return new ApiError(401, 'not_authorised', err.message);
    return new ApiError(400, 'bad_request', err.message);
  }
  return undefined;
}
