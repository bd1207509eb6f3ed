/**
 * The access-control data beside users and permissions: topic permissions and the vhost and
 * user limits. Changed only by Broker.applyCommand (so through the MetadataStore); read by
 * src/auth's checker and src/amqp's limit checks. `version` grows on every change to
 * permissions of any kind, so a channel may cache a granted check until it moves.
 */
export interface TopicPermissionRecord {
  user: string;
  vhost: string;
  exchange: string;
  write: string;
  read: string;
}

/** RabbitMQ's vhost limits (`set_vhost_limits`); a negative value means no limit. */
export interface VhostLimits {
  'max-connections'?: number;
  'max-queues'?: number;
}

/** RabbitMQ's user limits (`set_user_limits`); a negative value means no limit. */
export interface UserLimits {
  'max-connections'?: number;
  'max-channels'?: number;
}

export const VHOST_LIMIT_KEYS = ['max-connections', 'max-queues'] as const;
export const USER_LIMIT_KEYS = ['max-connections', 'max-channels'] as const;

export class AccessModel {
  /** Keyed by `${user}\0${vhost}\0${exchange}`. */
  readonly topicPermissions = new Map<string, TopicPermissionRecord>();
  readonly vhostLimits = new Map<string, VhostLimits>();
  readonly userLimits = new Map<string, UserLimits>();
  /** Grows whenever a permission or topic permission changes, and when an exchange is declared or deleted. */
  version = 0;

  topicPermission(user: string, vhost: string, exchange: string): TopicPermissionRecord | undefined {
    return this.topicPermissions.get(`${user}\u0000${vhost}\u0000${exchange}`);
  }

  /** True when `user` has at least one topic permission in `vhost` (the publish cache's fast "no" path). */
  hasTopicPermissions(user: string, vhost: string): boolean {
    for (const p of this.topicPermissions.values()) if (p.user === user && p.vhost === vhost) return true;
    return false;
  }

  setTopicPermission(p: TopicPermissionRecord): void {
    this.topicPermissions.set(`${p.user}\u0000${p.vhost}\u0000${p.exchange}`, p);
    this.version++;
  }

  /** Removes the user's topic permissions in the vhost: one exchange's, or all when exchange is undefined. */
  clearTopicPermissions(user: string, vhost: string, exchange: string | undefined): void {
    for (const [key, p] of this.topicPermissions) {
      if (p.user === user && p.vhost === vhost && (exchange === undefined || p.exchange === exchange)) this.topicPermissions.delete(key);
    }
    this.version++;
  }

  /** A vhost or user went: everything of it goes. */
  forget(kind: 'vhost' | 'user', name: string): void {
    for (const [key, p] of this.topicPermissions) if (p[kind] === name) this.topicPermissions.delete(key);
    if (kind === 'vhost') this.vhostLimits.delete(name);
    else this.userLimits.delete(name);
    this.version++;
  }

  /** The limit in force, or undefined when none (absent or negative). */
  static limit<T extends VhostLimits | UserLimits>(limits: T | undefined, key: keyof T): number | undefined {
    const n = limits?.[key] as number | undefined;
    return n === undefined || n < 0 ? undefined : n;
  }

  /** Empties everything (before a full metadata image is applied). */
  clear(): void {
    this.topicPermissions.clear();
    this.vhostLimits.clear();
    this.userLimits.clear();
    this.version++;
  }
}
