import type { RaftMessage } from './messages';
import type { ServerId } from './types';

/**
 * Carries Raft messages between servers. Delivery is best effort: a transport may drop,
 * delay, duplicate or reorder messages (Raft retries), but must not corrupt them.
 * send() must not block or throw; queue or drop instead. The inbound handler is set
 * once, before any message arrives, and is called on the event loop with one message
 * at a time. A network transport carries encodeMessage(msg) bytes and hands
 * decodeMessage(bytes) to the handler.
 */
export interface Transport {
  /** Sends to server `to`; `address` is the configuration's address for it (a hint). */
  send(to: ServerId, msg: RaftMessage, address?: string): void;
  onMessage(handler: (msg: RaftMessage) => void): void;
  close(): Promise<void>;
}
