"""ApacheBench's report as devkit bench reads it, the stats and marks, the local-target rule,
and the pure parts of devkit verify (certificate judgement, headers). The texts below are
ab 2.3's real output (Debian apache2-utils), captured from runs against local servers."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from devkit.bench import abparse
from devkit.bench.load import LoadSpec
from devkit.bench.marks import Thresholds, judge
from devkit.bench.stats import from_latencies, percentile
from devkit.bench.target import is_local, split_base
from devkit.errors import DevkitError
from devkit.verify import http_checks, tls_checks
from devkit.verify.context import VerifyContext
from devkit.verify.tls import CertReading

AB_SUMMARY = """\
Server Software:        BaseHTTP/0.6
Server Hostname:        127.0.0.1
Server Port:            18081

Document Path:          /x
Document Length:        Variable

Concurrency Level:      5
Time taken for tests:   0.267 seconds
Complete requests:      200
Failed requests:        0
Non-2xx responses:      40
Total transferred:      25232 bytes
HTML transferred:       1512 bytes
Requests per second:    749.33 [#/sec] (mean)
Time per request:       6.673 [ms] (mean)
Time per request:       1.335 [ms] (mean, across all concurrent requests)
Transfer rate:          92.32 [Kbytes/sec] received

Connection Times (ms)
              min  mean[+/-sd] median   max
Connect:        0    0   0.0      0       0
Processing:     0    7   5.3      4      21
Waiting:        0    5   5.4      3      21
Total:          0    7   5.3      5      21

Percentage of the requests served within a certain time (ms)
  50%      5
  66%      8
  75%     11
  80%     12
  90%     15
  95%     17
  98%     20
  99%     21
 100%     21 (longest request)
"""

AB_FAILED = """\
Time taken for tests:   0.301 seconds
Complete requests:      200
Failed requests:        191
   (Connect: 0, Receive: 2, Length: 189, Exceptions: 0)
Requests per second:    664.45 [#/sec] (mean)
Time per request:       7.525 [ms] (mean)
"""

CSV = "Percentage served,Time in ms\n" + "\n".join(f"{p},{p / 10:.3f}" for p in range(101))


def test_summary_and_percentile_table() -> None:
    result = abparse.parse_ab(AB_SUMMARY, requests=200)
    assert (result.complete, result.failed, result.non_2xx) == (200, 0, 40)
    assert result.requests_per_second == pytest.approx(749.33)
    assert result.duration_s == pytest.approx(0.267)
    assert result.mean_ms == pytest.approx(6.673)
    assert (result.p50_ms, result.p95_ms, result.p99_ms, result.max_ms) == (5, 17, 21, 21)
    assert result.errors == 40


def test_the_csv_wins_over_the_whole_ms_table() -> None:
    result = abparse.parse_ab(AB_SUMMARY, CSV)
    assert (result.p50_ms, result.p95_ms, result.p99_ms, result.max_ms) == (5.0, 9.5, 9.9, 10.0)


def test_failed_breakdown_and_requests_without_any_response() -> None:
    result = abparse.parse_ab(AB_FAILED)
    assert result.failed == 191
    assert result.failed_detail == {"connect": 0, "receive": 2, "length": 189, "exceptions": 0}
    assert result.non_2xx == 0  # no Non-2xx line: none
    # with -l, 40 connections closed without an answer count as "complete": the header count
    # (-v 2) finds them
    quiet = abparse.parse_ab(AB_SUMMARY, responses_seen=160)
    assert quiet.failed == 40 and quiet.failed_detail["no_response"] == 40


def test_header_count_and_progress_lines() -> None:
    log = "LOG: header received:\nHTTP/1.0 200 OK\n\n{}LOG: header received:\nHTTP/1.0 500\n"
    assert abparse.count_responses(log) == 2
    assert abparse.progress_of("Completed 300 requests\n") == 300
    assert abparse.progress_of("Finished 1000 requests") == 1000
    assert abparse.progress_of("apr_socket_recv: Connection reset by peer (104)") is None


def test_output_without_a_summary_is_an_error_not_a_crash() -> None:
    with pytest.raises(DevkitError, match="no summary"):
        abparse.parse_ab("apr_socket_connect(): Connection refused (111)\n")


def test_percentile_is_nearest_rank() -> None:
    values = list(range(1, 101))
    assert percentile(values, 50) == 50
    assert percentile(values, 95) == 95
    assert percentile(values, 100) == 100
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) == 0.0


def test_marks_count_non_2xx_as_failed() -> None:
    ok = from_latencies("httpx", 100, [10.0] * 100, failed=0, non_2xx=0, duration_s=0.5)
    assert ok.requests_per_second == 200
    assert all(m.passed for m in judge(ok, Thresholds()))
    errors = from_latencies("httpx", 100, [10.0] * 100, failed=0, non_2xx=3, duration_s=0.5)
    marks = {m.name: m.passed for m in judge(errors, Thresholds())}
    assert marks == {
        "requests/s": True,
        "failed requests (incl. non-2xx)": False,
        "95th percentile": True,
    }
    slow = from_latencies("httpx", 100, [600.0] * 100, failed=0, non_2xx=0, duration_s=2.0)
    assert [m.passed for m in judge(slow, Thresholds())] == [False, True, False]
    assert [m.passed for m in judge(slow, Thresholds(min_rps=10, max_p95_ms=700))] == [True] * 3


def test_the_token_is_never_shown() -> None:
    spec = LoadSpec("http://127.0.0.1:5000/api/notes", headers={"Authorization": "Bearer s3cr3t"})
    assert "s3cr3t" not in spec.describe_headers()
    assert spec.describe_headers() == "Authorization: Bearer ****"


def test_local_targets() -> None:
    assert is_local("127.0.0.1", set())[0]
    assert is_local("::1", set())[0]
    assert is_local("localhost", set())[0]
    assert is_local("192.0.2.7", {"192.0.2.7"})[0]  # one of this machine's addresses
    assert not is_local("192.0.2.7", {"192.0.2.8"})[0]  # TEST-NET: resolving sends nothing


def test_split_base() -> None:
    assert split_base("http://127.0.0.1:5000") == ("http://127.0.0.1:5000", "")
    assert split_base("http://h:1/api/notes/") == ("http://h:1", "/api/notes")
    with pytest.raises(DevkitError):
        split_base("ftp://h/x")


# --- verify: pure parts --------------------------------------------------------------------

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _cert(days: float, error: str | None = None) -> CertReading:
    return CertReading(
        "CN=localhost",
        ("localhost",),
        NOW - timedelta(days=10),
        NOW + timedelta(days=days),
        "CN=ca",
        error,
    )


@pytest.mark.parametrize(
    ("days", "error", "insecure", "status", "words"),
    [
        (90, None, False, "pass", "90 days"),
        (20, None, False, "warn", "under 30 days"),
        (3, None, False, "fail", "under 7 days"),
        (3, None, True, "warn", "--insecure"),
        (-5, "certificate has expired", False, "fail", "certificate has expired"),
        (90, "self-signed certificate", False, "fail", "not trusted"),
        (90, "self-signed certificate", True, "warn", "--insecure"),
    ],
)
def test_certificate_judgement(
    days: float, error: str | None, insecure: bool, status: str, words: str
) -> None:
    ctx = VerifyContext("https://localhost", insecure=insecure, now=NOW)
    result = tls_checks._judge(ctx, _cert(days, error))
    assert result.status == status
    assert words in result.detail
    assert ctx.cert_trusted is (error is None)
    if status != "pass":
        assert result.fix


def test_security_headers() -> None:
    good = httpx.Response(
        200,
        headers={
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer",
            "Server": "nginx",
        },
    )
    assert http_checks.check_security_headers(good).status == "pass"
    bare = httpx.Response(200, headers={"Server": "nginx/1.22.1"})
    result = http_checks.check_security_headers(bare)
    assert result.status == "warn"
    assert "X-Content-Type-Options" in result.detail and "nginx/1.22.1" in result.detail
    assert "server_tokens off;" in result.fix


def test_hsts_max_age() -> None:
    ctx = VerifyContext("https://localhost", now=NOW)
    short = httpx.Response(200, headers={"Strict-Transport-Security": "max-age=300"})
    long = httpx.Response(200, headers={"Strict-Transport-Security": "max-age=31536000"})
    assert tls_checks.check_hsts(ctx, short).status == "warn"
    assert tls_checks.check_hsts(ctx, long).status == "pass"
    assert tls_checks.check_hsts(ctx, httpx.Response(200)).status == "fail"


def test_version_header_is_the_servers() -> None:
    from server.version_gate import HEADER

    assert http_checks.APP_VERSION_HEADER == HEADER


def test_the_cli_loads_neither_httpx_nor_the_packages_to_list_the_commands() -> None:
    code = (
        "import sys\nfrom devkit import cli\ncli.build_parser('bench')\ncli.build_parser('verify')\n"
        "print('\\n'.join(sorted(sys.modules)))"
    )
    loaded = set(
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
        ).stdout.split()
    )
    assert {"devkit.commands.bench", "devkit.commands.verify"} <= loaded
    assert not {"httpx", "cryptography", "devkit.bench.run", "devkit.verify.run"} & loaded


def test_the_httpx_load_splits_exactly() -> None:
    from devkit.bench.httpx_driver import default_processes, split

    spec = LoadSpec("http://127.0.0.1:1/x", requests=1001, concurrency=10)
    parts = split(spec, 3)
    assert [p.requests for p in parts] == [334, 334, 333]
    assert [p.concurrency for p in parts] == [4, 3, 3]
    assert 1 <= default_processes(spec) <= 4
    assert default_processes(LoadSpec("http://127.0.0.1:1/x", requests=50, concurrency=10)) == 1
    assert default_processes(LoadSpec("http://127.0.0.1:1/x", requests=5000, concurrency=1)) == 1
