"""Local PostgreSQL binaries: find them, create a cluster, build the server command line.

Shared by the native backend, `devkit db` (pg_dump/psql) and the test fixture. PostgreSQL
refuses to run as root, so when devkit runs as root every server-side binary runs as an
unprivileged user (`postgres` when it exists, else `nobody`) and the cluster folder is
handed to that user.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devkit.errors import DevkitError

SEARCH_GLOBS = (
    "/usr/lib/postgresql/*/bin",  # Debian / Ubuntu
    "/usr/pgsql-*/bin",  # RHEL / Fedora (PGDG)
    "/opt/homebrew/opt/postgresql@*/bin",  # Homebrew, Apple silicon
    "/usr/local/opt/postgresql@*/bin",  # Homebrew, Intel
    "/opt/homebrew/bin",
    "/usr/local/bin",
    "/Applications/Postgres.app/Contents/Versions/*/bin",
)

INSTALL_HINT = (
    "install PostgreSQL (Debian/Ubuntu: apt-get install postgresql; macOS: brew install "
    "postgresql@16) or start Docker and use --db-backend docker"
)


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path)) or (0,)


def candidate_bindirs() -> list[Path]:
    """Folders that may hold PostgreSQL server binaries, newest version first, PATH's own first."""
    found: list[Path] = []
    initdb_on_path = shutil.which("initdb")
    if initdb_on_path:
        found.append(Path(os.path.realpath(initdb_on_path)).parent)
        found.append(Path(initdb_on_path).parent)
    for pattern in SEARCH_GLOBS:
        for folder in sorted(glob.glob(pattern), key=_version_key, reverse=True):
            found.append(Path(folder))
    unique: list[Path] = []
    for path in found:
        if path not in unique and (path / "postgres").exists() and (path / "initdb").exists():
            unique.append(path)
    return unique


def find_bindir() -> Path | None:
    candidates = candidate_bindirs()
    return candidates[0] if candidates else None


def require_bindir() -> Path:
    bindir = find_bindir()
    if bindir is None:
        raise DevkitError(
            "no PostgreSQL server binaries (initdb, postgres) were found", INSTALL_HINT
        )
    return bindir


def find_client_binary(name: str, major: int | None = None) -> Path | None:
    """psql / pg_dump / pg_restore, preferring the one whose major version is `major`."""
    folders = candidate_bindirs()
    if major is not None:
        folders.sort(key=lambda f: 0 if binary_major(f / "postgres") == major else 1)
    for folder in folders:
        if (folder / name).exists():
            return folder / name
    on_path = shutil.which(name)
    return Path(on_path) if on_path else None


def binary_major(binary: Path) -> int | None:
    try:
        out = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"(\d+)(?:\.\d+)?", out)
    return int(match.group(1)) if match else None


# --- running as an unprivileged user -------------------------------------------------------
@dataclass(frozen=True)
class RunAs:
    """The user PostgreSQL's binaries run as (None fields: run as ourselves)."""

    uid: int | None = None
    gid: int | None = None
    name: str = ""

    def popen_kwargs(self) -> dict[str, Any]:
        if self.uid is None:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def chown(self, path: Path) -> None:
        if self.uid is None:
            return
        for folder, _dirs, files in os.walk(path):
            os.chown(folder, self.uid, self.gid or -1)
            for item in files:
                os.chown(
                    os.path.join(folder, item), self.uid, self.gid or -1, follow_symlinks=False
                )


def server_user() -> RunAs:
    """Ourselves, unless we are root: then `postgres` (or `nobody`)."""
    if os.geteuid() != 0:
        return RunAs()
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return RunAs(uid=entry.pw_uid, gid=entry.pw_gid, name=name)
    raise DevkitError(
        "devkit runs as root and no unprivileged user exists for PostgreSQL",
        "create one: useradd --system postgres",
    )


def make_reachable(path: Path, run_as: RunAs) -> None:
    """Let `run_as` traverse to `path` (e.g. a cluster under /root/project/.devkit)."""
    if run_as.uid is None:
        return
    for folder in [path, *path.parents]:
        try:
            mode = folder.stat().st_mode
        except FileNotFoundError:
            continue
        if not mode & 0o001:
            os.chmod(folder, mode | 0o001)


