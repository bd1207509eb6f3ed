import type { Binding } from './binding';
import type { ExchangeDefinition } from './exchange/exchange';
import type { QueueDefinition } from './queue/queue-definition';
import type { Policy } from './policy';
import type { TopicPermissionRecord, UserLimits, VhostLimits } from './access-model';

export interface UserRecord {
  name: string;
  /** RabbitMQ's format: base64(salt ‖ hash(salt ‖ password)), the hash named by hashingAlgorithm. */
  passwordHash: string;
  tags: string[];
  /** RabbitMQ's module name of the hash; absent means rabbit_password_hashing_sha256. */
  hashingAlgorithm?: HashingAlgorithm;
}

/** The password hashing schemes of RabbitMQ that Warren checks logins against. */
export type HashingAlgorithm = 'rabbit_password_hashing_sha256' | 'rabbit_password_hashing_sha512' | 'rabbit_password_hashing_md5';

export interface PermissionRecord {
  user: string;
  vhost: string;
  configure: string;
  write: string;
  read: string;
}

/**
 * A change to the broker's definitions. Commands are plain data so they can be written to a
 * log and replicated; applying the same sequence of commands to two brokers gives the same model.
 */
export type DefinitionCommand =
  | { op: 'vhost.add'; vhost: string }
  | { op: 'vhost.delete'; vhost: string }
  | { op: 'user.put'; user: UserRecord }
  | { op: 'user.delete'; name: string }
  | { op: 'permission.set'; permission: PermissionRecord }
  | { op: 'permission.clear'; user: string; vhost: string }
  | { op: 'topic-permission.set'; permission: TopicPermissionRecord }
  /** Without exchange: every topic permission of the user in the vhost. */
  | { op: 'topic-permission.clear'; user: string; vhost: string; exchange?: string }
  /** Replaces the vhost's limits; an empty object clears them. */
  | { op: 'vhost-limits.set'; vhost: string; limits: VhostLimits }
  /** Replaces the user's limits; an empty object clears them. */
  | { op: 'user-limits.set'; user: string; limits: UserLimits }
  /** A cluster-wide (global) runtime parameter such as cluster_name; value undefined clears it. */
  | { op: 'global-parameter.set'; name: string; value?: unknown }
  | { op: 'exchange.declare'; vhost: string; exchange: ExchangeDefinition }
  | { op: 'exchange.delete'; vhost: string; name: string; ifUnused: boolean }
  | { op: 'queue.declare'; vhost: string; queue: QueueDefinition; connectionId?: string }
  | { op: 'queue.delete'; vhost: string; name: string; ifUnused: boolean; ifEmpty: boolean }
  | { op: 'binding.add'; vhost: string; binding: Binding }
  | { op: 'binding.remove'; vhost: string; binding: Binding }
  | { op: 'policy.set'; policy: Policy }
  | { op: 'policy.delete'; vhost: string; name: string }
  /** A quorum queue's members changed (add_member, delete_member, grow, shrink). */
  | { op: 'queue.members'; vhost: string; name: string; members: string[] }
  /** A clustered node started again: its transient and exclusive queues are gone, as in RabbitMQ. */
  | { op: 'node.restarted'; node: string }
  /** A clustered node went down: its transient and exclusive queues are deleted cluster-wide, as in RabbitMQ. */
  | { op: 'node.down'; node: string };

/** What applying a command returns: for queue.declare whether it was created, for queue.delete the messages dropped. */
export interface CommandResult {
  created?: boolean;
  messageCount?: number;
}
