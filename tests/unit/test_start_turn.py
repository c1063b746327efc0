"""The fan-out's start turn: one sub-flow run created at a time, passed on once it runs."""

from __future__ import annotations

import threading

from flows.concurrency import one_start_at_a_time, started


def _second_start_waits_until(release: str) -> tuple[bool, bool]:
    """Whether a second thread got its turn before, and after, the first one's `release`."""
    first_in, first_done, second_in = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        with one_start_at_a_time():
            first_in.set()
            first_done.wait(5)
            if release == "started":
                started()  # the sub-flow's on_running hook
                first_done.clear()
                first_done.wait(5)  # still inside the block: the run goes on

    def second() -> None:
        first_in.wait(5)
        with one_start_at_a_time():
            second_in.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    first_in.wait(5)
    before = second_in.wait(0.2)
    first_done.set()
    after = second_in.wait(5)
    first_done.set()
    for thread in threads:
        thread.join(5)
    return before, after


def test_a_second_sub_flow_starts_once_the_first_is_running() -> None:
    assert _second_start_waits_until("started") == (False, True)


def test_the_turn_passes_on_when_the_call_ends_without_running() -> None:
    assert _second_start_waits_until("exit") == (False, True)


def test_started_outside_a_turn_does_nothing() -> None:
    started()  # an on_running hook of a flow run nobody queued
    with one_start_at_a_time():
        pass
