import type { FieldTable } from '../../protocol/field-table';

/** A queue as declared: what the metadata store replicates. */
export interface QueueDefinition {
  name: string;
  durable: boolean;
  exclusive: boolean;
  autoDelete: boolean;
  arguments: FieldTable;
  /** The connection that owns an exclusive queue (node-unique id). */
  exclusiveOwner?: string;
  /**
   * The queue's home: the node that holds its messages (clustered nodes only; absent on a
   * single node). Chosen at declare by the queue leader locator.
   */
  ownerNode?: string;
  /**
   * Quorum queues (clustered nodes only): the id of the queue's Raft group (unique per
   * incarnation of the queue) and its members, chosen at declare; ownerNode is then the
   * preferred leader.
   */
  quorumGroup?: string;
  members?: string[];
  /** The members the group was created with (set once members change): only they bootstrap it. */
  initialMembers?: string[];
}
