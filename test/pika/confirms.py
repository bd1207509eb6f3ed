"""Publisher confirms: confirm_delivery, routable publishes succeed, mandatory unroutable raises UnroutableError."""
import pika
import pika.exceptions

from _common import check, connect, fail, unique

connection = connect()
channel = connection.channel()
channel.confirm_delivery()
q = channel.queue_declare(queue=unique("confirm"), exclusive=True).method.queue
for i in range(50):
    channel.basic_publish(exchange="", routing_key=q, body=b"x", mandatory=True)
ok = channel.queue_declare(queue=q, passive=True)
check(ok.method.message_count == 50, "confirmed messages must be in the queue, count %r" % ok.method.message_count)

try:
    channel.basic_publish(exchange="amq.direct", routing_key=unique("nobody"), body=b"bounce", mandatory=True)
    fail("a mandatory unroutable publish must raise UnroutableError")
except pika.exceptions.UnroutableError as e:
    check(len(e.messages) == 1, "returned messages %r" % e.messages)
    returned = e.messages[0]
    check(returned.method.reply_code == 312, "reply code %r" % returned.method.reply_code)
    check(returned.method.reply_text == "NO_ROUTE", "reply text %r" % returned.method.reply_text)
    check(returned.body == b"bounce", "returned body %r" % returned.body)

# Unroutable without mandatory is simply confirmed.
channel.basic_publish(exchange="amq.direct", routing_key=unique("nobody"), body=b"dropped")
check(channel.is_open, "channel should stay open")
connection.close()
print("ok")
