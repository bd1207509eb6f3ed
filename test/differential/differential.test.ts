// The differential harness: every scenario of test/differential/scenarios runs against a spawned Warren and
// against a private RabbitMQ 3.10 node, and what the client observed (replies with every field, close codes
// with class and method ids, deliveries with their properties and order, counts) must be the same, except
// for the deliberate differences README.md lists (Warren follows RabbitMQ 4.x where 3.10 differs).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isExternalBroker, startBroker, type BrokerProcess } from '../helpers/broker-process';
import { startRabbitNode, type RabbitNode } from './rabbitmq-node';
import { Session, type Scenario, type Target } from './session';
import { SCENARIOS } from './scenarios';
import { setUpUsers } from './scenarios/permissions';
import { ctlOk } from '../ctl/ctl-support';

const skip = isExternalBroker() ? 'compares a spawned Warren with its own RabbitMQ node' : false;
let warren: BrokerProcess | undefined;
let rabbit: RabbitNode | undefined;

before(async () => {
  if (skip) return;
  [warren, rabbit] = await Promise.all([startBroker(), startRabbitNode()]);
  // The users the permission scenarios connect as, the same on both brokers.
  await Promise.all([setUpUsers((args) => ctlOk(warren!.dataDir, args)), setUpUsers((args) => rabbit!.ctl(args))]);
});
after(async () => {
  await Promise.all([warren?.stop(), rabbit?.stop()]);
});

async function runOn(target: Target, prefix: string, scenario: Scenario): Promise<Session> {
  const session = new Session(target, prefix);
  session.lineFilter = scenario.normalize;
  try {
    await scenario.run(session);
  } catch (err) {
    session.failure = err as Error;
    session.log.push(`! scenario threw: ${(err as Error).stack}`);
  } finally {
    await session.end();
  }
  return session;
}

describe('Warren and RabbitMQ 3.10 answer the same scripts the same way', { skip }, () => {
  SCENARIOS.forEach((scenario, i) => {
    it(scenario.name, async () => {
      const prefix = `diff${i}`;
      const [w, r] = await Promise.all([
        runOn({ name: 'warren', port: warren!.port }, prefix, scenario),
        runOn({ name: 'rabbitmq', port: rabbit!.port }, prefix, scenario),
      ]);
      // A script that cannot run is a broken scenario, not a difference.
      for (const session of [w, r]) if (session.failure) throw session.failure;
      const rabbitLines = r.transcript(scenario.unordered);
      // WARREN_DIFF_SHOW=substring prints the transcripts of matching scenarios (to review what is compared).
      const show = process.env.WARREN_DIFF_SHOW;
      if (show && scenario.name.includes(show)) console.log(`--- ${scenario.name}\n${w.transcript(scenario.unordered).join('\n')}\n--- RabbitMQ\n${rabbitLines.join('\n')}`);
      const expected = scenario.deliberate ? scenario.deliberate.expected(rabbitLines, prefix) : rabbitLines;
      assert.deepEqual(w.transcript(scenario.unordered), expected, `\n--- Warren log\n${w.log.join('\n')}\n--- RabbitMQ log\n${r.log.join('\n')}`);
    });
  });
});
