# paho-mqtt (Debian's python3-paho-mqtt) against Warren: 3.1.1 and 5.0, QoS 0 and 1, retained, will.
import os
import sys
import threading
import time
import uuid

import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.packettypes import PacketTypes

HOST = os.environ["WARREN_HOST"]
PORT = int(os.environ["WARREN_MQTT_PORT"])


def client(version, client_id=None, **kw):
    c = mqtt.Client(client_id=client_id or "paho-" + uuid.uuid4().hex[:8], protocol=version, **kw)
    got = []
    ready = threading.Event()
    c.on_message = lambda cl, ud, m: got.append(m)
    if version == mqtt.MQTTv5:
        c.on_connect = lambda cl, ud, flags, rc, props=None: ready.set()
    else:
        c.on_connect = lambda cl, ud, flags, rc: ready.set()
    return c, got, ready


def wait(cond, what, timeout=5.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.02)
    raise SystemExit("timed out waiting for " + what)


for version, name in ((mqtt.MQTTv311, "3.1.1"), (mqtt.MQTTv5, "5.0")):
    base = "paho/" + uuid.uuid4().hex[:8]
    sub, got, ready = client(version)
    sub.connect(HOST, PORT, keepalive=30)
    sub.loop_start()
    assert ready.wait(5), "no CONNACK"
    sub.subscribe(base + "/#", qos=1)
    time.sleep(0.2)
    pub, _, pready = client(version)
    pub.connect(HOST, PORT)
    pub.loop_start()
    assert pready.wait(5)
    info = pub.publish(base + "/one", b"qos1", qos=1)
    info.wait_for_publish(5)
    assert info.is_published(), "no PUBACK"
    props = None
    if version == mqtt.MQTTv5:
        props = Properties(PacketTypes.PUBLISH)
        props.UserProperty = ("k", "v")
    pub.publish(base + "/two", b"qos0", qos=0, properties=props).wait_for_publish(5)
    wait(lambda: len(got) == 2, "two messages (" + name + ")")
    assert sorted(m.payload for m in got) == [b"qos0", b"qos1"], got
    if version == mqtt.MQTTv5:
        two = [m for m in got if m.topic == base + "/two"][0]
        assert ("k", "v") in two.properties.UserProperty, two.properties
    # Retained.
    pub.publish(base + "/retained", b"kept", qos=1, retain=True).wait_for_publish(5)
    late, lgot, lready = client(version)
    late.connect(HOST, PORT)
    late.loop_start()
    assert lready.wait(5)
    late.subscribe(base + "/retained", qos=1)
    wait(lambda: len(lgot) == 1, "retained message (" + name + ")")
    assert lgot[0].payload == b"kept" and lgot[0].retain
    # Will on an abrupt close.
    doomed, _, dready = client(version)
    doomed.will_set(base + "/will", b"bye", qos=1)
    doomed.connect(HOST, PORT)
    doomed.loop_start()
    assert dready.wait(5)
    doomed.loop_stop()
    doomed.socket().close()
    wait(lambda: any(m.topic == base + "/will" for m in got), "will (" + name + ")")
    for c in (sub, pub, late):
        c.disconnect()
        c.loop_stop()
    print("ok", name)
sys.exit(0)
