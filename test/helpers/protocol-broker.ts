// A broker with its MQTT, STOMP and WebSocket listeners on free ports.
import { connect } from 'node:net';
import { startBroker, type BrokerProcess, type StartOptions } from './broker-process';
import { freePort } from './free-port';

export interface ProtocolBroker extends BrokerProcess {
  mqttPort: number;
  stompPort: number;
  webStompPort: number;
  webMqttPort: number;
}

/** Starts warren-server with every protocol listener on a free port; resolves once all accept. */
export async function startProtocolBroker(opts: StartOptions & { ports?: Partial<Record<'mqttPort' | 'stompPort' | 'webStompPort' | 'webMqttPort', number>> } = {}): Promise<ProtocolBroker> {
  const ports = {
    mqttPort: opts.ports?.mqttPort ?? (await freePort()),
    stompPort: opts.ports?.stompPort ?? (await freePort()),
    webStompPort: opts.ports?.webStompPort ?? (await freePort()),
    webMqttPort: opts.ports?.webMqttPort ?? (await freePort()),
  };
  const broker = await startBroker({
    ...opts,
    env: {
      WARREN_MQTT_PORT: String(ports.mqttPort),
      WARREN_STOMP_PORT: String(ports.stompPort),
      WARREN_WEB_STOMP_PORT: String(ports.webStompPort),
      WARREN_WEB_MQTT_PORT: String(ports.webMqttPort),
      ...opts.env,
    },
  });
  // Never leave a broker behind when the test file ends without reaching its after hook.
  const killOnExit = () => broker.child.kill('SIGKILL');
  process.once('exit', killOnExit);
  broker.child.once('exit', () => process.off('exit', killOnExit));
  for (const port of Object.values(ports)) await waitForPort(port);
  return Object.assign(broker, ports);
}

async function waitForPort(port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`port ${port} never accepted connections`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
