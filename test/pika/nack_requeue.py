"""basic_nack with requeue redelivers (redelivered=True); basic_reject without requeue drops; nack multiple."""
from _common import check, connect, get_wait, unique

connection = connect()
channel = connection.channel()
q = channel.queue_declare(queue=unique("nack"), exclusive=True).method.queue
for body in [b"a", b"b", b"c"]:
    channel.basic_publish(exchange="", routing_key=q, body=body)

m1, _, b1 = get_wait(channel, q)
check(b1 == b"a", "first body %r" % b1)
channel.basic_nack(delivery_tag=m1.delivery_tag, requeue=True)
m1b, _, b1b = get_wait(channel, q)
check(b1b == b"a", "requeued message should come back first, got %r" % b1b)
check(m1b.redelivered is True, "requeued message must be redelivered=True")

channel.basic_reject(delivery_tag=m1b.delivery_tag, requeue=False)
m2, _, b2 = get_wait(channel, q)
m3, _, b3 = get_wait(channel, q)
check((b2, b3) == (b"b", b"c"), "remaining %r %r" % (b2, b3))
channel.basic_nack(delivery_tag=m3.delivery_tag, multiple=True, requeue=True)
again = [get_wait(channel, q) for _ in range(2)]
check([b for _, _, b in again] == [b"b", b"c"], "nack multiple should requeue both")
check(all(m.redelivered for m, _, _ in again), "both must be redelivered")
channel.basic_ack(delivery_tag=again[1][0].delivery_tag, multiple=True)
method, _, _ = channel.basic_get(queue=q)
check(method is None, "the rejected message must be gone and the rest acked")
connection.close()
print("ok")
