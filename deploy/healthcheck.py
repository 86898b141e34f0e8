"""Container health check: GET /status on the API's own port.

Healthy: 200. Also healthy: 503 with "db": "down" - the API itself answers, and restarting it
would not bring the database back (it reconnects by itself); the orchestrator must not kill
every replica during a database outage. Anything else (no answer, 500, a timeout) is unhealthy.

Plain sockets, no urllib/json: the check runs every few seconds in every replica, and its cost
is mostly Python's start-up plus imports.
"""

import os
import socket
import sys

port = int(os.environ.get("PORT") or 5000)
request = (
    b"GET /status HTTP/1.0\r\nHost: 127.0.0.1\r\nX-Health-Check: 1\r\nConnection: close\r\n\r\n"
)
try:
    with socket.create_connection(("127.0.0.1", port), timeout=4) as sock:
        sock.sendall(request)
        chunks = []
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                break
            chunks.append(chunk)
except OSError as exc:
    print(f"/status did not answer: {exc}")
    sys.exit(1)
answer = b"".join(chunks)
status_line = answer.split(b"\r\n", 1)[0].decode("latin-1")
parts = status_line.split()
status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
if status == 200:
    sys.exit(0)
body = answer.partition(b"\r\n\r\n")[2].replace(b" ", b"")
if status == 503 and b'"db":"down"' in body:
    print("the API answers; its database is down")
    sys.exit(0)
print(f"/status answered {status_line!r}")
sys.exit(1)
