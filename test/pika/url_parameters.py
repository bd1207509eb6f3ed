"""BlockingConnection from URLParameters with the default vhost spelled %2F, and from ConnectionParameters."""
import pika

from _common import HOST, PORT, check, connect, get_wait, unique

url = "amqp://guest:guest@%s:%d/%%2F" % (HOST, PORT)
connection = pika.BlockingConnection(pika.URLParameters(url))
check(connection.is_open, "URLParameters connection is not open")
props = connection._impl.server_properties
check(props.get("capabilities", {}).get("publisher_confirms") is True, "publisher_confirms capability missing")
channel = connection.channel()
q = channel.queue_declare(queue="", exclusive=True).method.queue
check(q.startswith("amq.gen-"), "server-named queue %r" % q)
channel.basic_publish(exchange="", routing_key=q, body=b"via url",
                      properties=pika.BasicProperties(content_type="text/plain", delivery_mode=2,
                                                      headers={"k": "v", "n": 7, "nested": {"a": [1, "b"]}}))
method, props, body = get_wait(channel, q, auto_ack=True)
check(body == b"via url", "body %r" % body)
check(props.content_type == "text/plain", "content_type %r" % props.content_type)
check(props.delivery_mode == 2, "delivery_mode %r" % props.delivery_mode)
check(props.headers == {"k": "v", "n": 7, "nested": {"a": [1, "b"]}}, "headers %r" % props.headers)
connection.close()
check(connection.is_closed, "connection should be closed")

connection = connect(virtual_host="/", heartbeat=30)
check(connection.is_open, "ConnectionParameters connection is not open")
connection.channel().queue_declare(queue="", exclusive=True)
connection.close()
print("ok")
