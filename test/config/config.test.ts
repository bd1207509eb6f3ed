// src/config: the rabbitmq.conf-style file (WARREN_CONFIG_FILE) with rabbitmq.conf's keys, WARREN_* overriding it,
// bad input refused with the file and line; and the README documents every option of the table.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig, OPTIONS } from '../../src/config/config';

const dir = mkdtempSync(join(tmpdir(), 'warren-sec-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function withFile(text: string, env: Record<string, string> = {}) {
  const path = join(dir, `c${Math.random().toString(36).slice(2)}.conf`);
  writeFileSync(path, text);
  return loadConfig({ WARREN_CONFIG_FILE: path, ...env });
}

describe('configuration file', () => {
  it("reads rabbitmq.conf's keys, comments, quotes, $(VAR), lists in key order", () => {
    const c = withFile(
      [
        '# comment',
        'listeners.tcp.default = 127.0.0.1:5673   # trailing comment',
        'listeners.ssl.default = 5671',
        'ssl_options.certfile = /c.pem',
        'ssl_options.verify = verify_peer',
        'ssl_options.fail_if_no_peer_cert = true',
        'ssl_options.versions.2 = tlsv1.2',
        'ssl_options.versions.1 = tlsv1.3',
        'auth_mechanisms.2 = AMQPLAIN',
        'auth_mechanisms.1 = PLAIN',
        'auth_mechanisms.3 = EXTERNAL',
        'ssl_cert_login_from = common_name',
        'loopback_users.guest = true',
        'loopback_users.ops = true',
        'default_user = $(WHO)',
        "default_pass = 'a#b c'",
        'vm_memory_high_watermark.absolute = 1GB',
        'disk_free_limit.absolute = 200MB',
        'channel_max = 100',
        'heartbeat = 30',
        'frame_max = 65536',
        'log.console.level = warning',
      ].join('\n'),
      { WHO: 'admin' },
    );
    assert.equal(c.nodePort, 5673);
    assert.equal(c.nodeIp, '127.0.0.1');
    assert.equal(c.sslPort, 5671);
    assert.equal(c.sslCertFile, '/c.pem');
    assert.equal(c.sslVerify, 'verify_peer');
    assert.equal(c.sslFailIfNoPeerCert, true);
    assert.equal(c.sslVersions, 'tlsv1.3,tlsv1.2');
    assert.equal(c.authMechanisms, 'PLAIN,AMQPLAIN,EXTERNAL');
    assert.equal(c.sslCertLoginFrom, 'common_name');
    assert.equal(c.loopbackUsers, 'guest,ops');
    assert.equal(c.defaultUser, 'admin');
    assert.equal(c.defaultPass, 'a#b c');
    assert.equal(c.memoryHighWatermark, '1GB');
    assert.equal(c.diskFreeLimit, '200MB');
    assert.deepEqual([c.channelMax, c.heartbeatSeconds, c.frameMaxBytes, c.logLevel], [100, 30, 65536, 'warn']);
    // Defaults where the file is silent.
    assert.equal(c.defaultVhost, '/');
  });

  it('WARREN_* variables override the file', () => {
    const c = withFile('listeners.tcp.default = 5673\ndefault_user = fromfile\nloopback_users = none\n', { WARREN_NODE_PORT: '6000', WARREN_DEFAULT_USER: 'fromenv' });
    assert.equal(c.nodePort, 6000);
    assert.equal(c.defaultUser, 'fromenv');
    assert.equal(c.loopbackUsers, '');
  });

  it('refuses unknown keys, bad values and lines that are not key = value, naming the file and line', () => {
    assert.throws(() => withFile('default_user = a\nno.such.key = 1\n'), /:2: unknown or unsupported key 'no.such.key'/);
    assert.throws(() => withFile('just words\n'), /:1: expected 'key = value'/);
    assert.throws(() => withFile('ssl_options.verify = maybe\n'), /ssl_options.verify .* must be one of verify_none, verify_peer, got 'maybe'/);
    assert.throws(() => withFile('heartbeat = soon\n'), /heartbeat .* must be a non-negative integer, got 'soon'/);
    assert.throws(() => withFile('ssl_options.fail_if_no_peer_cert = yes\n'), /must be true or false/);
    assert.throws(() => withFile('ssl_options.versions.1 = sslv3\n'), /TLS version 'sslv3'/);
    assert.throws(() => loadConfig({ WARREN_CONFIG_FILE: join(dir, 'missing.conf') }), /cannot read/);
  });

  it('the README documents every variable and rabbitmq.conf key of the table', () => {
    const readme = readFileSync(resolve(__dirname, '../../../README.md'), 'utf8');
    for (const opt of OPTIONS) {
      assert.ok(readme.includes(`\`${opt.env}\``), `README lacks ${opt.env}`);
      for (const key of opt.conf ?? []) assert.ok(readme.includes(`\`${key}\``), `README lacks ${key}`);
    }
  });
});
