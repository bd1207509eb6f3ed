import assert from 'node:assert/strict';
import { it } from 'node:test';
import { crc32, crc32Table } from '../../src/store/crc32';
import { prng } from './store-helpers';

it('crc32 matches the standard check value', () => {
  const check = Buffer.from('123456789');
  assert.equal(crc32(check), 0xcbf43926);
  assert.equal(crc32Table(check), 0xcbf43926);
  assert.equal(crc32(Buffer.alloc(0)), 0);
});

it('table and native crc32 agree, also when continued from a seed', () => {
  const random = prng(7);
  for (let n = 0; n < 50; n++) {
    const data = Buffer.alloc(Math.floor(random() * 2000));
    for (let i = 0; i < data.length; i++) data[i] = Math.floor(random() * 256);
    const cut = Math.floor(random() * data.length);
    assert.equal(crc32(data), crc32Table(data));
    assert.equal(crc32(data.subarray(cut), crc32(data.subarray(0, cut))), crc32Table(data));
  }
});
