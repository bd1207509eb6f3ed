/**
 * Dynamic shovels as far as the web UI's "Move messages" needs them: a shovel parameter
 * (PUT /api/parameters/shovel/{vhost}/{name}) whose source and destination are queues of
 * this broker is run inside the broker by a MessageMover, and its parameter is removed when
 * done (src-delete-after), as RabbitMQ's shovel does. Shovels to other brokers, from
 * exchanges, or that run forever (src-delete-after "never") are refused with a reason.
 *
 * Running moves live in the memory of the node that was asked (not in the metadata log):
 * a move ends within seconds, and a node restart simply stops it, messages staying in one
 * queue or the other.
 */
import type { Broker } from '../broker/broker';
import { MessageMover } from '../broker/move-messages';
import type { Row } from './broker-view';

export interface ShovelRequest {
  vhost: string;
  name: string;
  value: Row;
}

/** A shovel parameter's value is not one Warren can run: the reason, for a 400. */
export class ShovelError extends Error {}

interface Running {
  vhost: string;
  name: string;
  value: Row;
  mover: MessageMover;
  startedAtMs: number;
}

const BATCH_DEFAULT = 1000;
const BATCH_MAX = 10_000;
const CONFIRM_TIMEOUT_MS = 30_000;

export class Shovels {
  private readonly running = new Map<string, Running>();

  constructor(
    private readonly broker: Broker,
    private readonly nodeName: string,
  ) {}

  list(vhost?: string): Running[] {
    return [...this.running.values()].filter((r) => vhost === undefined || r.vhost === vhost);
  }

  get(vhost: string, name: string): Running | undefined {
    return this.running.get(`${vhost}\u0000${name}`);
  }

  /** Starts the move a shovel parameter describes; resolves once started, with whether it replaced a running one. */
  async start(r: ShovelRequest): Promise<{ created: boolean }> {
    const v = r.value;
    const vhost = this.broker.vhost(r.vhost);
    if (!vhost) throw new ShovelError(`vhost '${r.vhost}' does not exist`);
    for (const side of ['src', 'dest']) {
      const uri = v[`${side}-uri`];
      const uris = Array.isArray(uri) ? uri : [uri];
      if (!uris.every((u) => u === undefined || isThisBroker(u, r.vhost))) {
        throw new ShovelError(`${side}-uri must name this broker's vhost '${r.vhost}' (amqp:// or amqp:///vhost); shovels to other brokers are not supported`);
      }
      const protocol = v[`${side}-protocol`];
      if (protocol !== undefined && protocol !== 'amqp091') throw new ShovelError(`${side}-protocol '${String(protocol)}' is not supported (amqp091)`);
    }
    const source = v['src-queue'];
    const destination = v['dest-queue'];
    if (typeof source !== 'string' || source === '') throw new ShovelError('src-queue is required (shovels from an exchange are not supported)');
    if (typeof destination !== 'string' || destination === '') throw new ShovelError('dest-queue is required (shovels to an exchange are not supported)');
    if (source === destination) throw new ShovelError('src-queue and dest-queue must differ');
    for (const q of [source, destination]) if (!vhost.queues.has(q)) throw new ShovelError(`no queue '${q}' in vhost '${r.vhost}'`);
    const ackMode = v['ack-mode'] ?? 'on-confirm';
    if (ackMode !== 'on-confirm' && ackMode !== 'on-publish' && ackMode !== 'no-ack') throw new ShovelError(`ack-mode '${String(ackMode)}' is not one of on-confirm, on-publish, no-ack`);
    const after = v['src-delete-after'] ?? 'never';
    let limit: number;
    if (after === 'queue-length') {
      const counts = await vhost.queue(source).counts();
      limit = counts.messageCount;
    } else if (typeof after === 'number' && Number.isInteger(after) && after >= 0) {
      limit = after;
    } else {
      throw new ShovelError(`src-delete-after must be "queue-length" or a number of messages (a shovel that runs forever, '${String(after)}', is not supported)`);
    }
    const prefetch = v['src-prefetch-count'] ?? BATCH_DEFAULT;
    if (typeof prefetch !== 'number' || !Number.isInteger(prefetch) || prefetch < 1) throw new ShovelError('src-prefetch-count must be a positive integer');

    const key = `${r.vhost}\u0000${r.name}`;
    const previous = this.running.get(key);
    previous?.mover.stop();
    const mover = new MessageMover(vhost, source, destination, { limit, batch: Math.min(prefetch, BATCH_MAX), confirmTimeoutMs: CONFIRM_TIMEOUT_MS });
    const entry: Running = { vhost: r.vhost, name: r.name, value: v, mover, startedAtMs: Date.now() };
    this.running.set(key, entry);
    const finished = () => {
      if (this.running.get(key) === entry) this.running.delete(key);
    };
    mover.run().then(finished, finished);
    return { created: previous === undefined };
  }

  /** Stops a running move; false when there is none of that name. */
  delete(vhost: string, name: string): boolean {
    const r = this.running.get(`${vhost}\u0000${name}`);
    if (!r) return false;
    r.mover.stop();
    this.running.delete(`${vhost}\u0000${name}`);
    return true;
  }

  /** The status row of GET /api/shovels (rabbitmq_shovel_management). */
  statusRow(r: Running): Row {
    return {
      node: this.nodeName,
      timestamp: new Date(r.startedAtMs).toISOString().replace('T', ' ').slice(0, 19),
      name: r.name,
      vhost: r.vhost,
      type: 'dynamic',
      state: 'running',
      src_uri: r.value['src-uri'] ?? 'amqp://',
      src_protocol: 'amqp091',
      src_queue: r.value['src-queue'],
      dest_uri: r.value['dest-uri'] ?? 'amqp://',
      dest_protocol: 'amqp091',
      dest_queue: r.value['dest-queue'],
      blocked_status: 'running',
      messages_moved: r.mover.progress.moved,
    };
  }
}

/** amqp:///%2F (the UI's form), amqp:// or amqp:/// (vhost /): the local broker, with the shovel's own vhost. */
function isThisBroker(uri: unknown, vhost: string): boolean {
  if (typeof uri !== 'string') return false;
  const m = /^amqp:\/\/(\/(.*))?$/.exec(uri);
  if (!m) return false;
  if (m[2] === undefined || m[2] === '') return vhost === '/';
  try {
    return decodeURIComponent(m[2]) === vhost;
  } catch {
    return false;
  }
}
