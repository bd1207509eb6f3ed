/** Thrown by any call on a store after close(). */
export class StoreClosedError extends Error {
  readonly code = 'STORE_CLOSED';
  constructor() {
    super('message store is closed');
    this.name = 'StoreClosedError';
  }
}

/**
 * Thrown by writes after a write or fsync failed. The store cannot know what reached
 * the disk, so it refuses further work; reopening runs recovery.
 */
export class StoreFailedError extends Error {
  readonly code = 'STORE_FAILED';
  constructor(override readonly cause: Error) {
    super(`message store failed: ${cause.message}`);
    this.name = 'StoreFailedError';
  }
}

/** A record read back from disk did not match its CRC; its bytes are withheld. */
export class CorruptRecordError extends Error {
  readonly code = 'CORRUPT_RECORD';
  constructor(
    readonly segment: number,
    readonly offset: number,
  ) {
    super(`corrupt record in segment ${segment} at offset ${offset}`);
    this.name = 'CorruptRecordError';
  }
}
