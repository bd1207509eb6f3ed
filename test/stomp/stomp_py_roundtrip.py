# stomp.py (Debian's python3-stomp) against Warren over STOMP 1.0, 1.1 and 1.2.
import os
import sys
import threading
import time
import uuid

import stomp

HOST = os.environ["WARREN_HOST"]
PORT = int(os.environ["WARREN_STOMP_PORT"])


class Listener(stomp.ConnectionListener):
    def __init__(self):
        self.messages = []
        self.errors = []
        self.receipts = []

    def on_message(self, frame):
        self.messages.append(frame)

    def on_error(self, frame):
        self.errors.append(frame)

    def on_receipt(self, frame):
        self.receipts.append(frame.headers["receipt-id"])


def wait(cond, what, timeout=5.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.02)
    raise SystemExit("timed out waiting for " + what)


for cls, version in ((stomp.Connection10, "1.0"), (stomp.Connection11, "1.1"), (stomp.Connection12, "1.2")):
    # stomp.py puts the host name in the host header unless vhost is given; the host header names the vhost.
    conn = cls([(HOST, PORT)]) if version == "1.0" else cls([(HOST, PORT)], heartbeats=(1000, 1000), vhost="/")
    listener = Listener()
    conn.set_listener("l", listener)
    if version == "1.0":
        conn.connect("guest", "guest", wait=True)
    else:
        conn.connect("guest", "guest", wait=True)
    q = "/queue/py-" + uuid.uuid4().hex[:8]
    sub_id = "s-" + version
    conn.subscribe(destination=q, id=sub_id, ack="client-individual")
    conn.send(destination=q, body="hello " + version, headers={"persistent": "true", "x-app": "py"}, receipt="r-" + version)
    wait(lambda: "r-" + version in listener.receipts, "SEND receipt " + version)
    wait(lambda: len(listener.messages) == 1, "MESSAGE " + version)
    m = listener.messages[0]
    assert m.body == "hello " + version, m.body
    assert m.headers["x-app"] == "py", m.headers
    assert m.headers["persistent"] == "true", m.headers
    if version == "1.2":
        conn.ack(m.headers["ack"])
    elif version == "1.1":
        conn.ack(m.headers["message-id"], sub_id)
    else:
        conn.ack(m.headers["message-id"])
    # A topic round trip with a transaction.
    t = "/topic/py." + uuid.uuid4().hex[:8]
    conn.subscribe(destination=t, id="t-" + version, ack="auto")
    time.sleep(0.1)
    tx = conn.begin()
    conn.send(destination=t, body="in tx", transaction=tx)
    time.sleep(0.1)
    assert len(listener.messages) == 1, "nothing before COMMIT"
    conn.commit(tx)
    wait(lambda: len(listener.messages) == 2, "transactional MESSAGE " + version)
    assert not listener.errors, [e.body for e in listener.errors]
    conn.disconnect()
    print("ok", version)
sys.exit(0)
