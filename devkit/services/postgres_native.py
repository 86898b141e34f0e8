"""PostgreSQL from the local binaries: a cluster in .devkit/postgres/, `postgres` as the child.

The cluster is created once (initdb, scram-sha-256, the password of DATABASE_URL) in a side
folder and renamed into place, so an interrupted initdb never leaves a half cluster; `up` starts
it right after its preflight (prepare_early), so it overlaps devkit's own start. The server
is started directly (no pg_ctl: it polls every 100 ms) listening on 127.0.0.1 only, without a
unix socket (deep project paths exceed the 107-byte socket path limit). Health is a real
connection; the database of DATABASE_URL is created once the server answers. Stop is SIGINT
(PostgreSQL's fast shutdown) to the postmaster, SIGKILL to its process group after the timeout.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import shutil
import signal
import subprocess
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from devkit.core.service import Health, Service, ServiceContext, StopReason
from devkit.errors import DevkitError
from devkit.host import pgcluster
from devkit.host.proc import ChildProcess, kill_group
from devkit.settings.config import Settings


@dataclass(frozen=True)
class DbParams:
    """Who and where, from DATABASE_URL (else POSTGRES_* of .env)."""

    user: str
    password: str
    port: int
    dbname: str

    def url(self, dbname: str | None = None) -> str:
        from urllib.parse import quote

        return (
            f"postgresql://{quote(self.user, safe='')}:{quote(self.password, safe='')}"
            f"@127.0.0.1:{self.port}/{quote(dbname or self.dbname, safe='')}"
        )


def db_params(settings: Settings) -> DbParams:
    user = settings.env_value("POSTGRES_USER", "aios")
    password = settings.env_value("POSTGRES_PASSWORD", "")
    port = settings.postgres_port
    dbname = settings.env_value("POSTGRES_DB", user)
    url = settings.database_url
    if url:
        try:
            parts = _conninfo(url)
        except Exception as exc:  # noqa: BLE001 - psycopg.ProgrammingError and friends
            raise DevkitError(
                f"DATABASE_URL in .env cannot be parsed: {exc}",
                "use postgresql://USER:PASSWORD@127.0.0.1:PORT/DBNAME",
            ) from None
        user = str(parts.get("user") or user)
        password = str(parts.get("password") or password)
        dbname = str(parts.get("dbname") or dbname)
        if parts.get("port"):
            try:
                port = int(str(parts["port"]))
            except ValueError:
                raise DevkitError(
                    f"DATABASE_URL has port {parts['port']!r}, not a number",
                    "fix the port in DATABASE_URL in .env",
                ) from None
    if not password:
        raise DevkitError(
            "no database password: DATABASE_URL and POSTGRES_PASSWORD are empty",
            "set POSTGRES_PASSWORD in .env (devkit generates one on first run)",
        )
    return DbParams(user, password, port, dbname)


def _conninfo(url: str) -> dict[str, object]:
    """The parts of DATABASE_URL; URLs without psycopg (its import costs ~0.13 s of startup)."""
    if not url.startswith(("postgresql://", "postgres://")):
        from psycopg.conninfo import conninfo_to_dict

        return dict(conninfo_to_dict(url))
    parsed = urlsplit(url)
    return {
        "user": unquote(parsed.username or ""),
        "password": unquote(parsed.password or ""),
        "dbname": unquote(parsed.path.lstrip("/")),
        "port": parsed.port,
    }


def _postmaster_pid(datadir: Path) -> int | None:
    try:
        first = (datadir / "postmaster.pid").read_text().splitlines()[0]
        return int(first.strip())
    except (OSError, IndexError, ValueError):
        return None


def _pidfile_status(datadir: Path, pid: int | None) -> str | None:
    """ "starting" / "ready" / "stopping" from postmaster.pid; None when it cannot be read."""
    try:
        lines = (datadir / "postmaster.pid").read_text().splitlines()
    except FileNotFoundError:
        return "starting"
    except OSError:
        return None
    if not lines or lines[0].strip() != str(pid):
        return "starting"  # not written yet, or still the file of an earlier server
    return lines[7].strip() if len(lines) > 7 and lines[7].strip() else "starting"


def _is_postmaster_of(pid: int, datadir: Path) -> bool:
    import psutil

    try:
        proc = psutil.Process(pid)
        cmd = proc.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False
    if not cmd or not os.path.basename(cmd[0]).startswith(("postgres", "postmaster")):
        return False
    return str(datadir) in cmd or os.path.realpath(datadir) in cmd


class NativePostgresService(Service):
    name = "postgres"
    backend = "postgres · native"
    restart_policy = "always"
    health_interval_starting = 0.005
    health_interval_running = 2.0
    start_timeout = 60.0

    def __init__(self, settings: Settings, bindir: Path | None = None) -> None:
        self.settings = settings
        self.params = db_params(settings)
        self.datadir = settings.state_dir / "postgres"
        self.bindir = bindir
        self.run_as = pgcluster.server_user()
        self.child: ChildProcess | None = None
        self._db_ready = False
        self._psycopg: asyncio.Future[Any] | None = None
        # kept between probes: a new connection each time costs a backend fork and a SCRAM
        # exchange (PBKDF2) every 2 s, most of devkit's idle CPU
        self._health_conn: Any = None
        self._ctx: ServiceContext | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._early: Future[bool] | None = None  # the cluster being created by prepare_early
        self._early_lines: list[str] = []  # what it logged before start() gave a context
        self._log_lock = threading.Lock()

    # --- what the supervisor and the UI read -------------------------------------------------
    @property
    def ports(self) -> tuple[int, ...]:
        return (self.params.port,)

    @property
    def url(self) -> str:
        return f"postgresql://{self.params.user}@127.0.0.1:{self.params.port}/{self.params.dbname}"

    @property
    def pid(self) -> int | None:
        return self.child.running_pid if self.child is not None else None

    def run_state(self) -> dict[str, object]:
        return {**super().run_state(), "datadir": str(self.datadir)}

    @property
    def check_port_conflicts(self) -> bool:
        """A server of this very cluster left by a killed devkit is replaced at start, so its
        port is not a conflict."""
        pid = _postmaster_pid(self.datadir)
        return not (pid is not None and _is_postmaster_of(pid, self.datadir))

    # --- cluster --------------------------------------------------------------------------------
    def _log(self, text: str) -> None:
        """A devkit line; safe from initdb's worker thread (ServiceContext.log is thread-safe).
        Kept until start() when prepare_early's thread logs before there is a context."""
        with self._log_lock:
            ctx = self._ctx
            if ctx is None:
                self._early_lines.append(text)
                return
        ctx.log(text, "devkit")

    def ensure_cluster(self) -> bool:
        """Create the cluster when missing; True when it was created now."""
        bindir = self.bindir = self.bindir or pgcluster.require_bindir()
        if (self.datadir / "PG_VERSION").is_file():
            if self.run_as.uid is not None and self.datadir.stat().st_uid != self.run_as.uid:
                self.run_as.chown(self.datadir)  # e.g. created by a non-root run before
            pgcluster.make_reachable(self.datadir.parent, self.run_as)
            return False
        if self.datadir.exists() and any(self.datadir.iterdir()):
            raise DevkitError(
                f"{self.datadir} exists but is not a PostgreSQL cluster",
                f"move it away or delete it (rm -rf {self.datadir}); devkit "
                "creates a fresh cluster there",
            )
        staging = self.datadir.with_name(self.datadir.name + ".initdb")
        shutil.rmtree(staging, ignore_errors=True)
        self.datadir.parent.mkdir(parents=True, exist_ok=True)
        self._log(f"creating the PostgreSQL cluster in {self.datadir} (initdb)")
        pgcluster.initdb(bindir, staging, self.params.user, self.params.password, self.run_as)
        self._create_database_offline(bindir, staging)
        if self.datadir.exists():
            self.datadir.rmdir()
        staging.rename(self.datadir)
        name = self.params.dbname
        if name not in ("postgres", "template0", "template1") and "\n" not in name:
            self._verified(record=True)  # created offline just now, with these credentials
        return True

    def _create_database_offline(self, bindir: Path, datadir: Path) -> None:
        """CREATE DATABASE in single-user mode without fsync, right after initdb.

        Much cheaper than doing it on the running server (fsync of the copied template and a
        slow first shutdown checkpoint); the health check still creates it when missing later.
        FILE_COPY (PostgreSQL 15+; the only way before) copies template1's files once, where
        15's default WAL_LOG writes each page twice (WAL and file): ~10% less of this step.
        """
        name = self.params.dbname
        if name in ("postgres", "template0", "template1") or "\n" in name:
            return
        quoted = '"' + name.replace('"', '""') + '"'
        try:
            major = int((datadir / "PG_VERSION").read_text().strip())
        except (OSError, ValueError):
            major = 0
        strategy = " STRATEGY = FILE_COPY" if major >= 15 else ""
        result = subprocess.run(
            [
                str(bindir / "postgres"),
                "--single",
                "-F",
                "-D",
                str(datadir),
                "-c",
                "unix_socket_directories=",
                "-c",
                "logging_collector=off",
                "postgres",
            ],
            input=f"CREATE DATABASE {quoted}{strategy}\n",
            capture_output=True,
            text=True,
            timeout=120,
            **self.run_as.popen_kwargs(),
        )
        if result.returncode != 0:
            raise DevkitError(
                f"creating database {name} failed: {result.stderr.strip()[-400:]}",
                f"check the database name in DATABASE_URL and {datadir.parent}",
            )
        self._log(f"created database {name}")

    def _clear_stale_pidfile(self, timeout: float) -> None:
        """A postmaster.pid left by a killed run: remove it, or stop the server still running."""
        pid = _postmaster_pid(self.datadir)
        if pid is None:
            return
        if not _is_postmaster_of(pid, self.datadir):
            # dead, or the pid now belongs to something else: PostgreSQL would refuse to start
            # when that other process runs as its user, so the stale file goes.
            (self.datadir / "postmaster.pid").unlink(missing_ok=True)
            return
        self._log(
            f"a PostgreSQL server from an earlier run (pid {pid}) still uses this "
            "cluster; stopping it"
        )
        try:
            os.kill(pid, signal.SIGINT)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while _is_postmaster_of(pid, self.datadir) and time.monotonic() < deadline:
            time.sleep(0.02)
        if _is_postmaster_of(pid, self.datadir):
            kill_group(pid)  # devkit started it as a process group leader
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def _prepare_datadir(self) -> bool:
        """One worker-thread hop: the cluster exists and no stale server holds it. True when
        the cluster was created now."""
        created = self.ensure_cluster()
        self._clear_stale_pidfile(self.settings.shutdown_timeout)
        return created

    # --- Service ---------------------------------------------------------------------------------
    def prepare_early(self) -> None:
        """No cluster yet: run initdb (~1 s) in a thread now, while devkit imports and starts
        its engine (a few hundred ms without bytecode); start() joins it. A thread, not
        daemonic: a devkit that stops before start() waits for initdb instead of leaving it
        writing into the staging folder."""
        if self._early is not None or (self.datadir / "PG_VERSION").is_file():
            return
        early: Future[bool] = Future()
        early.set_running_or_notify_cancel()  # a start() cancelled meanwhile cannot cancel it

        def run() -> None:
            try:
                created = self._prepare_datadir()
            except BaseException as exc:  # noqa: BLE001 - re-raised by start()
                early.set_exception(exc)
            else:
                early.set_result(created)

        self._early = early
        threading.Thread(target=run, name="devkit-initdb").start()

    async def start(self, ctx: ServiceContext) -> None:
        with self._log_lock:
            self._ctx, lines, self._early_lines = ctx, self._early_lines, []
        for text in lines:
            ctx.log(text, "devkit")
        self._loop = asyncio.get_running_loop()
        self._db_ready = False
        await self._close_health_conn()
        early, self._early = self._early, None
        if early is None and (self.datadir / "PG_VERSION").is_file() and not self._verified():
            self._load_psycopg()  # the login check below needs it: load it while postgres starts
        if early is not None:
            created = await asyncio.wrap_future(early)
        else:
            created = await asyncio.to_thread(self._prepare_datadir)
        assert self.bindir is not None
        argv = pgcluster.postgres_command(
            self.bindir, self.datadir, self.params.port, self.datadir
        ) + ["-c", "unix_socket_directories="]
        env = {k: v for k, v in (ctx.env or os.environ).items() if not k.startswith("PG")}
        env.setdefault("LC_ALL", "C")
        self.child = ChildProcess(
            argv,
            env=env,
            on_line=lambda text, _s: ctx.log(text, pgcluster.log_stream(text)),
            popen_kwargs=self.run_as.popen_kwargs(),
        )
        try:
            await self.child.start()
        except (FileNotFoundError, PermissionError) as exc:
            raise DevkitError(
                f"cannot run {argv[0]}: {exc.strerror}", pgcluster.INSTALL_HINT
            ) from None
        if not created and not self._verified():
            # an existing cluster, not yet known to take these credentials: one login now
            await self._refuse_other_credentials()

    async def _refuse_other_credentials(self) -> None:
        """An existing cluster keeps the user and password it was created with: when .env no
        longer matches, say so once (a DevkitError: the supervisor gives up at once) instead of
        retrying a login that cannot succeed until the start timeout."""
        child = self.child
        deadline = time.monotonic() + self.start_timeout / 2
        while _pidfile_status(self.datadir, child.pid if child else None) != "ready":
            if child is None or child.returncode is not None or time.monotonic() > deadline:
                return  # the health check and the exit handling report these
            await asyncio.sleep(0.005)
        await asyncio.gather(self._load_psycopg(), return_exceptions=True)
        import psycopg

        try:
            conn = await psycopg.AsyncConnection.connect(
                self.params.url("postgres"), connect_timeout=2, autocommit=True
            )
        except psycopg.OperationalError as exc:
            text = _short(exc)
            if pgcluster.refuses_credentials(text):
                raise pgcluster.other_credentials_error(
                    text, f"the cluster in {self.datadir}", f"delete {self.datadir}"
                ) from None
            return
        await conn.close()

    async def health(self) -> Health:
        if self.child is None or self.child.returncode is not None:
            return Health(False, "not running")
        status = _pidfile_status(self.datadir, self.child.pid)
        if status is not None and status != "ready":
            # what pg_ctl reads: no connection attempts (each one logs a FATAL while starting)
            return Health(False, f"PostgreSQL is {status}")
        ready = Health(True, f"accepting connections on 127.0.0.1:{self.params.port}")
        if status == "ready" and not self._db_ready and self._verified():
            # this database was created or checked with these credentials before: the server
            # saying "ready" is enough, and the API need not wait for psycopg's import
            # (~0.13 s, more than the server takes to start)
            self._db_ready = True
            return ready
        loading = self._load_psycopg()
        if status == "ready" and self._db_ready and not loading.done():
            return ready  # the next check (health_interval_running later) connects
        await asyncio.gather(loading, return_exceptions=True)
        import psycopg

        try:
            conn = self._health_conn
            if conn is None or conn.closed:
                conn = self._health_conn = await psycopg.AsyncConnection.connect(
                    self.params.url("postgres"), connect_timeout=2, autocommit=True
                )
        except psycopg.OperationalError as exc:
            text = _short(exc)
            if pgcluster.refuses_credentials(text):
                text += (
                    f" (the cluster in {self.datadir} was created with other credentials: "
                    "put those in .env, or delete that folder to start over - its data "
                    "is lost)"
                )
            return Health(False, text)
        try:
            if not self._db_ready:
                await self._create_database(conn)
                self._db_ready = True
                self._verified(record=True)
            else:
                await conn.execute("SELECT 1")
        except psycopg.Error as exc:
            await self._close_health_conn()
            return Health(False, f"database {self.params.dbname}: {_short(exc)}")
        return Health(True, f"accepting connections on 127.0.0.1:{self.params.port}")

    def _load_psycopg(self) -> asyncio.Future[Any]:
        """psycopg (~0.13 s to import with bytecode, ~0.6 s without) imported in a worker
        thread, once, when a check first needs it. Not at every start: an import in a thread
        still holds the GIL (compiling a module is one long call), so it slowed the loop that
        spawns the processes and polls their health by as much as it took."""
        if self._psycopg is None or self._psycopg.get_loop() is not asyncio.get_running_loop():
            self._psycopg = asyncio.ensure_future(
                asyncio.to_thread(importlib.import_module, "psycopg")
            )
        return self._psycopg

    def _verified(self, record: bool = False) -> bool:
        """Whether this database is known to exist for these credentials (a digest, never
        the password, in .devkit/postgres.verified); `record` notes it."""
        import hashlib

        p = self.params
        digest = hashlib.sha256(f"{p.user}\0{p.password}\0{p.dbname}".encode()).hexdigest()
        marker = self.datadir.parent / "postgres.verified"
        if record:
            try:
                marker.write_text(digest + "\n", encoding="utf-8")
                marker.chmod(0o600)
            except OSError:
                pass
            return True
        try:
            return marker.read_text(encoding="utf-8").strip() == digest
        except OSError:
            return False

    async def _close_health_conn(self) -> None:
        conn, self._health_conn = self._health_conn, None
        if conn is not None and not conn.closed:
            try:
                await conn.close()
            except Exception:  # noqa: BLE001 - the server may be gone already
                pass

    async def _create_database(self, conn: object) -> None:
        from psycopg import sql

        cur = await conn.execute(  # type: ignore[attr-defined]
            "SELECT 1 FROM pg_database WHERE datname = %s", (self.params.dbname,)
        )
        if await cur.fetchone() is None:
            await conn.execute(  # type: ignore[attr-defined]
                sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.params.dbname))
            )
            self._log(f"created database {self.params.dbname}")

    async def wait_exit(self) -> int:
        assert self.child is not None
        return await self.child.wait()

    async def stop(self, timeout: float, reason: StopReason) -> None:
        await self._close_health_conn()  # no "terminating connection" line at shutdown
        child = self.child
        if child is None or child.process is None:
            return
        if child.returncode is None:
            child.process.send_signal(signal.SIGINT)  # fast shutdown, to the postmaster only
            try:
                await asyncio.wait_for(child.wait(), timeout)
            except TimeoutError:
                self._log(f"PostgreSQL did not stop within {timeout:g}s; killing it")
        await child.stop(1.0, sig=signal.SIGKILL)


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__
