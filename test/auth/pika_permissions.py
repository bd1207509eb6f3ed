"""The access-control table with pika: each operation refused with 403 and RabbitMQ's exact text for a user
with no matching pattern, allowed for a user whose patterns match; connection limits refused with 530.
Reads the names the test made from WARREN_ACCESS (JSON)."""
import json
import os
import sys

import pika
import pika.exceptions

HOST = os.environ.get("WARREN_HOST", "127.0.0.1")
PORT = int(os.environ.get("WARREN_PORT", "5672"))
CFG = json.loads(os.environ["WARREN_ACCESS"])


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def connect(user, vhost="/"):
    return pika.BlockingConnection(pika.ConnectionParameters(
        host=HOST, port=PORT, virtual_host=vhost, credentials=pika.PlainCredentials(user, "pw"),
        connection_attempts=1, socket_timeout=10, blocked_connection_timeout=10))


def refused(conn, what, op, code, text):
    ch = conn.channel()
    ch.confirm_delivery()
    try:
        op(ch)
    except pika.exceptions.ChannelClosedByBroker as e:
        if e.reply_code != code or e.reply_text != text:
            fail("%s: expected %d %r, got %d %r" % (what, code, text, e.reply_code, e.reply_text))
        return
    fail("%s: expected %d %r, but it succeeded" % (what, code, text))


nobody = CFG["nobody"]
q, x = CFG["queue"], CFG["exchange"]


# RabbitMQ 3.x leaves the permission out of the text ("access to queue ..."); 4.x names it.
RABBITMQ_3 = os.environ.get("WARREN_TEST_RABBITMQ", "").startswith("3.")


def deny(perm, kind, name, user=nobody):
    if RABBITMQ_3:
        return "ACCESS_REFUSED - access to %s '%s' in vhost '/' refused for user '%s'" % (kind, name, user)
    return "ACCESS_REFUSED - %s access to %s '%s' in vhost '/' refused for user '%s'" % (perm, kind, name, user)


conn = connect(nobody)
rows = [
    ("exchange.declare", lambda ch: ch.exchange_declare(x, "direct"), deny("configure", "exchange", x)),
    ("exchange.declare passive", lambda ch: ch.exchange_declare(x, passive=True), deny("configure", "exchange", x)),
    ("exchange.delete", lambda ch: ch.exchange_delete(x), deny("configure", "exchange", x)),
    ("exchange.bind", lambda ch: ch.exchange_bind(x, "amq.direct", "k"), deny("write", "exchange", x)),
    ("exchange.unbind", lambda ch: ch.exchange_unbind(x, "amq.direct", "k"), deny("write", "exchange", x)),
    ("queue.declare", lambda ch: ch.queue_declare(q), deny("configure", "queue", q)),
    ("queue.declare passive", lambda ch: ch.queue_declare(q, passive=True), deny("configure", "queue", q)),
    ("queue.delete", lambda ch: ch.queue_delete(q), deny("configure", "queue", q)),
    ("queue.purge", lambda ch: ch.queue_purge(q), deny("read", "queue", q)),
    ("queue.bind", lambda ch: ch.queue_bind(q, "amq.direct", "k"), deny("write", "queue", q)),
    ("queue.unbind", lambda ch: ch.queue_unbind(q, "amq.direct", "k"), deny("write", "queue", q)),
    ("basic.publish amq.direct", lambda ch: ch.basic_publish("amq.direct", "k", b"m"), deny("write", "exchange", "amq.direct")),
    ("basic.publish default", lambda ch: ch.basic_publish("", q, b"m"), deny("write", "exchange", "amq.default")),
    ("basic.get", lambda ch: ch.basic_get(q), deny("read", "queue", q)),
    ("basic.consume", lambda ch: ch.basic_consume(q, lambda *a: None), deny("read", "queue", q)),
]
for what, op, text in rows:
    if RABBITMQ_3 and "passive" in what:
        continue  # 3.x checks no permission on passive declares (4.2.7+/4.3.1+: any of the three)
    refused(conn, what, op, 403, text)
conn.close()

# A user whose patterns match its own prefix.
scoped, prefix = CFG["scoped"], CFG["prefix"]
conn = connect(scoped)
ch = conn.channel()
ch.confirm_delivery()
mine = prefix + ".q"
ch.queue_declare(mine)
ch.exchange_declare(prefix + ".x", "direct")
ch.queue_bind(mine, prefix + ".x", "k")
ch.basic_publish(prefix + ".x", "k", b"hello")
method, _props, body = ch.basic_get(mine, auto_ack=True)
if body != b"hello":
    fail("scoped user: expected the message back, got %r" % (body,))
ch.queue_purge(mine)
ch.queue_unbind(mine, prefix + ".x", "k")
ch.queue_delete(mine)
ch.exchange_delete(prefix + ".x")
refused(conn, "scoped: other queue", lambda c: c.queue_declare("other." + mine), 403, deny("configure", "queue", "other." + mine, scoped))
refused(conn, "scoped: bind from amq.direct", lambda c: (c.queue_declare(mine), c.queue_bind(mine, "amq.direct", "k")), 403,
        deny("read", "exchange", "amq.direct", scoped))
conn.close()

# Connection limits: the vhost allows one connection.
limited, vhost = CFG["limited"], CFG["limitedVhost"]
first = connect(limited, vhost)
try:
    connect(limited, vhost).close()
    fail("a second connection over the vhost's max-connections must be refused")
except pika.exceptions.AMQPConnectionError as e:
    # pika wraps the broker's close at connection.open in ProbableAccessDeniedError; the close is its argument.
    want = "(530) \"NOT_ALLOWED - access to vhost '%s' refused for user '%s': connection limit (1) is reached\"" % (vhost, limited)
    if want not in " ".join(str(a) for a in e.args):
        fail("vhost max-connections: expected %s, got %r" % (want, e))
first.close()
print("ok")
