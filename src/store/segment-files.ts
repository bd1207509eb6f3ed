/**
 * Segment file naming and the few file-system calls the segment store makes outside
 * its group commit: listing, creating, removing, syncing the directory.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';

const SEGMENT_SUFFIX = '.wseg';
const NAME_PATTERN = /^(\d{10})\.wseg$/;

export function segmentFileName(segmentNo: number): string {
  return String(segmentNo).padStart(10, '0') + SEGMENT_SUFFIX;
}

/** Segment numbers present in `dir`, ascending. Other files are ignored. */
export function listSegments(dir: string): number[] {
  const found: number[] = [];
  for (const name of fs.readdirSync(dir)) {
    const match = NAME_PATTERN.exec(name);
    if (match) found.push(Number(match[1]));
  }
  return found.sort((a, b) => a - b);
}

/** Makes directory entries (new or removed files) durable. */
export function syncDirectory(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export function segmentPath(dir: string, segmentNo: number): string {
  return join(dir, segmentFileName(segmentNo));
}
