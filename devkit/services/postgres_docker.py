"""PostgreSQL in a Docker container made from the `postgres` service of the compose file.

The container is the one Compose would make (project `aios`, container `aios-postgres-1`,
volume `aios_pgdata`, the compose labels), so `docker compose up -d` and `devkit up` adopt each
other's container. An existing container with the same image, environment, port binding and
volume is re-used; one whose config differs is re-created (the volume and its data stay).
The port is published on 127.0.0.1 only. Health comes from the container's healthcheck; while
that is still "starting" (or when the image has none) `pg_isready` via exec answers sooner.
Every docker SDK call blocks, so they run in threads; logs stream from a daemon thread.

When the engine goes away (Docker Desktop restarting, a laptop waking) the run ends, and
`outage()` tells the supervisor to wait for the engine rather than count crashes: it pings the
engine (short timeout) and the container is started again, with its volume, once it answers.
An existing volume keeps the password it was created with: start() logs in once and says so
when .env no longer matches (the healthcheck's pg_isready never logs in).
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from devkit.core.service import Health, Service, ServiceContext, StopReason
from devkit.errors import DevkitError
from devkit.host import pgcluster
from devkit.host.docker import (
    COMPOSE_PROJECT,
    EnginePing,
    docker_error_text,
    docker_host,
    open_client,
)
from devkit.host.pgcluster import log_stream
from devkit.settings import compose_file
from devkit.settings.config import Settings

CONTAINER_PORT = 5432
LOCAL_IMAGE = "devkit-local/postgres:15"
PULL_POLICIES = ("missing", "never")
COMPOSE_VERSION_LABEL = "1.29.2"
PING_TIMEOUT = 1  # seconds: an engine that does not answer a ping this fast counts as gone
# a run that ended as the engine stops it (exit 0, lost track) or a start that failed: the
# engine may still answer for a moment while it shuts down (measured: ~1 s after the
# container exited); it counts as gone when it stops answering within this time
ENGINE_STOP_GRACE = 3.0


def compose_env(settings: Settings) -> dict[str, str]:
    """Variables for ${...} in the compose file: .env, then the shell for what .env lacks."""
    return {**os.environ, **{k: v for k, v in settings.env.items() if v is not None}}


class DockerPostgresService(Service):
    name = "postgres"
    backend = "postgres · docker"
    restart_policy = "always"
    health_interval_starting = 0.1
    health_interval_running = 2.0
    start_timeout = 300.0  # includes a first pull of the image

    def __init__(
        self,
        settings: Settings,
        *,
        project: str | None = None,
        pull: str | None = None,
        client: Any | None = None,
    ) -> None:
        # explicit argument, else DEVKIT_DOCKER_PULL (tests/CI: never), else pull when missing
        pull = (
            pull
            or os.environ.get("DEVKIT_DOCKER_PULL")
            or settings.env.get("DEVKIT_DOCKER_PULL")
            or "missing"
        )
        if pull not in PULL_POLICIES:
            raise ValueError(f"pull policy {pull!r}: use one of {PULL_POLICIES}")
        self.settings = settings
        env = compose_env(settings)
        self.spec = compose_file.load_service(settings.compose_file, settings.compose_service, env)
        self.project = (project or env.get("COMPOSE_PROJECT_NAME") or COMPOSE_PROJECT).lower()
        self.pull = pull
        self.container_name = f"{self.project}-{self.spec.name}-1"
        mapping = self.spec.published(CONTAINER_PORT)
        if mapping is None or mapping.host_port is None:
            raise DevkitError(
                f"{settings.compose_file}: service {self.spec.name!r} publishes no host port "
                f"for {CONTAINER_PORT}",
                'add ports: ["127.0.0.1:${POSTGRES_PORT:-5432}:5432"]',
            )
        self.host_port = mapping.host_port
        self.user = self.spec.environment.get("POSTGRES_USER", "postgres")
        self.dbname = self.spec.environment.get("POSTGRES_DB", self.user)
        self._client = client
        self._stream_client: Any = None
        self.container: Any | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ctx: ServiceContext | None = None
        self._exit: asyncio.Future[int] | None = None
        self._engine_ping: EnginePing | None = None
        self._engine_may_stop = False  # see ENGINE_STOP_GRACE

    # --- names ----------------------------------------------------------------------------------
    def volume_name(self, source: str) -> str:
        return f"{self.project}_{source}"

    def labels(self) -> dict[str, str]:
        path = self.settings.compose_file
        return {
            "com.docker.compose.project": self.project,
            "com.docker.compose.service": self.spec.name,
            "com.docker.compose.oneoff": "False",
            "com.docker.compose.container-number": "1",
            "com.docker.compose.project.config_files": str(path),
            "com.docker.compose.project.working_dir": str(path.parent),
            # compose v1 parses this (a container without it crashes `docker-compose up`)
            "com.docker.compose.version": COMPOSE_VERSION_LABEL,
        }

    @property
    def ports(self) -> tuple[int, ...]:
        return (self.host_port,)

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.host_port}/{self.dbname}"

    @property
    def container_id(self) -> str | None:
        return self.container.id if self.container is not None else None

    def run_state(self) -> dict[str, object]:
        return {
            **super().run_state(),
            "container_name": self.container_name,
            "image": self.spec.image,
            "docker_host": docker_host(self.settings.root),
        }

    @property
    def check_port_conflicts(self) -> bool:
        """`devkit up` checks ports first; our own running container (held by docker-proxy) is
        adopted, not a conflict."""
        try:
            found = self.find_container()
        except Exception:  # noqa: BLE001 - no engine: start() reports it
            return True
        return not (found is not None and found.status == "running")

    # --- the engine -----------------------------------------------------------------------------
    def client(self) -> Any:
        if self._client is None:
            self._client = _connect(self.settings, timeout=30)
        return self._client

    def _log(self, text: str, stream: str = "devkit") -> None:
        """Safe from the log and wait threads: ServiceContext.log is thread-safe."""
        if self._ctx is not None:
            self._ctx.log(text, stream)

    def ensure_image(self) -> None:
        import docker

        client = self.client()
        try:
            client.images.get(self.spec.image)
            return
        except docker.errors.ImageNotFound:
            pass
        fix = (
            f"build a local image: scripts/docker-engine build-image, then set "
            f"POSTGRES_IMAGE={LOCAL_IMAGE} in .env; or use the local PostgreSQL binaries: "
            "devkit up --db-backend native"
        )
        if self.pull == "never":
            raise DevkitError(
                f"the PostgreSQL image {self.spec.image} is not present locally and pulling is off",
                fix,
            )
        self._log(f"pulling image {self.spec.image} ...")
        try:
            self._pull()
        except Exception as exc:  # noqa: BLE001 - offline, unknown image, auth
            raise DevkitError(
                f"cannot pull the PostgreSQL image {self.spec.image}: {docker_error_text(exc)}", fix
            ) from None
        self._log(f"pulled image {self.spec.image}")

    def _pull(self) -> None:
        from docker.utils import parse_repository_tag

        repo, tag = parse_repository_tag(self.spec.image)
        last: dict[str, tuple[str, float]] = {}
        for event in self.client().api.pull(repo, tag or "latest", stream=True, decode=True):
            if "error" in event:
                raise RuntimeError(event["error"])
            layer, status = event.get("id", ""), event.get("status", "")
            seen = last.get(layer)
            now = time.monotonic()
            if seen and seen[0] == status and now - seen[1] < 1.0:
                continue  # progress lines: at most one per layer and second
            last[layer] = (status, now)
            progress = event.get("progress", "")
            self._log(" ".join(p for p in (f"{layer}:" if layer else "", status, progress) if p))

    def find_container(self) -> Any | None:
        found = self.client().containers.list(
            all=True,
            filters={
                "label": [
                    f"com.docker.compose.project={self.project}",
                    f"com.docker.compose.service={self.spec.name}",
                    "com.docker.compose.oneoff=False",
                ]
            },
        )
        return found[0] if found else None

    def differences(self, container: Any) -> list[str]:
        """Why an existing container does not match the compose definition ([] = re-use it)."""
        attrs = container.attrs
        config, host = attrs.get("Config") or {}, attrs.get("HostConfig") or {}
        out: list[str] = []
        if config.get("Image") != self.spec.image:
            out.append(f"image {config.get('Image')} -> {self.spec.image}")
        env = set(config.get("Env") or ())
        for key, value in self.spec.environment.items():
            if f"{key}={value}" not in env:
                out.append(f"environment {key}")
        bindings = (host.get("PortBindings") or {}).get(f"{CONTAINER_PORT}/tcp") or []
        wanted = [{"HostIp": "127.0.0.1", "HostPort": str(self.host_port)}]
        if [
            {"HostIp": b.get("HostIp", ""), "HostPort": b.get("HostPort", "")} for b in bindings
        ] != wanted:
            out.append(f"port binding -> 127.0.0.1:{self.host_port}")
        mounts = {
            (m.get("Name") or m.get("Source"), m.get("Destination"))
            for m in attrs.get("Mounts") or ()
        }
        for vol in self.spec.volumes:
            if (
                vol.named
                and vol.source
                and (self.volume_name(vol.source), vol.target) not in mounts
            ):
                out.append(f"volume {self.volume_name(vol.source)} at {vol.target}")
        return out

    def ensure_volumes(self) -> dict[str, dict[str, str]]:
        import docker

        binds: dict[str, dict[str, str]] = {}
        for vol in self.spec.volumes:
            if not vol.source:
                continue
            mode = "ro" if vol.read_only else "rw"
            if not vol.named:
                path = os.path.expanduser(vol.source)
                path = (
                    path
                    if os.path.isabs(path)
                    else str((self.settings.compose_file.parent / path).resolve())
                )
                binds[path] = {"bind": vol.target, "mode": mode}
                continue
            name = self.volume_name(vol.source)
            try:
                self.client().volumes.get(name)
            except docker.errors.NotFound:
                self.client().volumes.create(
                    name,
                    labels={
                        "com.docker.compose.project": self.project,
                        "com.docker.compose.volume": vol.source,
                        "com.docker.compose.version": COMPOSE_VERSION_LABEL,
                    },
                )
            binds[name] = {"bind": vol.target, "mode": mode}
        return binds

    def create_container(self) -> Any:
        import docker

        kwargs: dict[str, Any] = dict(
            name=self.container_name,
            labels=self.labels(),
            detach=True,
            environment=dict(self.spec.environment),
            ports={f"{CONTAINER_PORT}/tcp": ("127.0.0.1", self.host_port)},
            volumes=self.ensure_volumes(),
        )
        if self.spec.healthcheck is not None:
            kwargs["healthcheck"] = self.spec.healthcheck.docker_sdk()
        if self.spec.stop_signal:
            kwargs["stop_signal"] = self.spec.stop_signal
        if self.spec.command:
            kwargs["command"] = list(self.spec.command)
        try:
            return self.client().containers.create(self.spec.image, **kwargs)
        except docker.errors.APIError as exc:
            if exc.status_code == 409:
                raise DevkitError(
                    f"a container named {self.container_name} exists but is not the "
                    f"{self.project}/{self.spec.name} compose service",
                    f"remove it: docker rm -f {self.container_name}",
                ) from None
            raise

    def ensure_container(self) -> tuple[Any, str]:
        """The container to run and how it was obtained ("adopted", "re-used", "created")."""
        self.ensure_image()
        container = self.find_container()
        if container is not None:
            diff = self.differences(container)
            if not diff:
                how = "adopted running" if container.status == "running" else "re-used"
                return container, how
            self._log(
                f"container {container.name} differs from {self.settings.compose_file.name}"
                f" ({'; '.join(diff)}): re-creating it (the volume is kept)"
            )
            container.remove(force=True)
        return self.create_container(), "created"

    # --- Service --------------------------------------------------------------------------------
    async def start(self, ctx: ServiceContext) -> None:
        self._ctx, self._loop = ctx, asyncio.get_running_loop()
        try:
            await self._start()
        except DevkitError:
            raise
        except Exception:
            self._engine_may_stop = True  # e.g. "failed to update store" while it shuts down
            raise

    async def _start(self) -> None:
        container, how = await asyncio.to_thread(self.ensure_container)
        self.container = container
        since = None if how == "created" else int(time.time())
        if container.status != "running":
            await asyncio.to_thread(self._start_container, container)
        else:
            since = int(time.time()) - 5
        await asyncio.to_thread(container.reload)
        self._log(
            f"{how} container {container.name} ({container.short_id}, image "
            f"{self.spec.image}, 127.0.0.1:{self.host_port} -> {CONTAINER_PORT})"
        )
        self._exit = asyncio.get_running_loop().create_future()
        self._stream_client = self._stream_client or await asyncio.to_thread(
            _connect, self.settings, 30
        )
        _daemon(f"postgres-logs-{container.short_id}", self._stream_logs, container.id, since)
        _daemon(f"postgres-wait-{container.short_id}", self._wait_thread, container.id, self._exit)
        await asyncio.to_thread(self._refuse_other_credentials, container)

    def data_volume(self) -> str | None:
        """The named volume that holds the cluster (None: a bind mount or none)."""
        for vol in self.spec.volumes:
            if vol.named and vol.source:
                return self.volume_name(vol.source)
        return None

    def _refuse_other_credentials(self, container: Any) -> None:
        """Once the server accepts connections (pg_isready inside, which logs nothing), one
        login with the password in .env: an existing volume keeps the one it was created with,
        and a mismatch is said once instead of by every failed login of the API."""
        deadline = time.monotonic() + self.start_timeout / 2
        while not self._exec_probe(None).ok:
            container.reload()
            if container.status != "running" or time.monotonic() > deadline:
                return  # the exit handling or the health check reports these
            time.sleep(0.1)
        import psycopg

        try:
            conn = psycopg.connect(
                host="127.0.0.1",
                port=self.host_port,
                user=self.user,
                password=self.spec.environment.get("POSTGRES_PASSWORD", ""),
                dbname="postgres",
                connect_timeout=3,
            )
        except psycopg.OperationalError as exc:
            lines = str(exc).strip().splitlines()
            text = lines[-1] if lines else type(exc).__name__
            if not pgcluster.refuses_credentials(text):
                return
            volume = self.data_volume()
            raise pgcluster.other_credentials_error(
                text,
                f"the Docker volume {volume}" if volume else f"the data of {self.container_name}",
                f"remove it: docker rm -f {self.container_name} && docker volume rm {volume}"
                if volume
                else f"remove the data of {self.container_name}",
            ) from None
        conn.close()

    def _start_container(self, container: Any) -> None:
        import docker

        try:
            container.start()
        except docker.errors.APIError as exc:
            text = str(exc)
            if "already allocated" in text or "address already in use" in text:
                raise DevkitError(
                    f"port 127.0.0.1:{self.host_port} for PostgreSQL is taken: "
                    f"{docker_error_text(exc)}",
                    "stop what holds it, or set POSTGRES_PORT "
                    "(and DATABASE_URL) in .env to a free port",
                ) from None
            raise

    def _stream_logs(self, container_id: str, since: int | None) -> None:
        try:
            container = self._stream_client.containers.get(container_id)
            kwargs: dict[str, Any] = {"stream": True, "follow": True}
            if since is not None:
                kwargs["since"] = since
            pending = b""
            for chunk in container.logs(**kwargs):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for raw in lines:
                    text = raw.decode("utf-8", "replace").rstrip("\r")
                    self._log(text, log_stream(text))
            if pending:
                text = pending.decode("utf-8", "replace")
                self._log(text, log_stream(text))
        except Exception as exc:  # noqa: BLE001 - the engine went away; shown, not fatal
            self._log(f"log stream ended: {docker_error_text(exc)}")

    def _wait_thread(self, container_id: str, future: asyncio.Future[int]) -> None:
        try:
            result = self._stream_client.containers.get(container_id).wait()
            code = int(result.get("StatusCode", -1))
        except Exception as exc:  # noqa: BLE001
            self._log(f"lost track of the container: {docker_error_text(exc)}")
            code = -1
        if code in (0, -1):  # stopped from outside or the engine went away: see outage()
            self._engine_may_stop = True
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(_settle, future, code)
            except RuntimeError:
                pass

    async def health(self) -> Health:
        container = self.container
        if container is None:
            return Health(False, "no container")
        await asyncio.to_thread(container.reload)
        if container.status != "running":
            return Health(False, f"container {container.status}")
        state = container.attrs.get("State", {}).get("Health")
        status = state.get("Status") if state else None
        if status == "healthy":
            return Health(True, f"healthy (container healthcheck), 127.0.0.1:{self.host_port}")
        if status == "unhealthy":
            log = state.get("Log") or [{}]
            return Health(False, f"unhealthy: {(log[-1].get('Output') or '').strip()[-200:]}")
        return await asyncio.to_thread(self._exec_probe, status)

    def _exec_probe(self, status: str | None) -> Health:
        """pg_isready inside the container: the image has no healthcheck, or it is starting."""
        assert self.container is not None
        try:
            result = self.container.exec_run(
                [
                    "pg_isready",
                    "-q",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(CONTAINER_PORT),
                    "-U",
                    self.user,
                    "-d",
                    self.dbname,
                ]
            )
        except Exception as exc:  # noqa: BLE001
            return Health(False, f"pg_isready via exec failed: {docker_error_text(exc)}")
        what = "healthcheck starting" if status else "no healthcheck"
        if result.exit_code == 0:
            return Health(
                True, f"accepting connections (pg_isready; {what}), 127.0.0.1:{self.host_port}"
            )
        return Health(False, f"not accepting connections yet ({what})")

    async def wait_exit(self) -> int:
        assert self._exit is not None
        return await asyncio.shield(self._exit)

    async def outage(self) -> str | None:
        grace = ENGINE_STOP_GRACE if self._engine_may_stop else 0.0
        self._engine_may_stop = False
        if await asyncio.to_thread(self._ping().steady, grace):
            return None
        return f"waiting for the Docker engine at {docker_host(self.settings.root) or 'the default socket'}"

    def _ping(self) -> EnginePing:
        if self._engine_ping is None:
            self._engine_ping = EnginePing(docker_host(self.settings.root), PING_TIMEOUT)
        return self._engine_ping

    async def stop(self, timeout: float, reason: StopReason) -> None:
        container = self.container
        if container is None:
            return

        def stop() -> None:
            import docker

            try:
                container.reload()
                if container.status in ("running", "restarting", "paused"):
                    container.stop(timeout=max(1, int(round(timeout))))
            except docker.errors.NotFound:
                pass
            except Exception:
                if self._ping()():
                    raise
                # the engine is gone: it stopped the container (or keeps it, live-restore)

        await asyncio.to_thread(stop)
        if self._exit is not None and not self._exit.done():
            try:
                await asyncio.wait_for(asyncio.shield(self._exit), 5)
            except TimeoutError:
                pass

    async def close(self) -> None:
        if self._engine_ping is not None:
            self._engine_ping.close()
        for client in (self._client, self._stream_client):
            if client is not None:
                try:
                    client.close()
                except Exception:  # noqa: BLE001
                    pass


def _connect(settings: Settings, timeout: int = 30) -> Any:
    host = docker_host(settings.root)
    try:
        client = open_client(host, timeout)
    except ImportError:
        raise DevkitError(
            "the docker SDK for Python is not installed",
            "reinstall devkit (pip install -e .) or use --db-backend native",
        ) from None
    except Exception as exc:  # noqa: BLE001
        raise DevkitError(
            f"no Docker engine answers at {host or 'the default socket'}: {docker_error_text(exc)}",
            "start Docker, or use --db-backend native",
        ) from None
    try:
        client.ping()
        return client
    except Exception as exc:  # noqa: BLE001
        raise DevkitError(
            f"no Docker engine answers at {host or 'the default socket'}: {docker_error_text(exc)}",
            "start Docker, or use --db-backend native",
        ) from None


def _daemon(name: str, target: Callable[..., None], *args: Any) -> None:
    threading.Thread(target=target, args=args, name=name, daemon=True).start()


def _settle(future: asyncio.Future[int], code: int) -> None:
    if not future.done():
        future.set_result(code)
