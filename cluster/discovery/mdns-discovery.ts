import type { RemoteInfo } from 'node:dgram';
import { networkInterfaces } from 'node:os';
import makeMdns from 'multicast-dns';
import type { Answer, Packet, Question } from 'dns-packet';
import { logger, type Logger } from '../../src/log/logger';
import { notifyPeer, type Discovery, type PeerListener } from './discovery';
import { parseNodeName } from './node-name';

/** The DNS-SD service type Warren nodes announce. */
export const WARREN_SERVICE_TYPE = '_warren._tcp.local';

export interface MdnsDiscoveryOptions {
  /** This node's name; announced, and never reported back. */
  nodeName: string;
  /** This node's inter-node port, announced in the SRV and TXT records. */
  distPort: number;
  /** Default `_warren._tcp.local`. Tests use their own to stay apart. */
  serviceType?: string;
  /** UDP port; default 5353. */
  port?: number;
  /** Multicast group; default 224.0.0.251. */
  group?: string;
  /** IPv4 address of the interface to use; default all interfaces. */
  interface?: string;
  /** Addresses announced in A records; default the interface's, else every non-internal IPv4 address. */
  addresses?: readonly string[];
  /** Browse (PTR query) this often; default 10 000 ms. */
  queryIntervalMs?: number;
  /** TTL of the announced records; default 120 s. */
  ttlSeconds?: number;
  /** Replaces the multicast-dns socket (tests). */
  createTransport?: (options: makeMdns.Options) => makeMdns.MulticastDNS;
  logger?: Logger;
}

/**
 * mDNS / DNS-SD discovery: announces this node as an instance of
 * `_warren._tcp.local` (PTR → SRV with the inter-node port, TXT with the node
 * name, A with its addresses), answers queries for it, and browses for other
 * instances: at start, one second later, then every `queryIntervalMs`. A peer is
 * reported with the source address of its announcement as `host`. On stop the
 * node says goodbye (TTL 0), so peers may forget it at once.
 */
