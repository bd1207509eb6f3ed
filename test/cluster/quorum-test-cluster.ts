// The cluster (three nodes unless asked for more) the quorum-queue tests share: registered as before/after hooks of
// the describe that calls it, started before its tests and destroyed after them (the tests'
// AMQP connections closed first). Snapshots every 64 entries, so that the tests run through
// snapshots, log deletion and snapshot installs, not only through log replication.
import { after, before } from 'node:test';
import { NetnsCluster } from './netns-cluster';
import { closeAll } from './clustered-support';

export const QUORUM_TEST_ENV: Readonly<Record<string, string>> = {
  WARREN_CLUSTER_TICK_MS: '2000',
  WARREN_LOG_LEVEL: 'warn',
  WARREN_QUORUM_SNAPSHOT_ENTRIES: '64',
};

export interface QuorumTestCluster {
  /** The running cluster (only inside tests and hooks: it is created by the before hook). */
  readonly cluster: NetnsCluster;
  /** Node i's AMQP URL. */
  url(i: number): string;
}

/** Hooks a cluster of `size` nodes with QUORUM_TEST_ENV plus `env` into the calling describe. */
export function useQuorumTestCluster(env: Record<string, string> = {}, size = 3): QuorumTestCluster {
  let cluster: NetnsCluster | undefined;
  const started = (): NetnsCluster => {
    if (!cluster) throw new Error('the quorum test cluster is used outside its describe');
    return cluster;
  };
  before(async () => {
    cluster = new NetnsCluster({ size, env: { ...QUORUM_TEST_ENV, ...env } });
    await cluster.start();
  });
  after(async () => {
    await closeAll();
    await cluster?.destroy();
  });
  return {
    get cluster() {
      return started();
    },
    url: (i) => started().nodes[i].url,
  };
}
