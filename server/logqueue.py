"""Log records leave the request thread: a handler that only queues them, and one background
thread per process that formats them and writes each output once per batch.

Why: formatting JSON and writing the shared, file-locked log files (concurrent-log-handler takes
a file lock per write) was a fifth of a request's CPU, and every request thread queued behind
that lock. Here a request pays for one queue put; a burst of access lines costs one lock, one
write and one flush per output, and one pipe write on stdout (the warm parent relays it).

The writer lingers LINGER seconds after the first record of a batch before it writes: under
load a batch then holds tens of records, not one (a file lock, write and flush per record was
~20% of a request's CPU in the dev API at ~500 req/s per process). A flush() or close() ends
the linger at once; a person watching the console sees a line at most LINGER later.

Fork-safe: a process forked after records were queued starts with an empty queue of its own and
starts its own writer thread on its first record (warm-fork workers, gunicorn's workers).
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import weakref
from dataclasses import dataclass

MAX_BATCH = 512  # records written per lock and write
LINGER = 0.05  # s the writer waits after a batch's first record for more to join it
FLUSH_TIMEOUT = 5.0


class Raw(logging.Formatter):
    """The writer hands outputs text it already formatted."""

    def format(self, record: logging.LogRecord) -> str:
        return str(record.msg)


@dataclass
class Output:
    """Where records go: `handler` writes the text `formatter` made of records at `level`+."""

    handler: logging.Handler
    formatter: logging.Formatter
    level: int = logging.NOTSET

    def __post_init__(self) -> None:
        self.handler.setFormatter(Raw())

    def write(self, records: list[logging.LogRecord]) -> None:
        lines = []
        for record in records:
            if record.levelno >= self.level:
                try:
                    lines.append(self.formatter.format(record))
                except Exception:  # noqa: BLE001 - one bad record must not lose the batch
                    self.handler.handleError(record)
        for chunk in self._chunks(lines):
            batch = logging.makeLogRecord(
                {"msg": "\n".join(chunk), "levelno": records[-1].levelno, "args": None}
            )
            self.handler.handle(batch)

    def _chunks(self, lines: list[str]) -> list[list[str]]:
        """One write per batch, but a size-rotated file checks its size per write: batches are
        cut at an eighth of its maxBytes, so a file outgrows its limit by at most that."""
        limit = int(getattr(self.handler, "maxBytes", 0) or 0) // 8
        if not limit:
            return [lines] if lines else []
        chunks: list[list[str]] = []
        size = limit
        for line in lines:
            if size + len(line) > limit and (not chunks or chunks[-1]):
                chunks.append([])
                size = 0
            chunks[-1].append(line)
            size += len(line) + 1
        return chunks


class QueueWriter:
    """The queue, the writer thread and the outputs it writes to."""

    def __init__(self, outputs: list[Output]) -> None:
        self.outputs = outputs
        self.closed = False
        self._reset()
        _writers.add(self)

    def _reset(self) -> None:
        self.queue: queue.SimpleQueue[logging.LogRecord | threading.Event | None] = (
            queue.SimpleQueue()
        )
        self.thread: threading.Thread | None = None
        self.pid = os.getpid()
        self.start_lock = threading.Lock()
        self.urgent = threading.Event()  # a flush or close waits: stop lingering

    def put(self, record: logging.LogRecord) -> None:
        if self.closed:
            return
        if self.thread is None or self.pid != os.getpid():
            self._start()
        self.queue.put(record)

    def _start(self) -> None:
        with self.start_lock:
            if self.pid != os.getpid():
                self._reset()
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="log-writer", daemon=True)
                self.thread.start()

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            if isinstance(item, logging.LogRecord):
                self.urgent.wait(LINGER)  # let the records of the next moments join this batch
            self.urgent.clear()  # a mark or None put before clear() is in the queue already
            batch: list[logging.LogRecord] = []
            marks: list[threading.Event] = []
            stop = False
            while True:
                if item is None:
                    stop = True
                elif isinstance(item, threading.Event):
                    marks.append(item)
                else:
                    batch.append(item)
                if stop or len(batch) >= MAX_BATCH:
                    break
                try:
                    item = self.queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                for output in self.outputs:
                    output.write(batch)
            for mark in marks:
                mark.set()
            if stop:
                return

    def flush(self, timeout: float = FLUSH_TIMEOUT) -> bool:
        """Wait until what was queued before this call is written; False on timeout."""
        if self.thread is None or self.pid != os.getpid() or not self.thread.is_alive():
            return True
        mark = threading.Event()
        self.queue.put(mark)
        self.urgent.set()
        return mark.wait(timeout)

    def close(self, timeout: float = FLUSH_TIMEOUT) -> None:
        """Write what is queued, stop the thread (bounded), close the outputs."""
        if self.closed:
            return
        self.closed = True
        thread = self.thread
        if thread is not None and self.pid == os.getpid() and thread.is_alive():
            self.queue.put(None)
            self.urgent.set()
            thread.join(timeout)
        for output in self.outputs:
            output.handler.close()


class QueueSink(logging.Handler):
    """A logger's only handler: queues the record (no handler lock, no formatting here)."""

    def __init__(self, writer: QueueWriter) -> None:
        super().__init__()
        self.writer = writer

    def handle(self, record: logging.LogRecord) -> bool:
        if self.filters and not self.filter(record):
            return False
        self.writer.put(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        self.writer.put(record)


_writers: weakref.WeakSet[QueueWriter] = weakref.WeakSet()


@atexit.register
def _flush_all() -> None:
    """A process that exits normally writes what it logged last."""
    for writer in list(_writers):
        writer.flush(1.0)
