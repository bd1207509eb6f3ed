# Holds one STOMP connection (stomp.py) open until the broker closes it, printing what happens:
# "connected", then "error: <message header>" for an ERROR frame, then "disconnected".
import os
import sys
import time

import stomp


class Listener(stomp.ConnectionListener):
    def __init__(self):
        self.gone = False

    def on_error(self, frame):
        print('error: %s' % frame.headers.get('message'), flush=True)

    def on_disconnected(self):
        print('disconnected', flush=True)
        self.gone = True


listener = Listener()
# stomp.py puts the host name in the host header unless vhost is given; the host header names the vhost.
conn = stomp.Connection12([(os.environ['WARREN_HOST'], int(os.environ['WARREN_STOMP_PORT']))], heartbeats=(0, 0), vhost='/')
conn.set_listener('hold', listener)
conn.connect('guest', 'guest', wait=True)
print('connected', flush=True)
deadline = time.time() + float(os.environ.get('HOLD_SECONDS', '20'))
while not listener.gone and time.time() < deadline:
    time.sleep(0.05)
sys.exit(0 if listener.gone else 3)
