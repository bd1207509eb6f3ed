/** /api/overview, cluster-name, nodes, whoami, version, extensions. */
import type { FastifyInstance } from 'fastify';
import { COUNTER_FIELDS } from '../../broker/message-stats';
import { isAdministrator, isMonitor, requireAdministrator, requireMonitor } from '../auth';
import type { MgmtContext } from '../context';
import { badRequest, notFound } from '../http-errors';
import type { LengthField } from '../stats-history';
import { mergeSamples } from '../samples-json';
import { params, query, sampleWindows, sumStats, visibleVhosts } from './route-util';
import type { Row } from '../broker-view';
import { exchangeTypes } from '../node-info';

const STAT_SAMPLE_NAMES: Record<string, (typeof COUNTER_FIELDS)[number] | 'deliverGet'> = {
  publish: 'publish',
  confirm: 'confirm',
  deliver: 'deliver',
  deliver_no_ack: 'deliverNoAck',
  get: 'get',
  get_no_ack: 'getNoAck',
  get_empty: 'getEmpty',
  redeliver: 'redeliver',
  ack: 'ack',
  return_unroutable: 'returnUnroutable',
  drop_unroutable: 'dropUnroutable',
  deliver_get: 'deliverGet',
};

export function clusterRoutes(app: FastifyInstance, ctx: MgmtContext): void {
  app.get('/api/overview', async (req) => {
    const user = req.apiUser;
    const q = query(req);
    const vhosts = visibleVhosts(ctx, user);
    const seen = new Set(vhosts.map((v) => v.name));
    const all = isMonitor(user);
    const [totals, stats, churn] = await Promise.all([ctx.view.totals(), ctx.view.messageStats(), ctx.view.churn()]);
    let ready = 0;
    let unacked = 0;
    let queueCount = 0;
    for (const t of totals) {
      for (const [name, v] of Object.entries(t.byVhost)) {
        if (!seen.has(name)) continue;
        queueCount += v.queues;
        ready += v.ready;
        unacked += v.unacked;
      }
    }
    // Monitoring users see every connection; others only their own (rows needed to filter).
    let objects = { connections: 0, channels: 0, consumers: 0 };
    if (all) {
      for (const t of totals) objects = { connections: objects.connections + t.connections, channels: objects.channels + t.channels, consumers: objects.consumers + t.consumers };
    } else {
      const [connections, channels, consumers] = await Promise.all([ctx.view.connections(), ctx.view.channels(), ctx.view.consumers()]);
      const mine = (r: Row) => seen.has(String(r.vhost)) && r.user === user.name;
      objects = { connections: connections.filter(mine).length, channels: channels.filter(mine).length, consumers: consumers.filter((c) => seen.has(String((c.queue as Row).vhost))).length };
    }
    const messageStats = all ? sumStats(stats.map((s) => s.node)) : sumStats(stats.flatMap((s) => vhosts.map((v) => s.byVhost[v.name] ?? {})));
    const queueTotals: Row = {
      messages: ready + unacked,
      messages_details: { rate: ctx.history.lengthRate('messages') },
      messages_ready: ready,
      messages_ready_details: { rate: ctx.history.lengthRate('messages_ready') },
      messages_unacknowledged: unacked,
      messages_unacknowledged_details: { rate: ctx.history.lengthRate('messages_unacknowledged') },
    };
    addSamples(ctx, q, messageStats, queueTotals);
    let exchanges = 0;
    for (const v of vhosts) exchanges += v.exchanges.size;
    return {
      management_version: ctx.version,
      rates_mode: 'basic',
      sample_retention_policies: { global: [600, 3600], basic: [600], detailed: [600] },
      exchange_types: exchangeTypes(),
      product_version: ctx.version,
      product_name: 'Warren',
      rabbitmq_version: ctx.version,
      cluster_name: ctx.clusterName.value,
      cluster_tags: [],
      node_tags: [],
      erlang_version: process.version,
      erlang_full_version: `Node.js ${process.version}`,
      crypto_lib_version: process.versions.openssl,
      disable_stats: ctx.statsDisabled === true,
      enable_queue_totals: false,
      is_op_policy_updating_enabled: true,
      default_queue_type: 'classic',
      message_stats: messageStats,
      churn_rates: sumStats(churn),
      queue_totals: queueTotals,
      object_totals: { ...objects, exchanges, queues: queueCount },
      statistics_db_event_queue: 0,
      node: ctx.nodeName,
      listeners: ctx.listeners.map((l) => ({ node: ctx.nodeName, ...l })),
      contexts: [{ node: ctx.nodeName, description: 'RabbitMQ Management', path: '/', port: String(ctx.listeners.find((l) => l.protocol === 'http')?.port ?? '') }],
    };
  });


  app.get('/api/nodes', async (req) => {
    requireMonitor(req.apiUser);
    return ctx.view.nodes();
  });
  app.get('/api/nodes/:node', async (req) => {
    requireMonitor(req.apiUser);
    const node = (await ctx.view.nodes()).find((n) => n.name === params(req).node);
    if (!node) throw notFound();
    const windows = sampleWindows(query(req));
    if (windows) mergeSamples(node, await ctx.view.samples('node', [String(node.name)], windows));
    return node;
  });

  app.get('/api/whoami', async (req) => ({ name: req.apiUser.name, tags: req.apiUser.tags, is_internal_user: true }));
  app.get('/api/extensions', async () => []);
  app.get('/api/version', async () => ctx.version);
  app.get('/api/auth', async () => ({ oauth_enabled: false }));
  app.get('/api/feature-flags', async (req) => {
    requireAdministrator(req.apiUser);
    return [];
  });
  app.get('/api/operator-policies', async () => []);
  app.get('/api/operator-policies/:vhost', async () => []);
  app.get('/api/auth/hash_password/:password', async (req) => {
    const { hashPassword } = await import('../../auth/password.js');
    return { ok: hashPassword(params(req).password) };
  });
  void isAdministrator;
}

