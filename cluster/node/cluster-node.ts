/**
 * A clustered node's cluster side: port mapper registration, the mesh, discovery, Raft
 * over the mesh with the metadata FSM, formation (bootstrap or join), membership RPCs
 * and warrenctl's control channel. The broker sees only `metadata` (a MetadataStore).
 *
 * Start-up: a node with Raft state restarts its Raft, replays what it had committed, and
 * then (in the background, once a leader answers) proposes 'node.restarted' so the
 * cluster drops its transient and exclusive queues, as RabbitMQ does. A fresh node runs
 * Formation; start() waits for it (up to `formationWaitMs`) so that clients connecting
 * right after start see the cluster's users and definitions.
 */
import { Raft } from '../raft';
import { Mesh, loadClusterSecret } from '../mesh';
import { PortMapperAgent, createDiscovery, parseNodeName, resolveNodeName, type CompositeDiscovery, type DiscoveredPeer } from '../discovery';
import { MetadataFsm, RaftMeshTransport, RaftMetadataStore, type ApplyOutcome } from '../metadata';
import { QueueService, placeQueue } from '../forward';
import { RemoteNodeSource, serveNodeSource } from '../mgmt/remote-node-source';
import type { LocalNodeSource } from '../../src/mgmt/local-node-source';
import type { NodeSource } from '../../src/mgmt/broker-view';
import { MembershipReconciler, QuorumControl, QuorumService, placeQuorum } from '../quorum';
import { isQuorum } from '../../src/broker/queue/quorum-arguments';
import { reconcile } from '../metadata/reconcile';
import type { Broker } from '../../src/broker/broker';
import type { MetadataStore } from '../../src/broker/ports';
import type { Logger } from '../../src/log/logger';
import { Formation, joinVia, type FormationResult } from './formation';
import { clusterInfo, registerMembershipRpc, type ClusterInfo, type MembershipRpc } from './membership-rpc';
import { registerControl } from './control-handler';
import { CONTROL_PEER_PREFIX } from './control-protocol';
import { openRaftStores, wipeRaftStores, type RaftStores } from './raft-stores';

export interface ClusterNodeOptions {
  nodeName: string;
  dataDir: string;
  /** Inter-node port; 0 picks a free one. */
  distPort: number;
  epmdPort: number;
  /** Static peers (WARREN_CLUSTER_NODES form). */
  nodes: string;
  /** DNS names resolved into peers. */
  dnsNames: string[];
  mdns: boolean;
  meshTickMs: number;
  raftTickMs: number;
  /** Raft tick of quorum queue groups. */
  quorumTickMs: number;
  /** Entries after which a quorum queue member snapshots its state. */
  quorumSnapshotEntries: number;
  quorumMemoryBytes: number;
  quorumSnapshotBytes: number;
  /** How long a new quorum queue leader keeps a consumer's unacked messages for it to re-attach. */
  quorumReattachHoldMs?: number;
  /** Continuous membership reconciliation of quorum queues; off when undefined. */
  quorumReconcile?: { targetGroupSize: number; intervalMs: number; triggerMs: number; autoRemove: boolean };
  metadataTimeoutMs: number;
  broker: Broker;
  /** Creates the default vhost and user; called once, on the node that bootstraps the cluster. */
  createDefaults(metadata: MetadataStore): Promise<void>;
  log: Logger;
  /** How long start() waits for a fresh node to bootstrap or join; default 60 s. */
  formationWaitMs?: number;
}

export class ClusterNode {
  readonly metadata: RaftMetadataStore;
  readonly fsm: MetadataFsm;
  readonly mesh: Mesh;
  readonly queues: QueueService;
  readonly quorum: QuorumService;
  readonly quorumControl: QuorumControl;
  private readonly reconciler: MembershipReconciler | undefined;
  private raft: Raft<ApplyOutcome> | undefined;
  private stores: RaftStores | undefined;
  private formation: Formation | undefined;
  private readonly discovered = new Set<string>();
  private readonly membership: MembershipRpc;
  private readonly offs: (() => void)[] = [];
  private readonly log: Logger;
  private agent: PortMapperAgent | undefined;
  private discovery: CompositeDiscovery | undefined;
  private keepConnected: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Resolves when this node is in a cluster (bootstrapped, joined, or restarted with state). */
  formed: Promise<void> = Promise.resolve();

