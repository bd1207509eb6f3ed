/**
 * Reads the cluster settings of src/config into ClusterNodeOptions. Kept free of the mesh
 * and Raft imports so a single node can decide cheaply that it is not clustered.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../../src/config/config';
import type { ClusterNodeOptions } from './cluster-node';

/** Where a node's Raft state lives (see raft-stores.ts). */
const RAFT_DIR = 'raft';

/**
 * WARREN_CLUSTER=on|off forces it; with `auto` (the default) a node is clustered when
 * peers or discovery are configured, or when its data dir already holds Raft state.
 */
export function clusterEnabled(config: Config): boolean {
  if (config.cluster === 'on') return true;
  if (config.cluster === 'off') return false;
  if (config.cluster !== 'auto') throw new Error(`WARREN_CLUSTER must be auto, on or off, got '${config.cluster}'`);
  return config.clusterNodes.trim() !== '' || config.clusterDns.trim() !== '' || mdnsEnabled(config) || existsSync(join(config.dataDir, RAFT_DIR));
}

export function clusterOptionsFromConfig(config: Config): Omit<ClusterNodeOptions, 'broker' | 'createDefaults' | 'log'> {
  return {
    nodeName: config.nodeName,
    dataDir: config.dataDir,
    distPort: config.distPort,
    epmdPort: config.epmdPort,
    nodes: config.clusterNodes,
    dnsNames: config.clusterDns.split(/[\s,]+/).filter((s) => s !== ''),
    mdns: mdnsEnabled(config),
    meshTickMs: config.clusterTickMs,
    raftTickMs: config.raftTickMs,
    quorumTickMs: config.quorumTickMs,
    quorumSnapshotEntries: config.quorumSnapshotEntries,
    quorumMemoryBytes: config.quorumMemoryBytes,
    quorumSnapshotBytes: config.quorumSnapshotBytes,
    quorumReattachHoldMs: config.quorumReattachHoldMs,
    quorumReconcile: config.quorumCmrEnabled
      ? { targetGroupSize: config.quorumTargetGroupSize, intervalMs: Math.max(100, config.quorumCmrIntervalMs), triggerMs: Math.max(10, config.quorumCmrTriggerIntervalMs), autoRemove: config.quorumCmrAutoRemove }
      : undefined,
    metadataTimeoutMs: config.metadataTimeoutMs,
  };
}

function mdnsEnabled(config: Config): boolean {
  return /^(1|true|yes|on)$/i.test(config.clusterMdns.trim());
}
