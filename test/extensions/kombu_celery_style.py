"""A Celery-style workload through kombu (Debian's python3-kombu, py-amqp transport): a priority task queue with a
dead-letter exchange, JSON task messages published with priorities and Celery-like headers, consumed highest
priority first; a rejected task and an expired one (kombu's `expiration` in seconds) end up dead-lettered with the
right x-death. Prints "ok" on success.
"""
import os
import socket
import sys
import uuid

from kombu import Connection, Consumer, Exchange, Producer, Queue

HOST = os.environ.get("WARREN_HOST", "127.0.0.1")
PORT = int(os.environ.get("WARREN_PORT", "5672"))


def fail(message):
    print("FAIL: %s" % message, file=sys.stderr)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)


def drain(conn, received, want, timeout_s=5.0):
    """Runs the event loop until `want` messages were received or timeout_s passes."""
    import time

    deadline = time.monotonic() + timeout_s
    while len(received) < want:
        left = deadline - time.monotonic()
        if left <= 0:
            fail("timed out: %d of %d messages" % (len(received), want))
        try:
            conn.drain_events(timeout=min(left, 0.5))
        except socket.timeout:
            pass


def main():
    suffix = uuid.uuid4().hex[:10]
    tasks_x = Exchange("test.kombu.tasks." + suffix, "direct", durable=False, auto_delete=True)
    dead_x = Exchange("test.kombu.dead." + suffix, "fanout", durable=False, auto_delete=True)
    # Not exclusive: kombu makes exclusive queues auto-delete, and this script cancels and re-consumes.
    task_q = Queue(
        "test.kombu.celery." + suffix,
        tasks_x,
        routing_key="celery",
        durable=False,
        queue_arguments={"x-max-priority": 10, "x-dead-letter-exchange": dead_x.name},
    )
    dead_q = Queue("test.kombu.dlq." + suffix, dead_x, durable=False)

    with Connection("amqp://guest:guest@%s:%d//" % (HOST, PORT), connect_timeout=10) as conn:
        channel = conn.channel()
        task_q(channel).declare()
        dead_q(channel).declare()
        try:
            run(conn, channel, tasks_x, task_q, dead_q)
        finally:
            if not channel.is_open:
                channel = conn.channel()
            task_q(channel).delete()
            dead_q(channel).delete()
    print("ok")


def run(conn, channel, tasks_x, task_q, dead_q):
    producer = Producer(channel, exchange=tasks_x, routing_key="celery", serializer="json")

    priorities = [1, 9, 5, 9, 0, 5]
    for i, priority in enumerate(priorities):
        task_id = "task-%d" % i
        producer.publish(
            {"args": [i], "kwargs": {}},
            priority=priority,
            headers={"task": "proj.add", "id": task_id, "retries": 0},
            correlation_id=task_id,
            content_encoding="utf-8",
        )

    received = []

    def on_task(body, message):
        received.append((body, message))
        message.ack()

    consumer = Consumer(channel, queues=[task_q], callbacks=[on_task], accept=["json"], tag_prefix="tasks-")
    consumer.qos(prefetch_count=1)
    consumer.consume()
    drain(conn, received, len(priorities))
    consumer.cancel()

    order = [m.headers["id"] for _, m in received]
    expected = ["task-1", "task-3", "task-2", "task-5", "task-0", "task-4"]
    check(order == expected, "priority order %r, expected %r" % (order, expected))
    body, first = received[0]
    check(body == {"args": [1], "kwargs": {}}, "JSON body round trip: %r" % (body,))
    check(first.headers.get("task") == "proj.add", "Celery-like headers kept: %r" % first.headers)
    check(first.properties.get("correlation_id") == "task-1", "correlation_id: %r" % first.properties)
    check(first.content_type == "application/json", "content_type: %r" % first.content_type)

    # A task that fails for good is rejected (acks_late + reject): dead-lettered with reason rejected.
    producer.publish({"args": ["bad"], "kwargs": {}}, headers={"id": "bad-task"})
    rejected = []

    def on_bad(body, message):
        rejected.append(message)
        message.reject()

    consumer = Consumer(channel, queues=[task_q], callbacks=[on_bad], accept=["json"], tag_prefix="bad-")
    consumer.consume()
    drain(conn, rejected, 1)
    consumer.cancel()

    # A task with kombu's expiration (seconds; sent as a millisecond string) expires unconsumed.
    producer.publish({"args": ["late"], "kwargs": {}}, headers={"id": "late-task"}, expiration=0.1)

    dead = []
    consumer = Consumer(
        channel, queues=[dead_q], callbacks=[lambda b, m: (dead.append(m), m.ack())], accept=["json"],
        tag_prefix="dead-",
    )
    consumer.consume()
    drain(conn, dead, 2)
    consumer.cancel()
    by_id = {m.headers["id"]: m for m in dead}
    check(set(by_id) == {"bad-task", "late-task"}, "dead-lettered ids: %r" % list(by_id))
    bad_death = by_id["bad-task"].headers["x-death"][0]
    check(bad_death["reason"] == "rejected" and bad_death["queue"] == task_q.name, "bad x-death %r" % bad_death)
    late_death = by_id["late-task"].headers["x-death"][0]
    check(late_death["reason"] == "expired", "late x-death %r" % late_death)
    check(late_death.get("original-expiration") == "100", "original-expiration %r" % late_death)


if __name__ == "__main__":
    main()
