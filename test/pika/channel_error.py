"""A passive declare of a missing queue raises ChannelClosedByBroker 404; the connection keeps working."""
import pika.exceptions

from _common import check, connect, fail, unique

connection = connect()
channel = connection.channel()
try:
    channel.queue_declare(queue=unique("missing"), passive=True)
    fail("passive declare of a missing queue must fail")
except pika.exceptions.ChannelClosedByBroker as e:
    check(e.reply_code == 404, "reply code %r" % e.reply_code)
    check(e.reply_text.startswith("NOT_FOUND"), "reply text %r" % e.reply_text)
check(channel.is_closed, "the channel must be closed")
check(connection.is_open, "the connection must stay open")

channel = connection.channel()
q = channel.queue_declare(queue="", exclusive=True).method.queue
channel.basic_publish(exchange="", routing_key=q, body=b"after error")
ok = channel.queue_declare(queue=q, passive=True)
check(ok.method.queue == q, "queue %r" % ok.method.queue)

try:
    x = unique("x")
    channel.exchange_declare(exchange=x, exchange_type="direct")
    channel.exchange_delete(exchange=x)
    channel.exchange_declare(exchange="amq.nope", exchange_type="direct")
    fail("declaring amq.* must fail")
except pika.exceptions.ChannelClosedByBroker as e:
    check(e.reply_code == 403, "reply code %r" % e.reply_code)
check(connection.is_open, "the connection must stay open")
connection.close()
print("ok")