  private constructor(private readonly o: ClusterNodeOptions) {
    this.log = o.log.child({ module: 'cluster', node: o.nodeName });
    const secret = loadClusterSecret({ dataDir: o.dataDir });
    const epmdPort = o.epmdPort;
    this.mesh = new Mesh({
      nodeName: o.nodeName,
      secret: secret.secret,
      port: o.distPort,
      tickMs: o.meshTickMs,
      logger: o.log,
      resolver: async (name) => {
        const resolved = await resolveNodeName(name, { epmdPort, timeoutMs: 2000 });
        if (!resolved) throw new Error(`${name} is not registered with the port mapper of ${parseNodeName(name).host}`);
        return { host: resolved.host, port: resolved.distPort };
      },
    });
    this.fsm = new MetadataFsm(o.broker, this.log);
    this.fsm.appliedIndexSource = () => this.raft?.stats().appliedIndex ?? 0;
    this.metadata = new RaftMetadataStore({
      nodeName: o.nodeName,
      broker: o.broker,
      mesh: this.mesh,
      fsm: this.fsm,
      raft: () => this.raft,
      timeoutMs: o.metadataTimeoutMs,
      log: this.log,
      placeQueue: (vhost, def) => {
        const ownerNode = placeQueue({ self: o.nodeName, broker: o.broker, runningMembers: () => this.runningMembers() }, vhost, def);
        if (!isQuorum(def.arguments)) return { ownerNode };
        return placeQuorum({ broker: o.broker, allMembers: () => this.allMembers(), isRunning: (n) => n === o.nodeName || this.mesh.isUp(n) }, def, ownerNode);
      },
    });
    this.quorum = new QuorumService({ nodeName: o.nodeName, mesh: this.mesh, broker: o.broker, dataDir: o.dataDir, log: this.log, tickMs: o.quorumTickMs, snapshotEntries: o.quorumSnapshotEntries, memoryBytes: o.quorumMemoryBytes, snapshotBytes: o.quorumSnapshotBytes, reattachHoldMs: o.quorumReattachHoldMs });
    // Queues homed on other nodes get remote handles from here on (before any command is applied).
    this.queues = new QueueService({
      nodeName: o.nodeName, mesh: this.mesh, broker: o.broker, metadata: () => this.metadata, log: this.log,
      quorum: (vhost, def, host) => this.quorum.handle(vhost, def, host),
      quorumMembersChanged: (queue) => this.quorum.membersChanged(queue),
    });
    o.broker.remote = this.queues;
    this.quorumControl = new QuorumControl({
      nodeName: o.nodeName, mesh: this.mesh, broker: o.broker, metadata: () => this.metadata, service: this.quorum,
      clusterMembers: () => this.allMembers(),
    });
    if (o.quorumReconcile) {
      const reconciler = new MembershipReconciler({
        nodeName: o.nodeName, mesh: this.mesh, broker: o.broker, log: this.log, ...o.quorumReconcile,
        queues: () => this.quorum.all(),
        clusterMembers: () => this.allMembers(),
        addMember: (vhost, name, node) => this.quorumControl.addMember(vhost, name, node),
        deleteMember: (vhost, name, node) => this.quorumControl.deleteMember(vhost, name, node),
      });
      this.quorum.onReconcileSoon = () => reconciler.trigger();
      this.reconciler = reconciler;
    }
    this.mesh.on('nodedown', (name) => void this.dropQueuesOfDownNode(name));
    this.membership = registerMembershipRpc({ nodeName: o.nodeName, mesh: this.mesh, raft: () => this.raft });
    this.offs.push(
      registerControl({
        nodeName: o.nodeName,
        mesh: this.mesh,
        info: () => this.info(),
        joinCluster: (node) => this.joinCluster(node),
        forgetClusterNode: (node) => this.forgetClusterNode(node),
        log: this.log,
      }),
    );
  }

