"""Container health check: GET /status on the API's own port.

Healthy: 200. Also healthy: 503 with {"db": "down"} - the API itself answers, and restarting it
would not bring the database back (it reconnects by itself); the orchestrator must not kill
every replica during a database outage. Anything else (no answer, 500, a timeout) is unhealthy.
"""

import json
import os
import sys
import urllib.error
import urllib.request

url = f"http://127.0.0.1:{os.environ.get('PORT') or 5000}/status"
request = urllib.request.Request(url, headers={"X-Health-Check": "1"})
try:
    with urllib.request.urlopen(request, timeout=2) as response:
        sys.exit(0 if response.status == 200 else 1)
except urllib.error.HTTPError as exc:
    try:
        body = json.loads(exc.read() or b"{}")
    except ValueError:
        body = {}
    if exc.code == 503 and body.get("db") == "down":
        print("the API answers; its database is down")
        sys.exit(0)
    print(f"/status answered {exc.code}")
    sys.exit(1)
except OSError as exc:
    print(f"/status did not answer: {exc}")
    sys.exit(1)
