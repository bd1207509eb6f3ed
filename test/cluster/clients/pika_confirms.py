# Publisher confirms with pika (BlockingConnection): COUNT persistent, mandatory messages to
# QUEUE through the default exchange, each confirmed before the next; then UNROUTABLE
# mandatory messages to amq.direct with a key nothing is bound to. A nack raises NackError
# and a return raises UnroutableError in pika, so each message lands in exactly one count.
# Prints one JSON line. Usage: pika_confirms.py URL QUEUE COUNT UNROUTABLE
import json
import sys

import pika
from pika.exceptions import NackError, UnroutableError

url, queue, count, unroutable = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
params = pika.URLParameters(url)
params.socket_timeout = 5
params.blocked_connection_timeout = 10
conn = pika.BlockingConnection(params)
ch = conn.channel()
ch.confirm_delivery()
result = {'acked': 0, 'nacked': 0, 'returned': 0, 'unroutable_acked': 0, 'unroutable_returned': 0, 'unroutable_nacked': 0}


def publish(exchange, key, body, prefix):
    try:
        ch.basic_publish(exchange, key, body, pika.BasicProperties(delivery_mode=2, message_id=body.decode()), mandatory=True)
        result[prefix + 'acked'] += 1
    except UnroutableError:
        result[prefix + 'returned'] += 1
    except NackError:
        result[prefix + 'nacked'] += 1


for i in range(count):
    publish('', queue, ('m-%d' % i).encode(), '')
for i in range(unroutable):
    publish('amq.direct', 'no.such.binding', ('u-%d' % i).encode(), 'unroutable_')
conn.close()
print(json.dumps(result))
