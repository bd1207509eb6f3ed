"""Behaviours pika applications meet where Warren once differed from RabbitMQ: requeue order of messages
rejected one by one, and the close of a publish error (pika sees it on the channel that published).
(Debian's pika 1.2 has no update_secret; amqplib's is tested in test/integration/close-ids.test.ts.)"""
from _common import check, connect, get_wait, unique
import pika.exceptions

connection = connect()
channel = connection.channel()
q = channel.queue_declare(queue=unique("requeue"), exclusive=True).method.queue
for body in [b"1", b"2", b"3", b"4"]:
    channel.basic_publish(exchange="", routing_key=q, body=body)
got = [get_wait(channel, q) for _ in range(3)]
for method, _, _ in got:
    channel.basic_reject(delivery_tag=method.delivery_tag, requeue=True)
again = [get_wait(channel, q) for _ in range(4)]
check([b for _, _, b in again] == [b"1", b"2", b"3", b"4"], "requeued 1, 2, 3 must come back 1, 2, 3 before 4, got %r" % [b for _, _, b in again])
check([m.redelivered for m, _, _ in again] == [True, True, True, False], "redelivered flags %r" % [m.redelivered for m, _, _ in again])
channel.basic_ack(delivery_tag=again[-1][0].delivery_tag, multiple=True)

# A publish to a missing exchange closes the channel with 404 (and the connection stays usable).
bad = connection.channel()
bad.confirm_delivery()
try:
    bad.basic_publish(exchange=unique("missing"), routing_key="x", body=b"x")
    check(False, "publishing to a missing exchange must fail")
except pika.exceptions.ChannelClosedByBroker as err:
    check(err.reply_code == 404, "expected 404, got %r" % (err,))
check(connection.is_open, "a channel error must leave the connection open")
connection.close()
print("ok")
