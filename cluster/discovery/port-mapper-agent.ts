import { setTimeout as sleep } from 'node:timers/promises';
import { logger, type Logger } from '../../src/log/logger';
import { DEFAULT_EPMD_PORT } from './epmd-codec';
import { ensurePortMapper, type EnsuredPortMapper } from './ensure-port-mapper';
import { register, type RegisterOptions, type RegistrationHandle } from './port-mapper-client';

export interface PortMapperAgentOptions {
  /** Port mapper port on this host; default 4369. */
  epmdPort?: number;
  /** Address an in-process port mapper listens on, if this node has to start one; default all interfaces. */
  listenHost?: string;
  /** Wait between attempts to get registered again after losing the port mapper; default 1000 ms. */
  retryMs?: number;
  /** Passed to `register` (node type, versions, extra). */
  registerOptions?: Omit<RegisterOptions, 'epmdPort' | 'host'>;
  /** Called after each registration, with the creation the port mapper gave. */
  onRegistered?: (creation: number) => void;
  logger?: Logger;
}

/**
 * Keeps one node registered with its host's port mapper, as long as it runs.
 *
 * `start` ensures a port mapper (starting one in this process if none answers,
 * as the first Erlang node on a host starts epmd), then registers. If the
 * registration is lost later (typically: the node that hosted the port mapper
 * exited), the agent ensures a port mapper again (so one of the surviving nodes
 * takes the port over) and registers again, retrying until it succeeds or
 * `stop` is called.
 *
 * `start` rejects with PortMapperError NAME_TAKEN when another live node on this
 * host already has the name. Methods are not reentrant: call start once, stop once.
 */
export class PortMapperAgent {
  private readonly log: Logger;
  private readonly epmdPort: number;
  private ensured: EnsuredPortMapper | undefined;
  private handle: RegistrationHandle | undefined;
  private stopped = false;
  private watching: Promise<void> = Promise.resolve();

  constructor(
    readonly alive: string,
    readonly distPort: number,
    private readonly options: PortMapperAgentOptions = {},
  ) {
    this.log = (options.logger ?? logger).child({ module: 'port-mapper-agent', alive });
    this.epmdPort = options.epmdPort ?? DEFAULT_EPMD_PORT;
  }

  /** Creation of the current registration; undefined while not registered. */
  get creation(): number | undefined {
    return this.handle && !this.handle.lost ? this.handle.creation : undefined;
  }

  /** True when this process serves the port mapper. */
  get hostsPortMapper(): boolean {
    return this.ensured?.server !== undefined;
  }

  async start(): Promise<void> {
    await this.registerOnce();
    this.watching = this.watch();
  }

  /** Unregisters and, if this process serves the port mapper, stops it. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.handle?.close();
    await this.ensured?.close();
    await this.watching;
  }

  private async registerOnce(): Promise<void> {
    // A port mapper we started before may have been killed from outside: drop it first.
    if (this.ensured?.server) await this.ensured.close();
    this.ensured = await ensurePortMapper(this.epmdPort, { listenHost: this.options.listenHost, logger: this.options.logger });
    this.handle = await register(this.alive, this.distPort, {
      ...this.options.registerOptions,
      epmdPort: this.epmdPort,
    });
    if (this.stopped) {
      // stop() ran while this registration was in flight.
      await this.handle.close();
      await this.ensured.close();
      return;
    }
    this.log.info({ distPort: this.distPort, creation: this.handle.creation, hostsPortMapper: this.hostsPortMapper }, 'registered with port mapper');
    this.options.onRegistered?.(this.handle.creation);
  }

  private async watch(): Promise<void> {
    while (!this.stopped) {
      await this.handle?.closed;
      if (this.stopped) return;
      this.log.warn('lost port mapper registration');
      for (;;) {
        try {
          await this.registerOnce();
          break;
        } catch (err) {
          if (this.stopped) return;
          this.log.warn({ err }, 'port mapper registration failed, retrying');
          await sleep(this.options.retryMs ?? 1000);
          if (this.stopped) return;
        }
      }
    }
  }
}
