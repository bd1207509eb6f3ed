# Direct reply-to with pika, the two halves in two processes (on two nodes):
#   pika_rpc.py server URL QUEUE N TIMEOUT_S  answers N requests on QUEUE (body upper-cased,
#       same correlation id, to the request's reply_to), printing "ready" once consuming;
#   pika_rpc.py client URL QUEUE N TIMEOUT_S  sends N requests with reply_to
#       amq.rabbitmq.reply-to (no-ack consumer first, as the protocol requires) and waits
#       for the replies.
# Each prints one JSON line at the end; both stop after TIMEOUT_S whatever happened.
import json
import sys
import time

import pika

role, url, queue, n, timeout = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
params = pika.URLParameters(url)
params.socket_timeout = 5
conn = pika.BlockingConnection(params)
ch = conn.channel()
deadline = time.time() + timeout

if role == 'server':
    answered = []

    def on_request(channel, method, props, body):
        channel.basic_publish('', props.reply_to, body.upper(), pika.BasicProperties(correlation_id=props.correlation_id))
        channel.basic_ack(method.delivery_tag)
        answered.append(props.correlation_id)

    ch.basic_qos(prefetch_count=10)
    ch.basic_consume(queue, on_request)
    print('ready', flush=True)
    while len(answered) < n and time.time() < deadline:
        conn.process_data_events(time_limit=0.1)
    conn.close()
    print(json.dumps({'answered': answered}))
else:
    replies = {}

    def on_reply(channel, method, props, body):
        replies[props.correlation_id] = {'body': body.decode(), 'routing_key': method.routing_key}

    ch.basic_consume('amq.rabbitmq.reply-to', on_reply, auto_ack=True)
    for i in range(n):
        ch.basic_publish('', queue, ('request-%d' % i).encode(), pika.BasicProperties(reply_to='amq.rabbitmq.reply-to', correlation_id='c%d' % i))
    while len(replies) < n and time.time() < deadline:
        conn.process_data_events(time_limit=0.1)
    conn.close()
    print(json.dumps({'replies': replies}))
