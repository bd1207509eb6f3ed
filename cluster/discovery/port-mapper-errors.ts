/** Stable error codes of the port mapper client. */
export type PortMapperErrorCode =
  /** Nothing answered on the port mapper's port (refused, unreachable, timed out). */
  | 'PORT_MAPPER_UNAVAILABLE'
  /** The port mapper refused the registration: the name is already registered. */
  | 'NAME_TAKEN'
  /** The reply did not follow the EPMD protocol. */
  | 'PROTOCOL_ERROR';

/** Every failure of the port mapper client is one of these. */
export class PortMapperError extends Error {
  override readonly name = 'PortMapperError';

  constructor(
    readonly code: PortMapperErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
