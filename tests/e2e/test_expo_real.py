"""A real Expo app (create-expo-app's blank template, from the npm registry) under `devkit up`,
seen from a phone: a network namespace on a private /24 whose only way out is this computer's
address on that subnet, as a phone on Wi-Fi.

The app is created once per create-expo-app version and kept in a cache directory
($DEVKIT_EXPO_CACHE, else ~/.cache/devkit/expo-blank/VERSION/client); each run copies it into a
temp project (node_modules hard-linked) beside a copy of server/ and a throwaway PostgreSQL.
Skips with the reason where npm is missing or cannot reach its registry and nothing is cached.

The tests of this module share one running stack and run in file order: manifest and bundle,
QR, a JavaScript syntax error, Metro's wrapper killed, then `down` leaving nothing behind.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

from tests.support.devkit_proc import (
    Output,
    alive,
    kill_everything_recorded,
    process_tree,
    run_devkit,
    still_alive_after,
)
from tests.support.devkit_proc import devkit as devkit_proc
from tests.support.netns import Namespace, free_private_subnet, unavailable_reason
from tests.support.stack import StackProject, make_stack_project
from tests.support.wait import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.netns, pytest.mark.timeout(900)]

CREATE_TIMEOUT = 600.0  # a cold create-expo-app: ~35-50 s here, far more on a slow mirror
FIRST_BUNDLE_TIMEOUT = 240.0  # a cold iOS bundle: ~15-25 s here (740 modules)
MIN_NODE = 20  # Expo SDK 57 needs Node 20+

# Run inside the phone namespace: GET URL with headers, body to a file, print the status.
FETCH_TO_FILE = r"""
import json, sys, urllib.request, urllib.error
url, out, timeout, headers = sys.argv[1], sys.argv[2], float(sys.argv[3]), json.loads(sys.argv[4])
try:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout) as r:
        status, body = r.status, r.read()
except urllib.error.HTTPError as e:
    status, body = e.code, e.read()
except OSError as e:
    print("ERROR", type(e).__name__, e); sys.exit(0)