  /** Starts everything; resolves when the node is in a cluster (or formationWaitMs passed). */
  static async start(o: ClusterNodeOptions): Promise<ClusterNode> {
    const node = new ClusterNode(o);
    await node.startInternal();
    return node;
  }

  private async startInternal(): Promise<void> {
    const o = this.o;
    const started = Date.now();
    await this.mesh.start();
    this.agent = new PortMapperAgent(parseNodeName(o.nodeName).alive, this.mesh.port, { epmdPort: o.epmdPort, logger: o.log });
    await this.agent.start();
    this.stores = await openRaftStores(o.dataDir);
    this.discovery = createDiscovery({ self: o.nodeName, distPort: this.mesh.port, nodes: o.nodes, dnsNames: o.dnsNames, mdns: o.mdns, logger: o.log });
    await this.discovery.start((peer) => this.onDiscovered(peer));
    this.keepConnected = setInterval(() => this.connectMembers(), 2000);
    if (!this.stores.fresh) {
      await this.startRaft();
      await this.replayCommitted(this.stores.hardState.commit);
      this.log.info({ ms: Date.now() - started, members: this.raft?.getConfiguration().servers.map((s) => s.id) }, 'cluster member restarted');
      void this.announceRestart();
      return;
    }
    this.formation = this.newFormation();
    this.formed = this.formation.run().then(
      (result) => this.afterFormation(result),
      (err: Error) => this.log.info({ reason: err.message }, 'formation ended'),
    );
    const waitMs = o.formationWaitMs ?? 60_000;
    const timer = new Promise<void>((resolve) => setTimeout(resolve, waitMs).unref());
    await Promise.race([this.formed, timer]);
    this.log.info({ ms: Date.now() - started, members: this.raft?.getConfiguration().servers.map((s) => s.id) }, 'cluster formation finished');
  }

  info(): ClusterInfo {
    return clusterInfo({ nodeName: this.o.nodeName, mesh: this.mesh, raft: () => this.raft });
  }

  /** Leaves everything running in the cluster; stops this node's part. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.formation?.stop();
    clearInterval(this.keepConnected);
    this.offs.forEach((off) => off());
    this.membership.unregister();
    this.reconciler?.stop();
    await this.quorum.handOff(2000);
    // Forwards taken here are passed on to the new leaders: their outcomes may take a few
    // seconds on a loaded machine, and a forward still open when the node leaves is a nack.
    await this.queues.settled(4000);
    this.queues.close();
    this.quorumControl.close();
    await this.quorum.close();
    this.metadata.close();
    await this.discovery?.stop().catch(() => undefined);
    await this.raft?.shutdown().catch(() => undefined);
    await this.mesh.close();
    await this.agent?.stop().catch(() => undefined);
  }

  // ---- formation ----

  private newFormation(): Formation {
    return new Formation({
      nodeName: this.o.nodeName,
      mesh: this.mesh,
      peers: () => [...this.discovered],
      bootstrap: () => this.bootstrap(),
      prepareToJoin: () => this.prepareToJoin(),
      joined: () => (this.raft?.getConfiguration().servers.length ?? 0) > 0,
      log: this.log,
    });
  }

  private async afterFormation(result: FormationResult): Promise<void> {
    if (result.how === 'bootstrapped') {
      await this.waitForLeader(10_000);
      await this.o.createDefaults(this.metadata);
      this.log.info('cluster bootstrapped; defaults created');
      return;
    }
    if (result.leaderCommit > 0 && !(await this.fsm.waitApplied(result.leaderCommit, 30_000))) {
      this.log.warn({ leaderCommit: result.leaderCommit }, 'joined, but the cluster metadata did not arrive in time');
    }
    void this.announceRestart();
  }

  private async bootstrap(): Promise<void> {
    if (this.raft) await this.resetRaft();
    const stores = this.stores!;
    await Raft.bootstrap(stores.log, stores.stable, { servers: [{ id: this.o.nodeName, address: this.o.nodeName, suffrage: 'voter' }] });
    await this.startRaft();
  }

  private async prepareToJoin(): Promise<void> {
    if (!this.raft) await this.startRaft();
  }

  private async startRaft(): Promise<void> {
    const stores = this.stores!;
    const raft = new Raft<ApplyOutcome>(
      { localId: this.o.nodeName, tickMs: this.o.raftTickMs },
      this.fsm,
      stores.log,
      stores.stable,
      stores.snapshots,
      new RaftMeshTransport(this.mesh, this.log),
    );
    raft.on('error', (err: unknown) => this.log.error({ err }, 'raft failed'));
    raft.onLeaderChange((c) => {
      this.log.info({ leader: c.leaderId, term: c.term }, 'raft leader changed');
      this.connectMembers();
    });
    this.raft = raft;
    await raft.ready();
    this.connectMembers();
  }

  /** Shuts Raft down and deletes its state and this node's definitions (join_cluster on a lone node). */
  private async resetRaft(): Promise<void> {
    await this.raft?.shutdown();
    this.raft = undefined;
    wipeRaftStores(this.o.dataDir);
    reconcile(this.o.broker, [], this.log);
    this.stores = await openRaftStores(this.o.dataDir);
  }

