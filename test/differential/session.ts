// One run of a scenario against one broker: its connections, its log, and the transcript compared.
import { Normalizer, Probe, type HandshakeOptions } from './probe';

export interface Target {
  name: 'warren' | 'rabbitmq';
  port: number;
}

export class Session {
  readonly log: string[] = [];
  /** Applied to every transcript line (a scenario's normalization, see Scenario.normalize). */
  lineFilter: ((line: string) => string) | undefined;
  /** What the script threw, if it did. */
  failure: Error | undefined;
  readonly names = new Normalizer();
  /** Observations a scenario computed itself (counts and the like), compared after the frames. */
  private readonly notes: string[] = [];
  private readonly probes: Probe[] = [];

  constructor(
    readonly target: Target,
    private readonly prefix: string,
  ) {}

  /** A resource name unique to this scenario, the same on both brokers. */
  name(suffix: string): string {
    return `${this.prefix}.${suffix}`;
  }

  /** A new recording connection (c1, c2, ...), handshaken. */
  async connect(opts: HandshakeOptions = {}): Promise<Probe> {
    const p = await Probe.open(this.target.port, `c${this.probes.length + 1}`, this.log, this.names, opts);
    this.probes.push(p);
    return p;
  }

  /** A connection with channel 1 open. */
  async channel(): Promise<Probe> {
    const p = await this.connect();
    await p.openChannel(1);
    return p;
  }

  /**
   * What the client observed: every received frame as a line, grouped by connection and channel with
   * each channel's order kept (the interleaving of different channels is timing, not protocol).
   */
  transcript(leaveOut: string[] = []): string[] {
    const groups = new Map<string, string[]>();
    for (const p of this.probes) {
      for (const r of p.received) {
        if (leaveOut.includes(r.name)) continue;
        const text = this.lineFilter ? this.lineFilter(r.text) : r.text;
        // Publisher confirms are a stream of their own: how they interleave with the channel's other frames is timing.
        const key = `${r.conn}.${r.channel}${r.name === 'basic.ack' || r.name === 'basic.nack' ? '.confirms' : ''}`;
        let lines = groups.get(key);
        if (!lines) groups.set(key, (lines = []));
        lines.push(text);
      }
    }
    return [...[...groups.keys()].sort().flatMap((k) => sortConfirmRuns(groups.get(k)!)), ...this.notes];
  }

  note(text: string): void {
    this.notes.push(`note ${text}`);
    this.log.push(`note ${text}`);
  }

  async end(): Promise<void> {
    await Promise.all(this.probes.map((p) => p.close().catch(() => p.destroy())));
  }
}

const CONFIRM = /^\S+ basic\.(ack|nack) deliveryTag=(\d+)/;

/**
 * Publisher confirms may come in any order (RabbitMQ confirms an unroutable message at once, a routed
 * one when its queue has it): a run of consecutive confirms is compared sorted by tag.
 */
function sortConfirmRuns(lines: string[]): string[] {
  const out: string[] = [];
  let run: string[] = [];
  const flush = () => {
    run.sort((a, b) => Number(CONFIRM.exec(a)![2]) - Number(CONFIRM.exec(b)![2]));
    out.push(...run);
    run = [];
  };
  for (const line of lines) {
    if (CONFIRM.test(line)) run.push(line);
    else {
      flush();
      out.push(line);
    }
  }
  flush();
  return out;
}

/** A scripted scenario, run the same way against Warren and RabbitMQ. */
export interface Scenario {
  name: string;
  run(s: Session): Promise<void>;
  /**
   * A deliberate difference (README.md lists each): Warren follows RabbitMQ 4.x where 3.10 differs.
   * `expected` turns RabbitMQ 3.10's transcript into the 4.x one that Warren's must equal (`prefix` is what
   * Session.name puts before resource names).
   */
  deliberate?: { reason: string; expected(rabbit310: string[], prefix: string): string[] };
  /**
   * Applied to both transcripts' lines before comparing: for features where 4.x adds to what 3.10 sends
   * (README.md lists each), e.g. the x-last-death-* headers.
   */
  normalize?: (line: string) => string;
  /** Methods left out of the transcript because their order is timing (the scenario notes what matters of them). */
  unordered?: string[];
}