export class MdnsDiscovery implements Discovery {
  private readonly log: Logger;
  private readonly serviceType: string;
  private readonly instanceName: string;
  private readonly hostTarget: string;
  private readonly ttlSeconds: number;
  private readonly known = new Map<string, { host: string; distPort: number | undefined }>();
  private readonly timers: NodeJS.Timeout[] = [];
  private transport: makeMdns.MulticastDNS | undefined;
  private onPeer: PeerListener | undefined;
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: MdnsDiscoveryOptions) {
    this.log = (options.logger ?? logger).child({ module: 'discovery', backend: 'mdns' });
    this.serviceType = options.serviceType ?? WARREN_SERVICE_TYPE;
    this.instanceName = `${dnsLabel(options.nodeName)}.${this.serviceType}`;
    this.hostTarget = `${dnsLabel(parseNodeName(options.nodeName).host)}.local`;
    this.ttlSeconds = options.ttlSeconds ?? 120;
  }

  async start(onPeer: PeerListener): Promise<void> {
    if (this.transport) throw new Error('mDNS discovery already started');
    this.onPeer = onPeer;
    const create = this.options.createTransport ?? makeMdns;
    const transport = create({
      port: this.options.port ?? 5353,
      ip: this.options.group ?? '224.0.0.251',
      interface: this.options.interface,
      // On Linux a socket bound to a unicast address never sees multicast, so bind
      // the wildcard; `interface` still picks where we join the group and send.
      bind: '0.0.0.0',
      reuseAddr: true,
      loopback: true,
    });
    this.transport = transport;
    await new Promise<void>((resolve, reject) => {
      transport.once('ready', () => resolve());
      transport.once('error', (err: Error) => reject(err));
    }).catch(async (err: unknown) => {
      await new Promise<void>((done) => transport.destroy(done));
      throw err;
    });
    transport.on('error', (err: Error) => this.log.warn({ err }, 'mDNS socket error'));
    transport.on('warning', (err: Error) => this.log.debug({ err }, 'mDNS warning'));
    transport.on('query', (packet: Packet, rinfo: RemoteInfo) => this.onQuery(packet, rinfo));
    transport.on('response', (packet: Packet, rinfo: RemoteInfo) => this.onResponse(packet, rinfo));

    this.announce(this.ttlSeconds);
    this.browse();
    const repeat = setTimeout(() => {
      this.announce(this.ttlSeconds);
      this.browse();
    }, 1000);
    const interval = setInterval(() => this.browse(), this.options.queryIntervalMs ?? 10_000);
    // The socket keeps the process alive while discovery runs; the timers need not.
    repeat.unref();
    interval.unref();
    this.timers.push(repeat, interval);
  }

  /** Says goodbye, then closes the socket. Idempotent. */
  stop(): Promise<void> {
    if (!this.stopping) {
      this.stopping = new Promise<void>((resolve) => {
        for (const timer of this.timers) clearTimeout(timer);
        const transport = this.transport;
        if (!transport) return resolve();
        transport.respond({ answers: this.records(0).answers }, () => transport.destroy(() => resolve()));
      });
    }
    return this.stopping;
  }

  private browse(): void {
    if (this.stopping) return;
    this.transport?.query({ questions: [{ name: this.serviceType, type: 'PTR' }] });
  }

  private announce(ttl: number): void {
    if (this.stopping) return;
    this.transport?.respond(this.records(ttl));
  }

  /** Our PTR as the answer, SRV/TXT/A as additionals. */
  private records(ttl: number): { answers: Answer[]; additionals: Answer[] } {
    const { nodeName, distPort } = this.options;
    return {
      answers: [{ name: this.serviceType, type: 'PTR', ttl, data: this.instanceName }],
      additionals: [
        { name: this.instanceName, type: 'SRV', ttl, data: { port: distPort, target: this.hostTarget, priority: 0, weight: 0 } },
        { name: this.instanceName, type: 'TXT', ttl, data: [`node=${nodeName}`, `port=${distPort}`] },
        ...this.addresses().map((address): Answer => ({ name: this.hostTarget, type: 'A', ttl, data: address })),
      ],
    };
  }

  private addresses(): string[] {
    if (this.options.addresses) return [...this.options.addresses];
    if (this.options.interface) return [this.options.interface];
    const found: string[] = [];
    for (const list of Object.values(networkInterfaces())) {
      for (const info of list ?? []) {
        if (info.family === 'IPv4' && !info.internal) found.push(info.address);
      }
    }
    return found;
  }

  private onQuery(packet: Packet, _rinfo: RemoteInfo): void {
    if (this.stopping) return;
    const asked = (packet.questions ?? []).some((q: Question) => {
      const name = q.name.toLowerCase();
      // dns-packet decodes type 255 as 'ANY', which its types do not list.
      const type: string = q.type;
      if (name === this.serviceType.toLowerCase()) return type === 'PTR' || type === 'ANY';
      return name === this.instanceName.toLowerCase() && (type === 'SRV' || type === 'TXT' || type === 'ANY');
    });
    if (asked) this.announce(this.ttlSeconds);
  }

  private onResponse(packet: Packet, rinfo: RemoteInfo): void {
    if (this.stopping || !this.onPeer) return;
    const records = [...(packet.answers ?? []), ...(packet.additionals ?? [])];
    for (const ptr of records) {
      if (ptr.type !== 'PTR' || ptr.name.toLowerCase() !== this.serviceType.toLowerCase()) continue;
      const instance = ptr.data.toLowerCase();
      const txt = records.find((r) => r.type === 'TXT' && r.name.toLowerCase() === instance);
      const srv = records.find((r) => r.type === 'SRV' && r.name.toLowerCase() === instance);
      const fields = txt?.type === 'TXT' ? txtFields(txt.data) : new Map<string, string>();
      const nodeName = fields.get('node');
      if (!nodeName || nodeName === this.options.nodeName) continue;
      if (ptr.ttl === 0) {
        this.known.delete(nodeName);
        this.log.debug({ nodeName }, 'mDNS peer said goodbye');
        continue;
      }
      const portField = Number(fields.get('port'));
      const distPort = srv?.type === 'SRV' ? srv.data.port : Number.isInteger(portField) ? portField : undefined;
      const previous = this.known.get(nodeName);
      if (previous && previous.host === rinfo.address && previous.distPort === distPort) continue;
      this.known.set(nodeName, { host: rinfo.address, distPort });
      notifyPeer(this.onPeer, { nodeName, host: rinfo.address, distPort, source: 'mdns' }, (err) =>
        this.log.warn({ err, nodeName }, 'peer listener failed'),
      );
    }
  }
}

/** One DNS label: no dots, at most 63 bytes. */
function dnsLabel(text: string): string {
  let label = text.replace(/\./g, '-');
  while (Buffer.byteLength(label, 'utf8') > 63) label = label.slice(0, -1);
  return label;
}

/** TXT strings `key=value` as a map (DNS-SD keys are case-insensitive). */
function txtFields(data: string | Buffer | (string | Buffer)[]): Map<string, string> {
  const fields = new Map<string, string>();
  for (const item of Array.isArray(data) ? data : [data]) {
    const text = item.toString();
    const eq = text.indexOf('=');
    if (eq > 0) fields.set(text.slice(0, eq).toLowerCase(), text.slice(eq + 1));
  }
  return fields;
}
