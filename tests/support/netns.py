"""Linux network namespaces as test devices (an emulator, a phone on Wi-Fi), and a stand-in
status server for the API and Metro.

Every namespace is `dk-h2-ROLE-PID-N` with a veth pair `dkROLEPIDN{h,n}` (host side / namespace
side, at most 15 characters); `Namespace.delete` removes both and is idempotent, so tests call
it from finalizers. Traffic only flows between the host and these namespaces.
"""

from __future__ import annotations

import ipaddress
import itertools
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence

from tests.support.wait import wait_for

_counter = itertools.count()

# A tiny HTTP server answering /status like the API (JSON) or like Metro (plain text).
STATUS_SERVER = r"""
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
host, port, kind = sys.argv[1], int(sys.argv[2]), sys.argv[3]
class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/status":
            self.send_response(404); self.end_headers(); return
        if kind == "metro":
            body, ctype = b"packager-status:running", "text/plain"
        else:
            body = json.dumps({"status": "ok", "server": "stand-in"}).encode()
            ctype = "application/json"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
ThreadingHTTPServer.allow_reuse_address = True
server = ThreadingHTTPServer((host, port), Handler)
print("READY", flush=True)
server.serve_forever()
"""


class StatusServer:
    """`python -c STATUS_SERVER HOST PORT KIND` as a child process; stop() ends it."""

    def __init__(self, host: str, port: int, kind: str = "api") -> None:
        self.host, self.port, self.kind = host, port, kind
        self.process = subprocess.Popen(
            [sys.executable, "-c", STATUS_SERVER, host, str(port), kind],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self.process.stdout.readline() if self.process.stdout else ""
        if line.strip() != "READY":
            err = self.process.stderr.read() if self.process.stderr else ""
            self.stop()
            raise RuntimeError(f"stand-in {kind} server did not start: {err[-500:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdout, self.process.stderr):
            if stream:
                stream.close()


def unavailable_reason() -> str | None:
    """Why namespace tests cannot run here, or None when they can."""
    if not sys.platform.startswith("linux"):
        return "network namespaces need Linux"
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "the ip command (iproute2) is missing"
    probe = f"dk-h2-probe-{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"ip netns add is not permitted here: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def run(
    argv: Sequence[str], check: bool = True, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {result.stderr.strip()}")
    return result


def host_routes() -> list[ipaddress.IPv4Network]:
    out = run(["ip", "-4", "route", "show", "table", "all"]).stdout
    nets = []
    for line in out.splitlines():
        first = line.split()[0] if line.split() else ""
        try:
            nets.append(ipaddress.IPv4Network(first, strict=False))
        except ValueError:
            continue
    return nets


def subnet_in_use(network: ipaddress.IPv4Network) -> bool:
    return any(network.overlaps(route) for route in host_routes() if route.prefixlen > 0)


def free_private_subnet(third_octets: range = range(77, 100)) -> ipaddress.IPv4Network:
    """A 192.168.X.0/24 no route on this host uses yet (tests may run side by side)."""
    for octet in third_octets:
        network = ipaddress.IPv4Network(f"192.168.{octet}.0/24")
        if not subnet_in_use(network):
            return network
    raise RuntimeError("no free 192.168.X.0/24 subnet for a test namespace")


class Namespace:
    """A namespace joined to the host by a veth pair: host_ip on our side, ns_ip inside."""

    def __init__(self, role: str, host_ip: str, ns_ip: str, prefix: int = 24) -> None:
        n = next(_counter)
        pid = os.getpid() % 100000
        self.name = f"dk-h2-{role}-{pid}-{n}"
        short = f"dk{role[:2]}{pid}{n}"[:14]
        self.host_if, self.ns_if = f"{short}h", f"{short}n"
        self.host_ip, self.ns_ip, self.prefix = host_ip, ns_ip, prefix
        self.created = False

    def create(self) -> Namespace:
        self.created = True
        try:
            run(["ip", "netns", "add", self.name])
            run(["ip", "link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if])
            run(["ip", "link", "set", self.ns_if, "netns", self.name])
            run(["ip", "addr", "add", f"{self.host_ip}/{self.prefix}", "dev", self.host_if])
            run(["ip", "link", "set", self.host_if, "up"])
            run(
                [
                    "ip",
                    "-n",
                    self.name,
                    "addr",
                    "add",
                    f"{self.ns_ip}/{self.prefix}",
                    "dev",
                    self.ns_if,
                ]
            )
            run(["ip", "-n", self.name, "link", "set", self.ns_if, "up"])
            run(["ip", "-n", self.name, "link", "set", "lo", "up"])
            # no default route inside: the namespace reaches only its own subnet (the host side)
            wait_for(self._link_up, timeout=10, what=f"{self.host_if} up")
        except Exception:
            self.delete()
            raise
        return self

    def _link_up(self) -> bool:
        out = run(["ip", "-br", "link", "show", self.host_if], check=False).stdout
        return " UP " in f" {out} " or "LOWER_UP" in out

    def exec(self, argv: Sequence[str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return run(["ip", "netns", "exec", self.name, *argv], check=False, timeout=timeout)

    def python(
        self, code: str, *args: str, timeout: float = 30
    ) -> subprocess.CompletedProcess[str]:
        return self.exec([sys.executable, "-c", code, *args], timeout=timeout)

    def delete(self) -> None:
        if not self.created:
            return
        run(["ip", "link", "del", self.host_if], check=False)  # removes the peer too
        run(["ip", "netns", "del", self.name], check=False)
        self.created = False


# Code run inside a namespace: fetch a URL, print "STATUS BODY" or "ERROR kind detail".
FETCH = r"""
import sys, urllib.request, urllib.error, socket
try:
    with urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2])) as r:
        print(r.status, r.read().decode())
except urllib.error.URLError as e:
    print("ERROR", type(e.reason).__name__, e.reason)
except (OSError, socket.timeout) as e:
    print("ERROR", type(e).__name__, e)
"""

# Code run inside a namespace: TCP connect, print "OPEN" or "CLOSED kind".
CONNECT = r"""
import socket, sys
s = socket.socket()
s.settimeout(float(sys.argv[3]))
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
    print("OPEN")
except ConnectionRefusedError:
    print("CLOSED refused")
except (TimeoutError, socket.timeout):
    print("CLOSED timeout")
except OSError as e:
    print("CLOSED", e.errno, e)
finally:
    s.close()
"""
