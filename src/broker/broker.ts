import type { CommandResult, DefinitionCommand, PermissionRecord, UserRecord } from './definitions';
import { NotFound, PreconditionFailed } from './errors';
import { VirtualHost } from './vhost';
import { validatePolicy } from './policy';
import type { Queue } from './queue/queue';
import type { RemoteQueues } from './ports';
import { AccessModel } from './access-model';
import { ChurnCounters } from './message-stats';

/**
 * The broker's model: vhosts (each with exchanges, queues, bindings), users and permissions.
 * applyCommand() is the only way definitions change; it is called by the MetadataStore.
 */
export class Broker {
  readonly vhosts = new Map<string, VirtualHost>();
  readonly users = new Map<string, UserRecord>();
  /** Keyed by `${user}\u0000${vhost}`. */
  readonly permissions = new Map<string, PermissionRecord>();
  /** Topic permissions and vhost/user limits. */
  readonly access = new AccessModel();
  /** RabbitMQ's global runtime parameters (cluster_name, ...), by name. */
  readonly globalParameters = new Map<string, unknown>();
  /** Set by the node: deletes (through the MetadataStore) a queue whose x-expires lease ran out. */
  onQueueExpired: ((queue: Queue) => void) | undefined;
  /** Set by the node: opens the message store of a vhost created at run time. */
  onVhostAdded: ((vhost: VirtualHost) => void | Promise<void>) | undefined;
  /** Set by the node: closes the deleted user's connections, as RabbitMQ does. */
  onUserDeleted: ((name: string) => void) | undefined;

  /** Connections, channels and queues opened and closed (management statistics). */
  readonly churn = new ChurnCounters();

  private memoryAlarm = false;
  private remoteQueues: RemoteQueues | undefined;

  /** Plugs in clustered messaging: queues homed on other nodes get remote handles. Set before any queue is declared. */
  set remote(remote: RemoteQueues | undefined) {
    this.remoteQueues = remote;
    for (const v of this.vhosts.values()) v.remote = remote;
  }

  get remote(): RemoteQueues | undefined {
    return this.remoteQueues;
  }

  /** The memory alarm changed: while it is on, vhosts drop messages they would dead-letter. */
  setMemoryAlarm(on: boolean): void {
    this.memoryAlarm = on;
    for (const v of this.vhosts.values()) v.memoryAlarm = on;
  }

  vhost(name: string): VirtualHost | undefined {
    return this.vhosts.get(name);
  }

  permission(user: string, vhost: string): PermissionRecord | undefined {
    return this.permissions.get(`${user}\u0000${vhost}`);
  }

