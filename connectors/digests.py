"""sha256 of report files: each file hashed once per run, and begun while the CLI imports."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import stat
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path

_CHUNK = 4 << 20  # 4 MiB reads: hashlib drops the GIL for each, so a hashing thread holds it
# rarely (beside the CLI's imports, bench/: 1 MiB made both wait, 0.05 s more than 4 MiB)
_REMEMBERED = 256  # digests kept; a long-lived worker sees new files, not these again
# Reports whose content is hashed early (a ZIP's is hashed per member, as it is unpacked).
_EARLY_SUFFIXES = (".csv", ".tsv", ".txt")
_EARLY_MIN_BYTES = 4 << 20  # below this a thread saves less than it costs
# File times tick coarsely (a few ms on Linux), so a file changed again within the tick of its
# last change keeps its identity: like git's "racily clean" index entries, a file changed
# less than this long before it is hashed is hashed every time, never remembered.
_SETTLED_NS = 2_000_000_000

Identity = tuple[int, int, int, int, int]

_lock = threading.Lock()
_digests: OrderedDict[Identity, Future[str]] = OrderedDict()
_early: list[threading.Thread] = []


def identity(path: Path) -> Identity | None:
    """What says a regular file is still the one hashed, or None for anything else.

    The change time is in it because a write or a rename moves it and, unlike the
    modification time, no tool can set it back: a rewritten file is never taken for the
    one hashed, even at the same size and modification time.
    """
    try:
        info = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def hash_file(path: Path) -> str:
    """The sha256 of a file's bytes, read in _CHUNK pieces (never remembered)."""
    digest = hashlib.sha256()
    with open(path, "rb") as binary:
        while chunk := binary.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_of(path: Path) -> str:
    """The sha256 of a file's bytes, hashed at most once while the file stays the same
    (a file changed in the last two seconds is hashed each time)."""
    key = identity(path)
    if key is None:
        return hash_file(path)  # not a regular file: let open() say why
    if time.time_ns() - key[4] < _SETTLED_NS:
        return hash_file(path)
    with _lock:
        future = _digests.get(key)
        mine = future is None
        if future is None:
            future = _digests[key] = Future()
            while len(_digests) > _REMEMBERED:
                _digests.popitem(last=False)
    if mine:
        _compute(path, key, future)
    return future.result()


def known_sha256(path: Path) -> str | None:
    """The file's sha256 if it was hashed (or is being hashed) as it is now, else None."""
    key = identity(path)
    with _lock:
        future = _digests.get(key) if key is not None else None
    if future is None:
        return None
    try:
        return future.result()
    except OSError:
        return None


def _compute(path: Path, key: Identity, future: Future[str]) -> None:
    try:
        hexdigest = hash_file(path)
    except BaseException as exc:
        with _lock:
            _digests.pop(key, None)
        future.set_exception(exc)
        return
    if identity(path) != key:
        with _lock:  # written to while it was read: these bytes may be neither version
            _digests.pop(key, None)
    future.set_result(hexdigest)


def begin_early(argv: Sequence[str]) -> list[threading.Thread]:
    """For `passive ingest FILE...`, start hashing the report files in threads at once.

    The command line's imports take ~0.3 s of one core; an unchanged file's hash (0.08 s for
    113 MB) can run beside them on the other, so a scheduled re-ingest that finds nothing
    new ends that much sooner. A file after an option (the ledger after --db) is left alone.
    """
    words = [w for w in argv if not w.startswith("-")]
    if not words or words[0] != "ingest":
        return []
    started = []
    for before, word in itertools.pairwise(argv):
        if before.startswith("-") and "=" not in before:
            continue  # an option's value, or a file after a flag: not worth the guess
        if not word.lower().endswith(_EARLY_SUFFIXES) or word.startswith("-"):
            continue
        path = Path(word)
        try:
            if not path.is_file() or path.stat().st_size < _EARLY_MIN_BYTES:
                continue
        except OSError:
            continue
        thread = threading.Thread(target=_quietly, args=(path,), daemon=True, name="sha256")
        thread.start()
        started.append(thread)
    _early.extend(started)
    return started


def wait_early() -> None:
    """Wait until the threads begin_early started have ended: a process that forks must be
    one thread when it does (a lock another thread holds stays held in the child)."""
    while _early:
        _early.pop().join()


def _quietly(path: Path) -> None:
    with contextlib.suppress(OSError):  # the ingest itself opens the file and words the error
        sha256_of(path)
