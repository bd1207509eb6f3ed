"""Declare direct, fanout, topic and headers exchanges, bind queues, and check where messages land."""
import time

import pika

from _common import check, connect, unique

connection = connect()
channel = connection.channel()


def new_queue():
    return channel.queue_declare(queue="", exclusive=True).method.queue


def drain(queue):
    time.sleep(0.1)
    out = []
    while True:
        method, _, body = channel.basic_get(queue=queue, auto_ack=True)
        if method is None:
            return out
        out.append(body.decode())


# direct
ex = unique("direct")
channel.exchange_declare(exchange=ex, exchange_type="direct", auto_delete=False)
red, green = new_queue(), new_queue()
channel.queue_bind(queue=red, exchange=ex, routing_key="red")
channel.queue_bind(queue=green, exchange=ex, routing_key="green")
for key in ["red", "green", "blue"]:
    channel.basic_publish(exchange=ex, routing_key=key, body=key)
check(drain(red) == ["red"], "direct red")
check(drain(green) == ["green"], "direct green")
channel.exchange_delete(exchange=ex)

# fanout
ex = unique("fanout")
channel.exchange_declare(exchange=ex, exchange_type="fanout")
qs = [new_queue() for _ in range(3)]
for q in qs:
    channel.queue_bind(queue=q, exchange=ex)
channel.basic_publish(exchange=ex, routing_key="anything", body="all")
for q in qs:
    check(drain(q) == ["all"], "fanout copy missing")
channel.exchange_delete(exchange=ex)

# topic
ex = unique("topic")
channel.exchange_declare(exchange=ex, exchange_type="topic")
star, hash_ = new_queue(), new_queue()
channel.queue_bind(queue=star, exchange=ex, routing_key="*.orange.*")
channel.queue_bind(queue=hash_, exchange=ex, routing_key="lazy.#")
for key in ["quick.orange.rabbit", "lazy.orange.elephant", "lazy", "quick.brown.fox", "lazy.pink.rabbit.x"]:
    channel.basic_publish(exchange=ex, routing_key=key, body=key)
check(drain(star) == ["quick.orange.rabbit", "lazy.orange.elephant"], "topic *.orange.*")
check(drain(hash_) == ["lazy.orange.elephant", "lazy", "lazy.pink.rabbit.x"], "topic lazy.#")
channel.exchange_delete(exchange=ex)

# headers
ex = unique("headers")
channel.exchange_declare(exchange=ex, exchange_type="headers")
all_q, any_q = new_queue(), new_queue()
channel.queue_bind(queue=all_q, exchange=ex, arguments={"x-match": "all", "format": "pdf", "type": "report"})
channel.queue_bind(queue=any_q, exchange=ex, arguments={"x-match": "any", "format": "pdf", "type": "report"})
for name, headers in [("both", {"format": "pdf", "type": "report"}), ("one", {"format": "pdf"}), ("none", {"x": 1})]:
    channel.basic_publish(exchange=ex, routing_key="", body=name, properties=pika.BasicProperties(headers=headers))
check(drain(all_q) == ["both"], "headers all")
check(drain(any_q) == ["both", "one"], "headers any")
channel.exchange_delete(exchange=ex)

connection.close()
print("ok")
