"""basic_consume receiving N messages in order with manual acks, then cancel."""
from _common import check, connect, unique

N = 200
connection = connect()
channel = connection.channel()
q = channel.queue_declare(queue=unique("consume"), exclusive=True).method.queue
for i in range(N):
    channel.basic_publish(exchange="", routing_key=q, body=str(i).encode())

received = []


def on_message(ch, method, properties, body):
    received.append(int(body))
    ch.basic_ack(delivery_tag=method.delivery_tag)
    if len(received) == N:
        ch.stop_consuming()


channel.basic_qos(prefetch_count=10)
tag = channel.basic_consume(queue=q, on_message_callback=on_message)
check(isinstance(tag, str) and tag != "", "consumer tag %r" % tag)
connection.call_later(15, lambda: channel.stop_consuming())
channel.start_consuming()
check(received == list(range(N)), "received %d messages, first mismatch at %r" % (
    len(received), next((i for i, v in enumerate(received) if v != i), None)))
ok = channel.queue_declare(queue=q, passive=True)
check(ok.method.message_count == 0, "queue should be drained, has %r" % ok.method.message_count)
check(ok.method.consumer_count == 0, "consumer should be cancelled, has %r" % ok.method.consumer_count)
connection.close()
print("ok")
