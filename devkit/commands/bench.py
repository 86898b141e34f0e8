"""`devkit bench [URL]`: the seed's load test against the dev API (or URL), with its pass marks.

Exit 0 when every mark is met, 1 when one is missed (or the run could not happen).
"""

from __future__ import annotations

import argparse
import os

from devkit.commands import COMMANDS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench",
        help=COMMANDS["bench"],
        description="Load-test the API like the seed's `ab -n 1000 -c 10 -H 'Authorization: "
        "Bearer TOKEN' .../api/notes` and judge its pass marks: more than 100 requests/s, "
        "0 failed requests (non-2xx answers count as failed), 95th percentile under 500 ms. "
        "Registers a throwaway user with a few notes unless --token or --user is given.",
    )
    parser.add_argument(
        "url", nargs="?", help="API base URL (default: the running dev API, else PORT in .env)"
    )
    parser.add_argument("-n", dest="requests", type=int, default=1000, help="requests (1000)")
    parser.add_argument("-c", dest="concurrency", type=int, default=10, help="at a time (10)")
    parser.add_argument("--path", default="/api/notes", help="endpoint (/api/notes)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--driver",
        choices=("auto", "ab", "httpx"),
        default="auto",
        help="ApacheBench when installed (auto), or the built-in httpx client",
    )
    who = parser.add_argument_group("account")
    who.add_argument("--token", help="bearer token to use (no user is registered)")
    who.add_argument("--user", help="log in as this user instead of registering one")
    who.add_argument("--password", help="password of --user (or DEVKIT_BENCH_PASSWORD)")
    who.add_argument(
        "--notes", type=int, default=20, help="notes seeded into the throwaway user (20)"
    )
    marks = parser.add_argument_group("pass marks")
    marks.add_argument("--min-rps", type=float, default=100.0, help="requests/s above (100)")
    marks.add_argument("--max-failed", type=int, default=0, help="failed + non-2xx at most (0)")
    marks.add_argument("--max-p95", type=float, default=500.0, help="p95 ms below (500)")
    parser.add_argument(
        "--allow-remote", action="store_true", help="allow a target that is not this machine"
    )
    parser.add_argument("--keep-alive", action="store_true", help="reuse connections (ab -k)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request (30)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from devkit.bench import report
    from devkit.bench.marks import Thresholds
    from devkit.bench.progress import ProgressBar
    from devkit.bench.run import BenchOptions, run_bench
    from devkit.bench.target import default_base_url

    if args.url:
        base = args.url
    else:
        from devkit.commands.common import settings_from

        base = default_base_url(settings_from(args))
    options = BenchOptions(
        base_url=base,
        path=args.path,
        requests=args.requests,
        concurrency=args.concurrency,
        driver=args.driver,
        token=args.token,
        user=args.user,
        password=args.password or os.environ.get("DEVKIT_BENCH_PASSWORD"),
        seed_notes=max(0, args.notes),
        allow_remote=args.allow_remote,
        keep_alive=args.keep_alive,
        timeout=args.timeout,
        thresholds=Thresholds(args.min_rps, args.max_failed, args.max_p95),
    )
    bar = ProgressBar("load")
    try:
        result = run_bench(options, bar)
    finally:
        bar.close()
    print(report.as_json(result) if args.json else report.as_text(result))
    return 0 if result.passed else 1
