"""The classic retry-with-delay topology, driven by pika (Debian's python3-pika):

    work exchange --(job)--> work queue --DLX--> retry exchange --(job)--> delay queue (x-message-ttl 200 ms)
         ^                                                                      |
         +------------------------------------DLX------------------------------+

The consumer rejects (requeue=False) a message twice and acks it the third time. At the end the x-death entry
for (work queue, rejected) has count 2, and so does (delay queue, expired). Prints "ok" on success.
"""
import os
import sys
import time
import uuid

import pika

HOST = os.environ.get("WARREN_HOST", "127.0.0.1")
PORT = int(os.environ.get("WARREN_PORT", "5672"))
DELAY_MS = 200


def fail(message):
    print("FAIL: %s" % message, file=sys.stderr)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)


def main():
    params = pika.ConnectionParameters(
        host=HOST,
        port=PORT,
        credentials=pika.PlainCredentials("guest", "guest"),
        blocked_connection_timeout=10,
        socket_timeout=10,
    )
    conn = pika.BlockingConnection(params)
    ch = conn.channel()
    suffix = uuid.uuid4().hex[:10]
    work_x = "test.retry.work-x." + suffix
    retry_x = "test.retry.retry-x." + suffix
    work_q = "test.retry.work." + suffix
    delay_q = "test.retry.delay." + suffix

    ch.exchange_declare(work_x, "direct", auto_delete=True)
    ch.exchange_declare(retry_x, "direct", auto_delete=True)
    ch.queue_declare(work_q, exclusive=True, arguments={"x-dead-letter-exchange": retry_x})
    ch.queue_declare(
        delay_q,
        exclusive=True,
        arguments={"x-message-ttl": DELAY_MS, "x-dead-letter-exchange": work_x},
    )
    ch.queue_bind(work_q, work_x, routing_key="job")
    ch.queue_bind(delay_q, retry_x, routing_key="job")
    ch.confirm_delivery()
    ch.basic_publish(
        work_x,
        "job",
        b"flaky job",
        pika.BasicProperties(message_id="job-1", headers={"attempt-source": "pika"}),
    )

    deliveries = []  # (monotonic time, properties)

    def on_message(channel, method, properties, body):
        deliveries.append((time.monotonic(), properties, body))
        if len(deliveries) < 3:
            channel.basic_reject(method.delivery_tag, requeue=False)
        else:
            channel.basic_ack(method.delivery_tag)
            channel.stop_consuming()

    ch.basic_qos(prefetch_count=1)
    ch.basic_consume(work_q, on_message)
    timed_out = []

    def on_timeout():
        timed_out.append(True)
        ch.stop_consuming()

    timer = conn.call_later(10, on_timeout)
    ch.start_consuming()
    conn.remove_timeout(timer)
    check(not timed_out, "timed out after 10 s with %d deliveries" % len(deliveries))

    check(len(deliveries) == 3, "expected 3 deliveries, got %d" % len(deliveries))
    for i in (1, 2):
        gap_ms = (deliveries[i][0] - deliveries[i - 1][0]) * 1000
        check(gap_ms >= DELAY_MS * 0.8, "retry %d came after %.0f ms, before the %d ms delay" % (i, gap_ms, DELAY_MS))

    first = deliveries[0][1]
    check(not (first.headers or {}).get("x-death"), "the first delivery has no x-death: %r" % first.headers)
    last_props = deliveries[2][1]
    check(deliveries[2][2] == b"flaky job", "body changed: %r" % deliveries[2][2])
    check(last_props.message_id == "job-1", "message_id changed: %r" % last_props.message_id)
    headers = last_props.headers or {}
    check(headers.get("attempt-source") == "pika", "user header lost: %r" % headers)
    deaths = headers.get("x-death")
    check(isinstance(deaths, list), "x-death missing or not an array: %r" % headers)

    def entry(queue, reason):
        for d in deaths:
            if d.get("queue") == queue and d.get("reason") == reason:
                return d
        fail("no x-death entry for %s/%s in %r" % (queue, reason, deaths))

    rejected = entry(work_q, "rejected")
    check(rejected.get("count") == 2, "rejected count should be 2: %r" % rejected)
    check(rejected.get("exchange") == work_x, "rejected entry exchange: %r" % rejected)
    check(list(rejected.get("routing-keys") or []) == ["job"], "rejected entry routing-keys: %r" % rejected)
    expired = entry(delay_q, "expired")
    check(expired.get("count") == 2, "expired count should be 2: %r" % expired)
    check(expired.get("exchange") == retry_x, "expired entry exchange: %r" % expired)
    check(len(deaths) == 2, "one entry per (queue, reason), got %r" % deaths)
    check(headers.get("x-first-death-queue") == work_q, "x-first-death-queue: %r" % headers)
    check(headers.get("x-first-death-reason") == "rejected", "x-first-death-reason: %r" % headers)

    # Nothing is left anywhere: the acked message is gone.
    check(ch.queue_declare(work_q, passive=True).method.message_count == 0, "work queue not empty")
    check(ch.queue_declare(delay_q, passive=True).method.message_count == 0, "delay queue not empty")
    conn.close()
    print("ok")


if __name__ == "__main__":
    main()