  /** Waits until the entries this node had committed before it stopped are applied again. */
  private async replayCommitted(commit: number): Promise<void> {
    const deadline = Date.now() + 30_000;
    while ((this.raft?.stats().appliedIndex ?? 0) < commit && Date.now() < deadline) await sleep(10);
  }

  private async waitForLeader(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.raft?.leader() && Date.now() < deadline && !this.stopped) await sleep(20);
  }

  /** Proposes 'node.restarted' until it commits: drops this node's transient and exclusive queues everywhere. */
  private async announceRestart(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        await this.metadata.apply({ op: 'node.restarted', node: this.o.nodeName });
        return;
      } catch (err) {
        if (attempt % 10 === 0) this.log.info({ reason: (err as Error).message }, 'cannot announce restart yet; retrying');
        await sleep(1000);
      }
    }
  }

  /**
   * The management API's sources for the other members: serves this node's own source to
   * them, and returns the current members' sources (membership is read on every call).
   */
  managementPeers(local: LocalNodeSource): () => NodeSource[] {
    this.offs.push(serveNodeSource(this.mesh, local));
    const sources = new Map<string, RemoteNodeSource>();
    return () => {
      const members = (this.raft?.getConfiguration().servers ?? []).map((s) => s.id).filter((id) => id !== this.o.nodeName && !id.startsWith(CONTROL_PEER_PREFIX));
      return members.map((id) => {
        let source = sources.get(id);
        if (!source) sources.set(id, (source = new RemoteNodeSource(id, this.mesh, local)));
        return source;
      });
    };
  }

  /** Every member of the Raft configuration, up or not. */
  private allMembers(): string[] {
    const servers = this.raft?.getConfiguration().servers ?? [];
    return servers.length > 0 ? servers.map((s) => s.id) : [this.o.nodeName];
  }

  /** Members of the Raft configuration that are up (this node included). */
  private runningMembers(): string[] {
    const servers = this.raft?.getConfiguration().servers ?? [];
    return servers.map((s) => s.id).filter((id) => id === this.o.nodeName || this.mesh.isUp(id));
  }

  /**
   * A member went down: its transient and exclusive queues are deleted cluster-wide, as
   * RabbitMQ does. The Raft leader proposes it; every node watches for a while in case the
   * leader is the node that went down and a new one is elected.
   */
  private async dropQueuesOfDownNode(node: string): Promise<void> {
    if (node.startsWith(CONTROL_PEER_PREFIX)) return;
    for (let attempt = 0; attempt < 30 && !this.stopped; attempt++) {
      await sleep(attempt === 0 ? 200 : 1000);
      if (this.mesh.isUp(node) || !this.raft) return;
      if (!this.raft.getConfiguration().servers.some((s) => s.id === node)) return;
      const leader = this.raft.leader()?.id;
      if (leader !== this.o.nodeName) {
        if (leader !== undefined && leader !== node && this.mesh.isUp(leader)) return;
        continue;
      }
      if (!this.hasQueuesToDrop(node)) return;
      try {
        await this.metadata.apply({ op: 'node.down', node });
        this.log.info({ node }, 'transient queues of a down node deleted');
        return;
      } catch (err) {
        this.log.debug({ err, node }, 'cannot drop the queues of a down node yet');
      }
    }
  }

  private hasQueuesToDrop(node: string): boolean {
    for (const v of this.o.broker.vhosts.values()) {
      for (const q of v.queues.values()) if (q.def.ownerNode === node && (!q.def.durable || q.def.exclusive)) return true;
    }
    return false;
  }

  // ---- peers ----

  private onDiscovered(peer: DiscoveredPeer): void {
    if (peer.nodeName === this.o.nodeName || this.stopped) return;
    this.discovered.add(peer.nodeName);
    try {
      if (peer.distPort !== undefined && peer.host !== undefined) this.mesh.connect(peer.nodeName, { host: peer.host, port: peer.distPort });
      else if (!this.mesh.peers().some((p) => p.name === peer.nodeName)) this.mesh.connect(peer.nodeName);
    } catch (err) {
      this.log.warn({ err, peer: peer.nodeName }, 'cannot connect to discovered peer');
    }
  }

  /** Keeps a mesh link to every member of the Raft configuration. */
  private connectMembers(): void {
    if (this.stopped || !this.raft) return;
    const known = new Set(this.mesh.peers().map((p) => p.name));
    for (const s of this.raft.getConfiguration().servers) {
      if (s.id === this.o.nodeName || known.has(s.id) || s.id.startsWith(CONTROL_PEER_PREFIX)) continue;
      try {
        this.mesh.connect(s.id);
      } catch (err) {
        this.log.debug({ err, peer: s.id }, 'cannot connect to member');
      }
    }
  }

  // ---- operations (warrenctl) ----

  private async joinCluster(target: string): Promise<string> {
    if (target === this.o.nodeName) throw new Error('a node cannot join itself');
    const members = this.raft?.getConfiguration().servers.map((s) => s.id) ?? [];
    if (members.includes(target)) return `${this.o.nodeName} is already clustered with ${target}`;
    if (members.some((m) => m !== this.o.nodeName)) {
      throw new Error(`${this.o.nodeName} is already in a cluster with ${members.join(', ')}; forget it there (forget_cluster_node) and reset it first`);
    }
    this.formation?.stop();
    this.formation = undefined;
    if (this.raft && members.length > 0) {
      this.log.warn({ target }, 'join_cluster: resetting this lone node (its definitions are dropped)');
      await this.resetRaft();
    }
    this.mesh.connect(target);
    await this.mesh.whenUp(target, 5000);
    const result = await joinVia({ nodeName: this.o.nodeName, mesh: this.mesh, prepareToJoin: () => this.prepareToJoin(), log: this.log }, target, 10_000);
    this.discovered.add(target);
    await this.afterFormation(result);
    return `${this.o.nodeName} joined the cluster of ${target}`;
  }

  private async forgetClusterNode(node: string): Promise<string> {
    // As rabbitmqctl forget_cluster_node: the node's quorum queue members go first, so no
    // queue keeps counting a member that will never come back towards its majority.
    const shrunk = await this.quorumControl.shrink(node);
    for (const row of shrunk.rows) if (row[3] !== 'ok') this.log.warn({ queue: row[1], vhost: row[0], result: row[3], node }, 'quorum queue member not removed');
    const info = await this.membership.call('cluster.remove', node);
    this.discovered.delete(node);
    return `${node} removed; members now ${info.members.map((m) => m.id).join(', ')}`;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
