"""Backup retention: the newest backup of each of the last 7 days, 4 ISO weeks and 12 months.

`survivors` is a pure function over (name, timestamp) pairs and `now`, so the policy is tested
on fabricated dates. Files whose names are not devkit backups are never touched; a backup
dated in the future is kept (clock skew is not a reason to delete data).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from devkit.dbtools.backup import NAME_RE, PARTIAL_PREFIX, sidecar

DAILY, WEEKLY, MONTHLY = 7, 4, 12
STALE_PARTIAL_SECONDS = 6 * 3600


def _week_start(day: date) -> date:
    return day - timedelta(days=day.isoweekday() - 1)


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def survivors(
    backups: Iterable[tuple[str, datetime]],
    now: datetime,
    daily: int = DAILY,
    weekly: int = WEEKLY,
    monthly: int = MONTHLY,
) -> set[str]:
    """Names to keep: per bucket (day / ISO week / month) in the window, the newest backup."""
    items = sorted(backups, key=lambda item: item[1], reverse=True)
    today = now.date()
    days = {today - timedelta(days=n) for n in range(daily)}
    this_week = _week_start(today)
    weeks = {this_week - timedelta(weeks=n) for n in range(weekly)}
    months = set(range(_month_index(today) - monthly + 1, _month_index(today) + 1))
    keep: set[str] = set()
    seen: set[tuple[str, object]] = set()
    for name, stamp in items:
        if stamp > now:
            keep.add(name)
            continue
        day = stamp.date()
        buckets: list[tuple[str, object]] = []
        if day in days:
            buckets.append(("day", day))
        if _week_start(day) in weeks:
            buckets.append(("week", _week_start(day)))
        if _month_index(day) in months:
            buckets.append(("month", _month_index(day)))
        for bucket in buckets:
            if bucket not in seen:  # items run newest first: the first one is the newest
                seen.add(bucket)
                keep.add(name)
    return keep


def parse_name(name: str) -> datetime | None:
    match = NAME_RE.match(name)
    if not match:
        return None
    try:
        return datetime.strptime(match.group(1) + match.group(2), "%Y%m%d%H%M%S")
    except ValueError:
        return None


@dataclass(frozen=True)
class PrunePlan:
    keep: list[Path]
    delete: list[Path]  # backups (their .sha256 goes with them)
    stale_partials: list[Path]  # temp files of interrupted backups


def plan(folder: Path, now: datetime | None = None) -> PrunePlan:
    now = now or datetime.now()
    found: dict[str, datetime] = {}
    partials: list[Path] = []
    if folder.is_dir():
        for entry in folder.iterdir():
            stamp = parse_name(entry.name)
            if stamp is not None and entry.is_file():
                found[entry.name] = stamp
            elif (
                entry.name.startswith(PARTIAL_PREFIX)
                and time.time() - entry.stat().st_mtime > STALE_PARTIAL_SECONDS
            ):
                partials.append(entry)
    keep = survivors(found.items(), now)
    order = sorted(found, key=lambda n: found[n], reverse=True)
    return PrunePlan(
        keep=[folder / n for n in order if n in keep],
        delete=[folder / n for n in order if n not in keep],
        stale_partials=sorted(partials),
    )


def apply(prune_plan: PrunePlan) -> None:
    for path in prune_plan.delete:
        path.unlink(missing_ok=True)
        sidecar(path).unlink(missing_ok=True)
    for path in prune_plan.stale_partials:
        path.unlink(missing_ok=True)