  applyCommand(cmd: DefinitionCommand): CommandResult {
    switch (cmd.op) {
      case 'vhost.add':
        if (!this.vhosts.has(cmd.vhost)) {
          const vhost = new VirtualHost(cmd.vhost);
          vhost.memoryAlarm = this.memoryAlarm;
          vhost.remote = this.remoteQueues;
          vhost.onQueueExpired = (q) => this.onQueueExpired?.(q);
          this.vhosts.set(cmd.vhost, vhost);
          void this.onVhostAdded?.(vhost);
        }
        return {};
      case 'vhost.delete': {
        const vhost = this.requireVhost(cmd.vhost);
        for (const name of [...vhost.queues.keys()]) vhost.deleteQueue(name, false, false);
        this.vhosts.delete(cmd.vhost);
        for (const [key, p] of this.permissions) if (p.vhost === cmd.vhost) this.permissions.delete(key);
        this.access.forget('vhost', cmd.vhost);
        return {};
      }
      case 'user.put':
        this.users.set(cmd.user.name, cmd.user);
        return {};
      case 'user.delete':
        if (!this.users.delete(cmd.name)) throw new NotFound(`no user '${cmd.name}'`);
        for (const [key, p] of this.permissions) if (p.user === cmd.name) this.permissions.delete(key);
        this.access.forget('user', cmd.name);
        this.onUserDeleted?.(cmd.name);
        return {};
      case 'permission.set':
        if (!this.users.has(cmd.permission.user)) throw new NotFound(`no user '${cmd.permission.user}'`);
        this.requireVhost(cmd.permission.vhost);
        this.permissions.set(`${cmd.permission.user}\u0000${cmd.permission.vhost}`, cmd.permission);
        this.access.version++;
        return {};
      case 'permission.clear':
        this.permissions.delete(`${cmd.user}\u0000${cmd.vhost}`);
        this.access.version++;
        return {};
      case 'topic-permission.set':
        if (!this.users.has(cmd.permission.user)) throw new NotFound(`no user '${cmd.permission.user}'`);
        this.requireVhost(cmd.permission.vhost);
        this.access.setTopicPermission(cmd.permission);
        return {};
      case 'topic-permission.clear':
        this.access.clearTopicPermissions(cmd.user, cmd.vhost, cmd.exchange);
        return {};
      case 'vhost-limits.set':
        this.requireVhost(cmd.vhost);
        if (Object.keys(cmd.limits).length === 0) this.access.vhostLimits.delete(cmd.vhost);
        else this.access.vhostLimits.set(cmd.vhost, cmd.limits);
        return {};
      case 'user-limits.set':
        if (!this.users.has(cmd.user)) throw new NotFound(`no user '${cmd.user}'`);
        if (Object.keys(cmd.limits).length === 0) this.access.userLimits.delete(cmd.user);
        else this.access.userLimits.set(cmd.user, cmd.limits);
        return {};
      case 'global-parameter.set':
        if (cmd.value === undefined) this.globalParameters.delete(cmd.name);
        else this.globalParameters.set(cmd.name, cmd.value);
        return {};
      case 'exchange.declare':
        this.access.version++; // publish grants are cached by exchange name
        this.requireVhost(cmd.vhost).declareExchange(cmd.exchange);
        return {};
      case 'exchange.delete':
        this.access.version++;
        this.requireVhost(cmd.vhost).deleteExchange(cmd.name, cmd.ifUnused);
        return {};
      case 'queue.declare': {
        const created = this.requireVhost(cmd.vhost).declareQueue(cmd.queue, cmd.connectionId).created;
        this.churn.queueDeclared++;
        if (created) this.churn.queueCreated++;
        return { created };
      }
      case 'queue.members': {
        const vhost = this.requireVhost(cmd.vhost);
        const q = vhost.queue(cmd.name);
        if (q.def.quorumGroup === undefined) throw new PreconditionFailed(`queue '${cmd.name}' in vhost '${cmd.vhost}' is not a quorum queue`);
        // A member removed never bootstraps the group again: added back, it starts empty.
        q.def.initialMembers = (q.def.initialMembers ?? q.def.members ?? []).filter((m) => cmd.members.includes(m));
        q.def.members = [...cmd.members];
        vhost.remote?.membersChanged?.(q);
        return {};
      }
      case 'queue.delete': {
        const messageCount = this.requireVhost(cmd.vhost).deleteQueue(cmd.name, cmd.ifUnused, cmd.ifEmpty);
        this.churn.queueDeleted++;
        return { messageCount };
      }
      case 'binding.add':
        this.requireVhost(cmd.vhost).addBinding(cmd.binding);
        return {};
      case 'binding.remove':
        this.requireVhost(cmd.vhost).removeBinding(cmd.binding);
        return {};
      case 'policy.set':
        validatePolicy(cmd.policy);
        this.requireVhost(cmd.policy.vhost).setPolicy(cmd.policy);
        return {};
      case 'policy.delete':
        this.requireVhost(cmd.vhost).deletePolicy(cmd.name);
        return {};
      case 'node.down':
      case 'node.restarted': {
        let messageCount = 0;
        for (const vhost of this.vhosts.values()) {
          for (const q of [...vhost.queues.values()]) {
            if (q.def.ownerNode === cmd.node && (!q.def.durable || q.def.exclusive)) messageCount += vhost.deleteQueue(q.name, false, false);
          }
        }
        return { messageCount };
      }
    }
  }

  private requireVhost(name: string): VirtualHost {
    const v = this.vhosts.get(name);
    if (!v) throw new PreconditionFailed(`no vhost '${name}'`);
    return v;
  }
}
