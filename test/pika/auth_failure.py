"""Wrong credentials are refused with an authentication error, not a hang."""
import pika
import pika.exceptions

from _common import HOST, PORT, check, fail

try:
    pika.BlockingConnection(pika.ConnectionParameters(
        host=HOST, port=PORT, credentials=pika.PlainCredentials("guest", "wrong"),
        connection_attempts=1, socket_timeout=5))
    fail("a wrong password must be refused")
except pika.exceptions.ProbableAuthenticationError:
    pass
except pika.exceptions.AMQPConnectionError as e:
    # pika wraps the broker's 403 close; make sure it is an access refusal
    check("403" in repr(e) or "ACCESS_REFUSED" in repr(e), "unexpected error %r" % e)
print("ok")
