"""Shared bits for the pika scripts: where the broker is, and how to fail loudly."""
import os
import sys
import uuid

import pika

HOST = os.environ.get("WARREN_HOST", "127.0.0.1")
PORT = int(os.environ.get("WARREN_PORT", "5672"))


def params(**kwargs):
    return pika.ConnectionParameters(
        host=HOST,
        port=PORT,
        credentials=pika.PlainCredentials("guest", "guest"),
        blocked_connection_timeout=10,
        socket_timeout=10,
        **kwargs,
    )


def connect(**kwargs):
    return pika.BlockingConnection(params(**kwargs))


def unique(prefix):
    return "test.pika.%s.%s" % (prefix, uuid.uuid4().hex[:10])


def check(condition, message):
    if not condition:
        fail(message)


def fail(message):
    print("FAIL: %s" % message, file=sys.stderr)
    sys.exit(1)


def get_wait(channel, queue, auto_ack=False, tries=50):
    """basic_get, retrying briefly: a publish is asynchronous, so the message may not be queued yet."""
    import time

    for _ in range(tries):
        method, props, body = channel.basic_get(queue=queue, auto_ack=auto_ack)
        if method is not None:
            return method, props, body
        time.sleep(0.02)
    return None, None, None