# --- cluster lifecycle ------------------------------------------------------------------------
def initdb(
    bindir: Path, datadir: Path, user: str, password: str, run_as: RunAs | None = None
) -> None:
    """Create a cluster with scram-sha-256 auth for `user`/`password`, owned by `run_as`.

    --no-sync: initdb's own fsync of the ~40 MB it wrote costs 0.3-2 s (more on a busy disk),
    more than the rest of `up`. Safe enough for a dev cluster: it is created in a staging
    folder and renamed into place only once complete, so a devkit killed meanwhile leaves
    nothing half-made (the next `up` starts over); the page cache survives a killed process,
    and the kernel writes the files back within ~30 s, so only an OS crash or power loss in
    those seconds can damage a cluster that holds nothing yet (delete it, `up` makes a new
    one). Everything the server writes afterwards is fsynced (fsync=on)."""
    run_as = run_as or server_user()
    datadir.mkdir(parents=True, exist_ok=True)
    pwfile = datadir.parent / f".{datadir.name}.pw"
    pwfile.write_text(password + "\n", encoding="utf-8")
    os.chmod(pwfile, 0o600)
    try:
        run_as.chown(datadir)
        if run_as.uid is not None:
            os.chown(pwfile, run_as.uid, run_as.gid or -1)
        make_reachable(datadir.parent, run_as)
        result = subprocess.run(
            [
                str(bindir / "initdb"),
                "-D",
                str(datadir),
                "-U",
                user,
                f"--pwfile={pwfile}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            **run_as.popen_kwargs(),
        )
    finally:
        pwfile.unlink(missing_ok=True)
    if result.returncode != 0:
        raise DevkitError(
            f"initdb failed for {datadir}: {result.stderr.strip()[-400:]}",
            f"check permissions of {datadir.parent} and free disk space, then retry",
        )


def postgres_command(bindir: Path, datadir: Path, port: int, socket_dir: Path) -> list[str]:
    """The server command line: 127.0.0.1 only, a private socket folder, quiet fast settings."""
    return [
        str(bindir / "postgres"),
        "-D",
        str(datadir),
        "-p",
        str(port),
        "-k",
        str(socket_dir),
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        "fsync=off" if os.environ.get("DEVKIT_PG_FSYNC_OFF") else "fsync=on",
        "-c",
        "logging_collector=off",
    ]


def wait_ready(url: str, timeout: float = 15.0, process: subprocess.Popen | None = None) -> None:
    """Poll until PostgreSQL at `url` accepts a query (every 10 ms), or raise."""
    import psycopg

    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise DevkitError(
                f"postgres exited with code {process.returncode} while starting",
                "see its log output above",
            )
        try:
            with psycopg.connect(url, connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.OperationalError as exc:
            last = exc
            time.sleep(0.01)
    raise DevkitError(
        f"PostgreSQL did not become ready within {timeout:.0f}s: {last}",
        "see the postgres log lines for the cause",
    )


def log_stream(line: str) -> str:
    """PostgreSQL logs everything to stderr; only real problems are shown as errors."""
    return "stderr" if any(tag in line for tag in ("ERROR:", "FATAL:", "PANIC:")) else "stdout"


# --- credentials that an existing database no longer takes -----------------------------------
_AUTH_REFUSED = re.compile(r'password authentication failed|role ".*" does not exist')


def refuses_credentials(error_text: str) -> bool:
    """Whether a failed login says the user or password is wrong: permanent for an existing
    cluster (it keeps the credentials it was created with), unlike "starting up"."""
    return bool(_AUTH_REFUSED.search(error_text))


def other_credentials_error(reason: str, created: str, start_over: str) -> DevkitError:
    """The one message for "the data was created with other credentials" (native cluster or
    Docker volume): `created` names the data ("the cluster in DIR"), `start_over` how to
    remove it ("delete DIR")."""
    return DevkitError(
        f"PostgreSQL refuses the credentials in .env ({reason}): {created} was created with "
        "other credentials; retrying cannot help",
        "put the user and password it was created with in .env (POSTGRES_USER, "
        f"POSTGRES_PASSWORD, DATABASE_URL), or {start_over} to start over (its data is lost; "
        "devkit db backup first if you can log in another way)",
    )
