"""Drive the load with httpx's AsyncClient when ApacheBench is not installed: `concurrency`
workers share one request counter, so at most that many requests are in flight.

Like the seed's ab command it opens a new connection per request unless keep_alive is set.
"""

from __future__ import annotations

import asyncio
import time

import httpx

from devkit.bench.load import LoadSpec, Progress, no_progress
from devkit.bench.stats import LoadResult, from_latencies


async def _load(spec: LoadSpec, progress: Progress) -> LoadResult:
    limits = httpx.Limits(
        max_connections=spec.concurrency,
        max_keepalive_connections=spec.concurrency if spec.keep_alive else 0,
    )
    latencies: list[float] = []
    failures: dict[str, int] = {}
    non_2xx = 0
    issued = 0
    done = 0
    async with httpx.AsyncClient(
        limits=limits, timeout=spec.timeout, headers=dict(spec.headers)
    ) as client:

        async def worker() -> None:
            nonlocal issued, done, non_2xx
            while issued < spec.requests:
                issued += 1
                start = time.perf_counter()
                try:
                    response = await client.get(spec.url)
                except httpx.HTTPError as exc:
                    kind = type(exc).__name__
                    failures[kind] = failures.get(kind, 0) + 1
                else:
                    latencies.append((time.perf_counter() - start) * 1000)
                    if not 200 <= response.status_code < 300:
                        non_2xx += 1
                done += 1
                if done % max(1, spec.requests // 100) == 0:
                    progress(done, spec.requests)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(max(1, spec.concurrency))))
        elapsed = time.perf_counter() - began
    progress(spec.requests, spec.requests)
    return from_latencies(
        "httpx",
        spec.requests,
        latencies,
        failed=sum(failures.values()),
        non_2xx=non_2xx,
        duration_s=elapsed,
        failed_detail=failures,
    )


def run_httpx(spec: LoadSpec, progress: Progress = no_progress) -> LoadResult:
    return asyncio.run(_load(spec, progress))
