"""One `devkit bench` run: check the target, get a token, drive the load, judge the marks."""

from __future__ import annotations

from dataclasses import dataclass

from devkit.bench import account, target
from devkit.bench.ab_driver import find_ab, run_ab
from devkit.bench.load import LoadSpec, Progress, no_progress
from devkit.bench.marks import Thresholds, judge
from devkit.bench.report import BenchReport
from devkit.bench.stats import LoadResult
from devkit.errors import DevkitError

DRIVERS = ("auto", "ab", "httpx")


@dataclass(frozen=True)
class BenchOptions:
    base_url: str
    path: str = "/api/notes"
    requests: int = 1000
    concurrency: int = 10
    driver: str = "auto"
    token: str | None = None
    user: str | None = None
    password: str | None = None
    seed_notes: int = 20
    allow_remote: bool = False
    keep_alive: bool = False
    timeout: float = 30.0
    thresholds: Thresholds = Thresholds()


def choose_driver(wanted: str) -> tuple[str, str]:
    """(driver, why): ab when installed (the seed's tool), httpx otherwise or when asked."""
    if wanted == "httpx":
        return "httpx", "httpx (--driver httpx)"
    ab = find_ab()
    if ab:
        why = "--driver ab" if wanted == "ab" else "installed"
        return "ab", f"ApacheBench {ab} ({why})"
    if wanted == "ab":
        from devkit.bench.ab_driver import INSTALL_HINT

        raise DevkitError("--driver ab: ApacheBench (ab) is not installed", INSTALL_HINT)
    return "httpx", "httpx (ApacheBench not installed: apt-get install apache2-utils)"


def validate(options: BenchOptions) -> None:
    if options.requests < 1 or options.concurrency < 1:
        raise DevkitError("-n and -c must be at least 1", "e.g. devkit bench -n 1000 -c 10")
    if options.concurrency > options.requests:
        raise DevkitError(
            f"-c {options.concurrency} is more than -n {options.requests}",
            "use a concurrency no larger than the number of requests",
        )
    if options.driver not in DRIVERS:
        raise DevkitError(f"unknown driver {options.driver!r}", "use ab, httpx or auto")


def run_load(driver: str, spec: LoadSpec, progress: Progress) -> LoadResult:
    if driver == "ab":
        return run_ab(spec, progress)
    from devkit.bench.httpx_driver import run_httpx

    return run_httpx(spec, progress)


def run_bench(options: BenchOptions, progress: Progress = no_progress) -> BenchReport:
    validate(options)
    base, extra_path = target.split_base(options.base_url)
    target.check_local(base, options.allow_remote)
    driver, why = choose_driver(options.driver)
    acct = account.prepare(
        base,
        token=options.token,
        user=options.user,
        password=options.password,
        notes=options.seed_notes,
    )
    path = options.path if options.path.startswith("/") else "/" + options.path
    spec = LoadSpec(
        url=base + (extra_path or path),
        requests=options.requests,
        concurrency=options.concurrency,
        headers={"Authorization": f"Bearer {acct.token}"},
        timeout=options.timeout,
        keep_alive=options.keep_alive,
    )
    if driver == "httpx":
        from devkit.bench.httpx_driver import default_processes

        count = default_processes(spec)
        why += f", {spec.concurrency} threads in {count} process{'es' if count > 1 else ''}"
    result = run_load(driver, spec, progress)
    return BenchReport(spec, result, judge(result, options.thresholds), acct.how, why)
