"""Drive the load with ApacheBench (the seed's own tool), reading it as it runs.

ab runs with -r (a reset connection is counted, not fatal), -l (API answers vary in length),
-e (percentiles to a CSV, 1 µs resolution) and -v 2 (response headers logged, so requests
that got no answer at all are counted: see abparse). Its stdout is read line by line on a
thread and only the summary is kept, so memory stays bounded however many requests run.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from devkit.bench import abparse
from devkit.bench.load import LoadSpec, Progress, no_progress
from devkit.bench.stats import LoadResult
from devkit.errors import DevkitError

INSTALL_HINT = (
    "install ApacheBench (Debian/Ubuntu: apt-get install apache2-utils; macOS ships it), "
    "or use --driver httpx"
)


def find_ab() -> str | None:
    return shutil.which("ab")


def ab_command(ab: str, spec: LoadSpec, csv_path: Path) -> list[str]:
    argv = [ab, "-n", str(spec.requests), "-c", str(spec.concurrency)]
    argv += ["-s", str(max(1, round(spec.timeout))), "-r", "-l", "-v", "2"]
    argv += ["-e", str(csv_path)]
    if spec.keep_alive:
        argv.append("-k")
    for name, value in spec.headers.items():
        argv += ["-H", f"{name}: {value}"]
    return argv + [spec.url]


class _StdoutReader(threading.Thread):
    """Counts logged response headers; keeps ab's closing summary."""

    def __init__(self, stream: object) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.responses = 0
        self.summary: list[str] = []

    def run(self) -> None:
        in_summary = False
        for line in self.stream:  # type: ignore[attr-defined]
            self.responses += line.count(abparse.HEADER_LOG)
            if line.startswith("Server Software:"):
                in_summary, self.summary = True, []
            if in_summary:
                self.summary.append(line)


def run_ab(spec: LoadSpec, progress: Progress = no_progress, ab: str | None = None) -> LoadResult:
    ab = ab or find_ab()
    if ab is None:
        raise DevkitError("ApacheBench (ab) is not installed", INSTALL_HINT)
    with tempfile.TemporaryDirectory(prefix="devkit-bench-") as tmp:
        csv_path = Path(tmp) / "percentiles.csv"
        proc = subprocess.Popen(
            ab_command(ab, spec, csv_path),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
        )
        reader = _StdoutReader(proc.stdout)
        reader.start()
        errors: list[str] = []
        assert proc.stderr is not None
        for line in proc.stderr:
            done = abparse.progress_of(line)
            if done is not None:
                progress(done, spec.requests)
            elif line.strip():
                errors.append(line.strip())
        code = proc.wait()
        reader.join(timeout=30)
        if code != 0:
            why = "; ".join(errors[-3:]) or f"exit status {code}"
            raise DevkitError(
                f"ApacheBench stopped before the end against {spec.shown_url}: {why}",
                "check that the server is still up (devkit status), or lower -c",
            )
        csv_text = csv_path.read_text() if csv_path.exists() else ""
    progress(spec.requests, spec.requests)
    return abparse.parse_ab(
        "".join(reader.summary), csv_text, reader.responses, requests=spec.requests
    )
