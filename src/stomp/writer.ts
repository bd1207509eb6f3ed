import { BatchedWriter } from '../util/batched-writer';

/** A STOMP connection's writer: frames are encoded by the caller (see BatchedWriter). */
export class FrameWriter extends BatchedWriter {
  send(bytes: Buffer): void {
    this.queueBytes(bytes);
  }
}
