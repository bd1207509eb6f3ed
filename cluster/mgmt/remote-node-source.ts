/**
 * The management API's view of the other members of a cluster: each member serves its own
 * NodeSource (its connections, channels, consumers, rates, the queues it homes) on the mesh
 * channel 'mgmt.src', and every other node asks it through a RemoteNodeSource, so any node's
 * API answers for the whole cluster. A member that does not answer shows as not running, with
 * its queues listed from this node's model as down.
 */
import type { Mesh } from '../mesh';
import type { FetchedMessage, GetOptions, NodeSource, NodeTotals, PublishRequest, Row } from '../../src/mgmt/broker-view';
import type { LocalNodeSource } from '../../src/mgmt/local-node-source';
import type { SampledKind, SampleWindows } from '../../src/mgmt/object-history';

const CHANNEL = 'mgmt.src';
const TIMEOUT_MS = 5000;

type Method = 'node' | 'queues' | 'connections' | 'channels' | 'consumers' | 'exchangeStats' | 'totals' | 'churn' | 'messageStats' | 'closeConnection' | 'purge' | 'get' | 'samples';

/** Answers other members' requests with this node's own source. Returns the unregister function. */
export function serveNodeSource(mesh: Mesh, local: LocalNodeSource): () => void {
  return mesh.handle(CHANNEL, async (_from, payload) => {
    const { m, a } = JSON.parse(payload.toString('utf8')) as { m: Method; a: unknown[] };
    let result: unknown;
    switch (m) {
      case 'queues':
        // JSON turns undefined arguments into null.
        result = await local.queues((a[0] ?? undefined) as string | undefined, a[1] ? new Set(a[1] as string[]) : undefined);
        break;
      case 'closeConnection':
        result = await local.closeConnection(a[0] as string, a[1] as string);
        break;
      case 'purge':
        result = await local.purge(a[0] as string, a[1] as string);
        break;
      case 'get':
        result = await local.get(a[0] as string, a[1] as string, a[2] as GetOptions);
        break;
      case 'samples':
        result = await local.samples(a[0] as SampledKind, a[1] as string[], a[2] as SampleWindows);
        break;
      case 'node':
      case 'connections':
      case 'channels':
      case 'consumers':
      case 'exchangeStats':
      case 'totals':
      case 'churn':
      case 'messageStats':
        result = await local[m]();
        break;
      default:
        throw new Error(`unknown management request '${String(m)}'`);
    }
    return Buffer.from(JSON.stringify(result ?? null));
  });
}

export class RemoteNodeSource implements NodeSource {
  constructor(
    readonly nodeName: string,
    private readonly mesh: Mesh,
    /** This node's source, which lists the member's queues (down) when it does not answer. */
    private readonly local: LocalNodeSource,
  ) {}

  private async ask<T>(m: Method, a: unknown[], otherwise: T): Promise<T> {
    if (!this.mesh.isUp(this.nodeName)) return otherwise;
    try {
      const reply = await this.mesh.request(this.nodeName, CHANNEL, Buffer.from(JSON.stringify({ m, a })), TIMEOUT_MS);
      return JSON.parse(reply.toString('utf8')) as T;
    } catch {
      return otherwise;
    }
  }

  node(): Promise<Row> {
    return this.ask('node', [], { name: this.nodeName, running: false, type: 'disc' });
  }

  async queues(vhost: string | undefined, only?: Set<string>): Promise<Row[]> {
    const rows = await this.ask<Row[] | undefined>('queues', [vhost, only ? [...only] : undefined], undefined);
    return rows ?? this.local.queues(vhost, only, this.nodeName);
  }

  connections(): Promise<Row[]> {
    return this.ask('connections', [], []);
  }

  channels(): Promise<Row[]> {
    return this.ask('channels', [], []);
  }

  consumers(): Promise<Row[]> {
    return this.ask('consumers', [], []);
  }

  exchangeStats(): Promise<Record<string, Row>> {
    return this.ask('exchangeStats', [], {});
  }

  totals(): Promise<NodeTotals> {
    return this.ask('totals', [], { byVhost: {}, connections: 0, channels: 0, consumers: 0 });
  }

  churn(): Promise<Row> {
    return this.ask('churn', [], {});
  }

  messageStats(): Promise<{ node: Row; byVhost: Record<string, Row> }> {
    return this.ask('messageStats', [], { node: {}, byVhost: {} });
  }

  async samples(kind: SampledKind, id: string[], windows: SampleWindows): Promise<Row | undefined> {
    return (await this.ask<Row | null>('samples', [kind, id, windows], null)) ?? undefined;
  }

  /** Queues are reached through this node's handles (the local source answers for them). */
  async hasQueue(): Promise<boolean> {
    return false;
  }

  closeConnection(name: string, reason: string): Promise<boolean> {
    return this.ask('closeConnection', [name, reason], false);
  }

  purge(vhost: string, queue: string): Promise<number> {
    return this.local.purge(vhost, queue);
  }

  get(vhost: string, queue: string, options: GetOptions): Promise<FetchedMessage[]> {
    return this.local.get(vhost, queue, options);
  }

  /** Publishing enters at this node (BrokerView sends it to the local source). */
  publish(request: PublishRequest): Promise<boolean> {
    return this.local.publish(request);
  }
}
