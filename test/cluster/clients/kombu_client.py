# kombu (py-amqp transport) as a Celery-style application uses it, run inside a node's namespace:
#   kombu_client.py publish URL QUEUE N PREFIX [EXPIRATION_S]  N persistent messages to QUEUE
#       through the default exchange with publisher confirms (confirm_publish), optionally
#       with a per-message expiration;
#   kombu_client.py drain URL QUEUE N TIMEOUT_S ack|reject  consumes up to N messages from
#       QUEUE (declared by the test: no_declare) and acks them or rejects them without requeue.
# Prints one JSON line: what was published, or each message's body, headers and redelivered flag.
import json
import socket
import sys
import time

from kombu import Connection, Consumer, Producer, Queue

mode, url, queue = sys.argv[1], sys.argv[2], sys.argv[3]
conn = Connection(url.replace('amqp://', 'pyamqp://'), transport_options={'confirm_publish': True}, connect_timeout=5)
conn.connect()

if mode == 'publish':
    n, prefix = int(sys.argv[4]), sys.argv[5]
    expiration = float(sys.argv[6]) if len(sys.argv) > 6 else None
    producer = Producer(conn.channel())
    published = []
    for i in range(n):
        body = ('%s-%d' % (prefix, i)).encode()
        producer.publish(body, routing_key=queue, exchange='', delivery_mode=2, content_type='application/octet-stream', content_encoding='binary', expiration=expiration)
        published.append(body.decode())
    print(json.dumps({'published': published}))
else:
    n, timeout, action = int(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
    got = []

    def on_message(body, message):
        got.append({'body': message.body.decode(), 'headers': message.headers, 'redelivered': message.delivery_info.get('redelivered')})
        if action == 'ack':
            message.ack()
        else:
            message.reject(requeue=False)

    consumer = Consumer(conn.channel(), queues=[Queue(queue, no_declare=True)], callbacks=[on_message], accept=None, prefetch_count=n)
    deadline = time.time() + timeout
    with consumer:
        while len(got) < n and time.time() < deadline:
            try:
                conn.drain_events(timeout=0.2)
            except socket.timeout:
                pass
    print(json.dumps({'messages': got}, default=str))
conn.release()
