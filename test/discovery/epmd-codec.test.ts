import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  EpmdCode,
  NodeType,
  decodeAlive2Response,
  decodeNamesResponse,
  decodePort2Response,
  decodeRequest,
  encodeAlive2Request,
  encodeAlive2Response,
  encodePort2Response,
  encodePortPlease2Request,
  encodeSimpleRequest,
  type NodeEntry,
} from '../../cluster/discovery/epmd-codec';

const rabbit: NodeEntry = {
  name: 'rabbit',
  port: 25672,
  nodeType: NodeType.NORMAL,
  protocol: 0,
  highestVersion: 6,
  lowestVersion: 6,
  extra: Buffer.alloc(0),
};

test('ALIVE2_REQ matches the byte example of the protocol summary', () => {
  const expected = Buffer.from('0013' + '78' + '6448' + '4d' + '00' + '0006' + '0006' + '0006726162626974' + '0000', 'hex');
  assert.deepEqual(encodeAlive2Request(rabbit), expected);
  const decoded = decodeRequest(expected.subarray(2));
  assert.equal(decoded.code, EpmdCode.ALIVE2_REQ);
  assert.deepEqual(decoded.code === EpmdCode.ALIVE2_REQ && decoded.entry, rabbit);
});

test('PORT_PLEASE2_REQ and NAMES_REQ match the byte examples', () => {
  assert.deepEqual(encodePortPlease2Request('rabbit'), Buffer.from('00077a726162626974', 'hex'));
  assert.deepEqual(encodeSimpleRequest(EpmdCode.NAMES_REQ), Buffer.from('00016e', 'hex'));
});

test('ALIVE2 replies: X_RESP with 32-bit creation for version 6, RESP with 16 bits before, 99 on failure', () => {
  assert.deepEqual(encodeAlive2Response(6, true, 0x01020304), Buffer.from('760001020304', 'hex'));
  assert.deepEqual(encodeAlive2Response(5, true, 2), Buffer.from('79000002', 'hex'));
  assert.deepEqual(encodeAlive2Response(6, false, 0), Buffer.from('760100000063', 'hex'));
  assert.deepEqual(encodeAlive2Response(5, false, 0), Buffer.from('79010063', 'hex'));
  assert.deepEqual(decodeAlive2Response(Buffer.from('760001020304', 'hex')), { done: true, used: 6, value: { ok: true, creation: 0x01020304 } });
  assert.deepEqual(decodeAlive2Response(Buffer.from('7600', 'hex')), { done: false });
  assert.throws(() => decodeAlive2Response(Buffer.from('41', 'hex')));
});

test('PORT2_RESP round-trips, with extra bytes and a UTF-8 name, and byte-wise partial reads', () => {
  const entry = { ...rabbit, name: 'kanin-ö', nodeType: NodeType.HIDDEN, extra: Buffer.from([1, 2, 3]) };
  const bytes = encodePort2Response(entry);
  for (let cut = 0; cut < bytes.length; cut++) assert.deepEqual(decodePort2Response(bytes.subarray(0, cut)), { done: false });
  assert.deepEqual(decodePort2Response(bytes), { done: true, used: bytes.length, value: entry });
  assert.deepEqual(encodePort2Response(undefined), Buffer.from('7701', 'hex'));
  assert.deepEqual(decodePort2Response(Buffer.from('7701', 'hex')), { done: true, used: 2, value: undefined });
});

test('NAMES reply parses the lines epmd writes', () => {
  const bytes = Buffer.concat([Buffer.from('00001111', 'hex'), Buffer.from('name a at port 1\nname b-c at port 25672\n')]);
  assert.deepEqual(decodeNamesResponse(bytes), { epmdPort: 0x1111, nodes: [{ name: 'a', port: 1 }, { name: 'b-c', port: 25672 }] });
  assert.throws(() => decodeNamesResponse(Buffer.from('0000', 'hex')));
  assert.throws(() => decodeNamesResponse(Buffer.concat([Buffer.alloc(4), Buffer.from('nonsense\n')])));
});

test('malformed request bodies decode as invalid, never throw', () => {
  const bad = [
    Buffer.alloc(0),
    Buffer.from([0x41]),
    Buffer.from([EpmdCode.ALIVE2_REQ, 0, 1]),
    // ALIVE2 whose name length runs past the end.
    Buffer.from('786448' + '4d00' + '00060006' + '00ff' + '6161' + '0000', 'hex'),
    // ALIVE2 whose extra length runs past the end.
    Buffer.from('786448' + '4d00' + '00060006' + '0001' + '61' + '0009' + '00', 'hex'),
    // ALIVE2 with a NUL in the name.
    Buffer.from('786448' + '4d00' + '00060006' + '0002' + '6100' + '0000', 'hex'),
    // ALIVE2 with invalid UTF-8 in the name.
    Buffer.from('786448' + '4d00' + '00060006' + '0002' + 'c328' + '0000', 'hex'),
    Buffer.from([EpmdCode.PORT_PLEASE2_REQ]),
    Buffer.from([EpmdCode.PORT_PLEASE2_REQ, 0x61, 0, 0x62]),
    Buffer.from([EpmdCode.PORT_PLEASE2_REQ, ...Buffer.alloc(300, 0x61)]),
  ];
  for (const body of bad) assert.equal(decodeRequest(body).code, 'invalid', body.toString('hex'));
  // One trailing NUL after a PORT_PLEASE2 name is tolerated, as epmd does.
  assert.deepEqual(decodeRequest(Buffer.from([EpmdCode.PORT_PLEASE2_REQ, 0x61, 0])), { code: EpmdCode.PORT_PLEASE2_REQ, name: 'a' });
});

test('random bytes never make the request decoder throw', () => {
  let seed = 42;
  const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  for (let i = 0; i < 5000; i++) {
    const body = Buffer.alloc(Math.floor(random() * 40));
    for (let j = 0; j < body.length; j++) body[j] = Math.floor(random() * 256);
    if (body.length > 0 && random() < 0.5) body[0] = [120, 122, 110, 100, 107, 115][Math.floor(random() * 6)];
    assert.doesNotThrow(() => decodeRequest(body));
  }
});
