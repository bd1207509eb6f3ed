"""AMQPS with pika: amqps:// URLParameters with PLAIN, and ExternalCredentials logging in as the user named by
the client certificate's CN; a certificate naming no user is refused. Reads WARREN_TLS (JSON) from the test."""
import json
import os
import ssl
import sys
import urllib.parse

import pika
import pika.exceptions

CFG = json.loads(os.environ["WARREN_TLS"])


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


# 1. amqps:// URL, guest/guest over TLS without a client certificate.
opts = urllib.parse.quote(repr({"ca_certs": CFG["ca"], "server_hostname": "localhost"}))
url = "amqps://guest:guest@127.0.0.1:%d/%%2F?ssl_options=%s&connection_attempts=1&socket_timeout=10" % (CFG["port"], opts)
conn = pika.BlockingConnection(pika.URLParameters(url))
ch = conn.channel()
q = ch.queue_declare("", exclusive=True).method.queue
ch.confirm_delivery()
ch.basic_publish("", q, b"over tls")
method, _props, body = ch.basic_get(q, auto_ack=True)
if body != b"over tls":
    fail("amqps round trip: got %r" % (body,))
conn.close()


def external(cert, key):
    ctx = ssl.create_default_context(cafile=CFG["ca"])
    ctx.load_cert_chain(cert, key)
    return pika.BlockingConnection(pika.ConnectionParameters(
        host="127.0.0.1", port=CFG["port"], ssl_options=pika.SSLOptions(ctx, "localhost"),
        credentials=pika.credentials.ExternalCredentials(), connection_attempts=1, socket_timeout=10))


# 2. EXTERNAL: the certificate's CN is the user; its permissions apply.
conn = external(CFG["cert"], CFG["key"])
ch = conn.channel()
q = ch.queue_declare(CFG["user"] + ".q", exclusive=True).method.queue
ch.basic_publish("", q, b"as " + CFG["user"].encode())
method, _props, body = ch.basic_get(q, auto_ack=True)
if body != b"as " + CFG["user"].encode():
    fail("EXTERNAL round trip: got %r" % (body,))
try:
    ch.queue_declare("not-mine")
    fail("the certificate user's configure pattern must apply")
except pika.exceptions.ChannelClosedByBroker as e:
    want = "ACCESS_REFUSED - configure access to queue 'not-mine' in vhost '/' refused for user '%s'" % CFG["user"]
    if e.reply_code != 403 or e.reply_text != want:
        fail("expected 403 %r, got %d %r" % (want, e.reply_code, e.reply_text))
conn.close()

# 3. A certificate whose CN names no user is refused.
try:
    external(CFG["badCert"], CFG["badKey"]).close()
    fail("a certificate naming no user must be refused")
except pika.exceptions.AMQPConnectionError:
    pass
print("ok")