open(out, "wb").write(body)
print(status)
"""


def _npm(
    *args: str, timeout: float = 120, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["npm", *args], capture_output=True, text=True, timeout=timeout, cwd=cwd)


def _cache_root() -> Path:
    configured = os.environ.get("DEVKIT_EXPO_CACHE")
    if configured:
        return Path(configured)
    return Path.home() / ".cache" / "devkit" / "expo-blank"


def _complete(client: Path) -> bool:
    return (client / "node_modules" / "expo" / "package.json").is_file() and (
        client / "App.js"
    ).is_file()


def cached_expo_app() -> Path:
    """The blank app for the newest create-expo-app, created on first use (or skip, why)."""
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("node/npm are not installed (scripts/test installs Debian's nodejs npm)")
    major = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=30)
    match = re.match(r"v(\d+)", major.stdout.strip())
    if not match or int(match[1]) < MIN_NODE:
        pytest.skip(f"Expo needs Node {MIN_NODE}+, this is {major.stdout.strip() or 'unknown'}")
    root = _cache_root()
    try:
        looked_up = _npm("view", "create-expo-app@latest", "version", timeout=90)
    except subprocess.TimeoutExpired:
        looked_up = None
    version = looked_up.stdout.strip() if looked_up and looked_up.returncode == 0 else ""
    if not version:
        cached = sorted(p.parent for p in root.glob("*/client") if _complete(p))
        if cached:  # offline: any complete cached app will do
            return cached[-1] / "client"
        why = (
            (looked_up.stderr.strip().splitlines() or ["timed out"])[-1]
            if looked_up
            else "timed out"
        )
        pytest.skip(f"npm cannot reach its registry and no Expo app is cached in {root}: {why}")
    client = root / version / "client"
    if _complete(client):
        return client
    work = root / f".creating-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    made = subprocess.run(
        ["npx", "--yes", f"create-expo-app@{version}", "client", "--template", "blank", "--yes"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=CREATE_TIMEOUT,
        env={**os.environ, "CI": "1"},
    )
    if made.returncode != 0 or not _complete(work / "client"):
        shutil.rmtree(work, ignore_errors=True)
        raise AssertionError(f"create-expo-app failed:\n{(made.stdout + made.stderr)[-3000:]}")
    client.parent.mkdir(parents=True, exist_ok=True)
    try:
        (work / "client").rename(client)  # atomic: a parallel run may have won, that is fine
    except OSError:
        if not _complete(client):
            raise
    shutil.rmtree(work, ignore_errors=True)
    return client


def copy_client(cached: Path, dest: Path) -> None:
    """Sources copied (the test edits App.js), node_modules hard-linked (instant, no space)."""
    shutil.copytree(cached, dest, ignore=shutil.ignore_patterns("node_modules", ".expo"))
    subprocess.run(
        ["cp", "-al", str(cached / "node_modules"), str(dest / "node_modules")],
        check=True,
        timeout=300,
    )


@dataclass
class ExpoStack:
    project: StackProject
    out: Output
    phone: Namespace
    host_ip: str
    tmp: Path
    setup_seconds: float
    seen_pids: set[int] = field(default_factory=set)

    @property
    def metro(self) -> str:
        return f"http://{self.host_ip}:{self.project.metro_port}"

    @property
    def app_js(self) -> Path:
        return self.project.root / "client" / "App.js"

    def phone_get(
        self, url: str, headers: dict[str, str] | None = None, timeout: float = 30
    ) -> tuple[int, bytes]:
        out = self.tmp / f"body-{time.monotonic_ns()}"
        result = self.phone.python(
            FETCH_TO_FILE,
            url,
            str(out),
            str(timeout),
            json.dumps(headers or {}),
            timeout=timeout + 10,
        )
        text = result.stdout.strip()
        assert text.isdigit(), f"{url} from the phone: {text} {result.stderr[-500:]}"
        return int(text), out.read_bytes()

    def manifest(self) -> dict[str, object]:
        status, body = self.phone_get(
            self.metro + "/",
            {"expo-platform": "ios", "accept": "application/expo+json,application/json"},
        )
        assert status == 200, body[:500]
        return json.loads(body)

    def metro_status(self) -> dict[str, object]:
        result = run_devkit(self.project.root, "status", "--json")
        report = json.loads(result.stdout)
        return next(c for c in report["components"] if c["name"] == "metro")

    def remember_pids(self) -> None:
        self.seen_pids.update(process_tree(self.out.proc.pid))


def _host_uri(manifest: dict[str, object]) -> str:
    extra = manifest.get("extra") or {}
    client = extra.get("expoClient") or {} if isinstance(extra, dict) else {}
    host_uri = client.get("hostUri") if isinstance(client, dict) else None
    return str(host_uri or manifest.get("hostUri") or "")


@pytest.fixture(scope="module")
def expo_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExpoStack]:
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    began = time.monotonic()
    cached = cached_expo_app()
    tmp = tmp_path_factory.mktemp("metro-expo")
    project = make_stack_project(tmp / "aios")
    pyproject = project.root / "pyproject.toml"
    lines = pyproject.read_text().splitlines()  # the real `npx expo start`, not the stand-in
    pyproject.write_text(
        "\n".join(line for line in lines if not line.startswith("metro_command")) + "\n"
    )
    shutil.rmtree(project.root / "client")
    copy_client(cached, project.root / "client")
    network = free_private_subnet()
    hosts = list(network.hosts())
    host_ip, phone_ip = str(hosts[0]), str(hosts[49])
    phone = Namespace("expo", host_ip, phone_ip).create()
    out = Output(devkit_proc(project.root, "up", "--headless", "--host", host_ip))
    stack = ExpoStack(project, out, phone, host_ip, tmp, 0.0)
    try:
        out.wait("all components healthy", timeout=FIRST_BUNDLE_TIMEOUT)
        stack.setup_seconds = time.monotonic() - began
        stack.remember_pids()
        yield stack
    finally:
        if out.proc.poll() is None:
            out.proc.send_signal(signal.SIGTERM)
            try:
                out.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                out.proc.kill()
        kill_everything_recorded(project.root)
        for pid in alive(sorted(stack.seen_pids)):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        phone.delete()
        sys.stderr.write(f"\nexpo e2e: stack ready after {stack.setup_seconds:.1f}s\n")


def test_phone_loads_manifest_and_bundle_built_with_the_lan_api_url(expo_stack: ExpoStack) -> None:
    stack = expo_stack
    manifest = stack.manifest()
    assert _host_uri(manifest) == f"{stack.host_ip}:{stack.project.metro_port}", manifest
    launch = manifest.get("launchAsset") or {}
    assert isinstance(launch, dict)
    bundle_url = str(launch.get("url", ""))
    assert bundle_url.startswith(f"{stack.metro}/"), manifest
    status, body = stack.phone_get(bundle_url, timeout=FIRST_BUNDLE_TIMEOUT)
    assert status == 200, body[:800]
    api = f"http://{stack.host_ip}:{stack.project.api_port}"
    inlined = re.search(rb'"EXPO_PUBLIC_API_URL":\s*\{[^}]*value:\s*"([^"]*)"', body)
    assert inlined is not None, "EXPO_PUBLIC_API_URL is not inlined in the bundle"
    assert inlined[1].decode() == api
    # ...and that URL is the API, from the phone
    status, body = stack.phone_get(f"{api}/status")
    assert status == 200 and json.loads(body)["db"] == "ok"


@pytest.mark.skipif(shutil.which("zbarimg") is None, reason="zbarimg not installed (zbar-tools)")
def test_devkits_qr_code_is_the_manifests_host_uri(expo_stack: ExpoStack) -> None:
    stack = expo_stack
    png = stack.tmp / "expo-qr.png"
    made = run_devkit(stack.project.root, "qr", "--png", str(png))  # no --host: what up uses
    assert made.returncode == 0, made.stderr
    decoded = subprocess.run(
        ["zbarimg", "--raw", "-q", str(png)], capture_output=True, text=True, timeout=30
    ).stdout.strip()
    assert decoded == f"exp://{_host_uri(stack.manifest())}"


def test_a_syntax_error_in_app_js_is_shown_until_fixed(expo_stack: ExpoStack) -> None:
    stack = expo_stack
    good = stack.app_js.read_text()
    bundle = f"{stack.metro}/index.bundle?platform=ios&dev=true"

    def bundle_answers(code: int) -> bytes | None:
        """Metro sees the edit when its file watcher does: ask until it answers `code`."""
        status, body = stack.phone_get(bundle, timeout=FIRST_BUNDLE_TIMEOUT)
        return body if status == code else None

    stack.app_js.write_text(good.replace("<Text>Open up", "<Text>Open up {{ ", 1))
    try:
        body = wait_for(
            lambda: bundle_answers(500), timeout=60, interval=0.2, what="a 500 for the bundle"
        )
        assert b"TransformError" in body, body[:300]
        stack.out.wait("metro problem: iOS bundle failed: SyntaxError: App.js", timeout=30)
        assert "SyntaxError: App.js" in str(stack.metro_status().get("problem", ""))
        assert stack.metro_status()["state"] == "healthy"  # serving: the app's code is broken
    finally:
        stack.app_js.write_text(good)
    wait_for(lambda: bundle_answers(200), timeout=60, interval=0.2, what="a good bundle again")
    stack.out.wait("metro problem fixed", timeout=30)
    assert stack.metro_status().get("problem") == ""


def test_metro_is_restarted_after_its_wrapper_is_killed(expo_stack: ExpoStack) -> None:
    stack = expo_stack
    stack.remember_pids()
    wrapper = int(stack.metro_status()["pid"])
    old_tree = process_tree(wrapper)
    assert any("node" in psutil.Process(p).name() for p in old_tree[1:]), old_tree
    os.kill(wrapper, signal.SIGKILL)
    try:
        wait_for(
            lambda: (
                (s := stack.metro_status())["state"] == "healthy"
                and s["pid"] not in (None, wrapper)
            ),
            timeout=60,
            what="metro healthy again with a new pid",
        )
        assert still_alive_after(old_tree, timeout=10) == []
    finally:
        stack.remember_pids()


def test_nothing_is_left_after_down(expo_stack: ExpoStack) -> None:
    stack = expo_stack
    stack.remember_pids()
    # killing Metro's wrapper (previous test) left no orphaned node reparented to init
    orphans = []
    for pid in alive(sorted(stack.seen_pids)):
        try:
            proc = psutil.Process(pid)
            if proc.ppid() == 1 and "node" in proc.name():
                orphans.append(pid)
        except psutil.NoSuchProcess:
            pass
    assert orphans == []
    stack.out.proc.send_signal(signal.SIGTERM)
    assert stack.out.proc.wait(timeout=60) == 0, stack.out.tail()
    assert still_alive_after(sorted(stack.seen_pids), timeout=10) == []
    for port in (stack.project.metro_port, stack.project.api_port, stack.project.pg_port):
        assert not any(
            c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN
            for c in psutil.net_connections("tcp")
        ), f"port {port} still listened on"
