/** The message store package: see README.md in this folder. */
export type { MessageId, MessageStore, RecoveryResult, StoreStats, StoredMessage, Ticket } from './message-store';
export { MemoryMessageStore } from './memory-store';
export { SegmentMessageStore, openSegmentStore, type SegmentStoreOptions } from './segment-store';
export { CorruptRecordError, StoreClosedError, StoreFailedError } from './store-errors';
