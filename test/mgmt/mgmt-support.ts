// A broker with its management and Prometheus listeners on free ports, and a small HTTP client for the API.
import { after, before } from 'node:test';
import { startBroker, type BrokerProcess } from '../helpers/broker-process';
import { freePort } from '../helpers/free-port';
import { Clients, waitFor } from '../helpers/amqp-test';

export interface ApiAnswer {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

export interface MgmtBroker {
  broker: BrokerProcess;
  mgmtPort: number;
  prometheusPort: number;
  base: string;
  /** Free ports given to the environment variables the fixture was asked for (WARREN_MQTT_PORT, ...). */
  ports: Record<string, number>;
}

/** Sends one request to the API; `auth` is user:password (guest:guest by default), null for none. */
export async function api(m: MgmtBroker, method: string, path: string, opts: { body?: unknown; auth?: string | null; headers?: Record<string, string> } = {}): Promise<ApiAnswer> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  const auth = opts.auth === undefined ? 'guest:guest' : opts.auth;
  if (auth !== null) headers.authorization = `Basic ${Buffer.from(auth).toString('base64')}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${m.base}${path}`, { method, headers, body: opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body) });
  const text = await res.text();
  let json: any;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/**
 * Starts one broker for the calling file with statistics sampled every `sampleMs`; `portVars` get free
 * ports (other listeners); `env` adds further server variables.
 */
export function mgmtFixture(sampleMs = 200, portVars: string[] = [], env: Record<string, string> = {}): { m: () => MgmtBroker; clients: Clients } {
  let m: MgmtBroker | undefined;
  const clients = new Clients(() => m!.broker);
  before(async () => {
    const mgmtPort = await freePort();
    const prometheusPort = await freePort();
    const ports: Record<string, number> = {};
    for (const name of portVars) ports[name] = await freePort();
    const broker = await startBroker({ env: { ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])), WARREN_MGMT_PORT: String(mgmtPort), WARREN_PROMETHEUS_PORT: String(prometheusPort), WARREN_MGMT_IP: '127.0.0.1', WARREN_MGMT_SAMPLE_INTERVAL_MS: String(sampleMs), ...env } });
    m = { broker, mgmtPort, prometheusPort, base: `http://127.0.0.1:${mgmtPort}`, ports };
    await waitFor(async () => (await fetch(`${m!.base}/api/overview`).then((r) => r.status, () => 0)) === 401, 10_000, 'the management listener');
  });
  after(async () => {
    await clients.closeAll();
    await m?.broker.stop();
  });
  return { m: () => m!, clients };
}

export const enc = encodeURIComponent;