/** With msg_rates_age/incr and lengths_age/incr, the *_details objects carry RabbitMQ's samples. */
function addSamples(ctx: MgmtContext, q: Record<string, string | undefined>, messageStats: Row, queueTotals: Row): void {
  const window = (ageKey: string, incrKey: string) => {
    if (q[ageKey] === undefined) return undefined;
    const age = Number(q[ageKey]);
    const incr = Number(q[incrKey] ?? 5);
    if (!(age > 0) || !(incr > 0)) throw badRequest(`${ageKey} and ${incrKey} must be positive numbers`);
    return { age, incr };
  };
  const rates = window('msg_rates_age', 'msg_rates_incr');
  if (rates) {
    for (const [name, field] of Object.entries(STAT_SAMPLE_NAMES)) {
      const samples = ctx.history.counterSamples(field, rates.age, rates.incr);
      const details = (messageStats[`${name}_details`] as Row | undefined) ?? { rate: 0 };
      if (messageStats[name] === undefined) messageStats[name] = 0;
      messageStats[`${name}_details`] = withAverages(details, samples);
    }
  }
  const lengths = window('lengths_age', 'lengths_incr');
  if (lengths) {
    for (const field of ['messages', 'messages_ready', 'messages_unacknowledged'] as LengthField[]) {
      const samples = ctx.history.lengthSamples(field, lengths.age, lengths.incr);
      queueTotals[`${field}_details`] = withAverages(queueTotals[`${field}_details`] as Row, samples);
    }
  }
}

function withAverages(details: Row, samples: { sample: number; timestamp: number }[]): Row {
  const n = samples.length;
  const avg = n > 0 ? samples.reduce((s, x) => s + x.sample, 0) / n : 0;
  const first = samples[n - 1];
  const last = samples[0];
  const avgRate = n > 1 ? (last.sample - first.sample) / ((last.timestamp - first.timestamp) / 1000) : 0;
  return { ...details, samples, avg, avg_rate: avgRate };
}
