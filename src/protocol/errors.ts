/** Raised by the decoders when bytes do not form a valid value (a 502 SYNTAX_ERROR on the wire). */
export class ProtocolSyntaxError extends Error {
  override name = 'ProtocolSyntaxError';
}

/** Raised by the frame reader for a malformed frame (a 501 FRAME_ERROR on the wire). */
export class FrameError extends Error {
  override name = 'FrameError';
}
