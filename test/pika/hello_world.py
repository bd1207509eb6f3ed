"""The tutorial: declare my_queue, publish 'Hello World!' through the default exchange, get it, ack it."""
import pika

from _common import check, connect, get_wait

connection = connect()
channel = connection.channel()
channel.queue_declare(queue="my_queue")
channel.queue_purge(queue="my_queue")
channel.basic_publish(exchange="", routing_key="my_queue", body="Hello World!")

method, props, body = get_wait(channel, "my_queue")
check(method is not None, "basic_get returned nothing")
check(body == b"Hello World!", "unexpected body %r" % body)
check(method.exchange == "", "exchange %r" % method.exchange)
check(method.routing_key == "my_queue", "routing key %r" % method.routing_key)
check(method.redelivered is False, "should not be redelivered")
check(method.message_count == 0, "message_count %r" % method.message_count)
channel.basic_ack(delivery_tag=method.delivery_tag)

method, _, _ = channel.basic_get(queue="my_queue")
check(method is None, "queue should be empty after the ack")
ok = channel.queue_declare(queue="my_queue", passive=True)
check(ok.method.message_count == 0, "passive declare count %r" % ok.method.message_count)
channel.queue_delete(queue="my_queue")
connection.close()
print("ok")
