/** Stable error codes of the inter-node mesh. */
export type MeshErrorCode =
  /** The peer is not up (never connected, disconnected, or its link just failed). */
  | 'PEER_DOWN'
  /** The peer name was never passed to `connect()` nor learned from an inbound link, and no resolver is set. */
  | 'UNKNOWN_PEER'
  /** A request got no response within its timeout. */
  | 'REQUEST_TIMEOUT'
  /** The remote handler threw or its promise rejected; the message is the remote error's message. */
  | 'REMOTE_ERROR'
  /** The peer has no handler registered for the request's channel. */
  | 'NO_HANDLER'
  /** A payload is larger than `maxMessageBytes`, or a channel name longer than 65535 bytes. */
  | 'TOO_LARGE'
  /** The mesh was closed. */
  | 'CLOSED'
  /** A frame did not follow the mesh protocol. */
  | 'PROTOCOL_ERROR'
  /** The peer could not prove it knows the cluster secret, or named the wrong node. */
  | 'AUTH_FAILED';

/** Every failure the mesh reports to its callers is one of these. */
export class MeshError extends Error {
  override readonly name = 'MeshError';

  constructor(
    readonly code: MeshErrorCode,
    message: string,
    /** The peer concerned, when there is one. */
    readonly peer?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** True when `err` is a MeshError with the given code. */
export function isMeshError(err: unknown, code?: MeshErrorCode): err is MeshError {
  return err instanceof MeshError && (code === undefined || err.code === code);
}
