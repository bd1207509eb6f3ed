/** A connected client that can be pushed out by a newer connection with the same client ID. */
export interface TakeoverTarget {
  /** Closes the connection (DISCONNECT 0x8E for MQTT 5) and resolves once its session is released. */
  takeover(): Promise<void>;
}

/**
 * One connection per (vhost, client ID) on this node, and the delayed Wills of sessions that
 * ended, which a reconnect with the same client ID cancels.
 */
export class ClientRegistry {
  private readonly clients = new Map<string, TakeoverTarget>();
  private readonly delayedWills = new Map<string, NodeJS.Timeout>();

  get size(): number {
    return this.clients.size;
  }

  /** Registers `client`, first taking over (and waiting for) any connection with the same ID. */
  async claim(vhost: string, clientId: string, client: TakeoverTarget): Promise<void> {
    const key = registryKey(vhost, clientId);
    this.cancelWill(key);
    for (let existing = this.clients.get(key); existing && existing !== client; existing = this.clients.get(key)) {
      await existing.takeover();
      if (this.clients.get(key) === existing) this.clients.delete(key);
    }
    // The connection taken over may have just left a delayed will: this reconnect cancels it too.
    this.cancelWill(key);
    this.clients.set(key, client);
  }

  release(vhost: string, clientId: string, client: TakeoverTarget): void {
    const key = registryKey(vhost, clientId);
    if (this.clients.get(key) === client) this.clients.delete(key);
  }

  /** Runs `publish` after `delayMs` unless the client reconnects first (MQTT 5 Will Delay). */
  delayWill(vhost: string, clientId: string, delayMs: number, publish: () => void): void {
    const key = registryKey(vhost, clientId);
    this.cancelWill(key);
    const timer = setTimeout(() => {
      this.delayedWills.delete(key);
      publish();
    }, delayMs);
    timer.unref();
    this.delayedWills.set(key, timer);
  }

  private cancelWill(key: string): void {
    const timer = this.delayedWills.get(key);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.delayedWills.delete(key);
  }

  closeAll(): void {
    for (const t of this.delayedWills.values()) clearTimeout(t);
    this.delayedWills.clear();
  }
}

function registryKey(vhost: string, clientId: string): string {
  return `${vhost}\u0000${clientId}`;
}
