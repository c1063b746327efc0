"""Accounts that share a login share its quota; a network's accounts run a few at a time."""

from __future__ import annotations

import uuid

import pytest

from connectors.http import ManualClock, RateLimit, shared_bucket
from connectors.settings import AwinSettings, ImpactSettings
from flows import account_steps
from flows.account_steps import NetworkSlots, parallel_limit

AWIN_QUOTA = RateLimit(requests=20, per_seconds=60.0, burst=10)  # Awin: 20 a minute per user


def awin(token: str, publisher: str) -> AwinSettings:
    return AwinSettings(_env_file=None, token=token, publisher_id=publisher)


def test_two_publisher_accounts_of_one_awin_user_spend_one_quota():
    token = f"user-token-{uuid.uuid4()}"  # a login of this test's own: the registry is global
    de, fr = awin(token, "111"), awin(token, "222")
    assert de.login_key() == fr.login_key()
    clock = ManualClock()
    bucket = shared_bucket("awin", AWIN_QUOTA, de.login_key(), clock=clock)
    assert shared_bucket("awin", AWIN_QUOTA, fr.login_key()) is bucket
    # 15 requests from each account: 10 go at once, the other 20 at 3 s each (20 a minute).
    for _ in range(15):
        bucket.acquire()
        shared_bucket("awin", AWIN_QUOTA, fr.login_key()).acquire()
    assert sum(clock.sleeps) == pytest.approx(20 * 3.0)


def test_two_impact_accounts_with_their_own_sids_do_not_slow_each_other():
    one = ImpactSettings(_env_file=None, account_sid=f"IR{uuid.uuid4().hex}", auth_token="a")
    two = ImpactSettings(_env_file=None, account_sid=f"IR{uuid.uuid4().hex}", auth_token="a")
    assert one.login_key() != two.login_key()
    quota = RateLimit(requests=1000, per_seconds=3600.0, burst=50)
    clocks = ManualClock(), ManualClock()
    buckets = [
        shared_bucket("impact", quota, s.login_key(), clock=c)
        for s, c in zip((one, two), clocks, strict=True)
    ]
    assert buckets[0] is not buckets[1]
    for _ in range(50):  # each account's whole burst, back to back
        for bucket in buckets:
            bucket.acquire()
    assert clocks[0].sleeps == clocks[1].sleeps == []
    buckets[0].acquire()  # the 51st of one SID waits its 3.6 s; the other is untouched
    assert clocks[0].sleeps == [pytest.approx(3.6)]
    assert clocks[1].sleeps == []


def test_the_login_key_never_holds_the_token():
    token = "very-secret-awin-token"
    key = awin(token, "111").login_key()
    assert key.startswith("awin:") and token not in key


def test_a_networks_slots_hold_its_limit_and_leave_other_networks_alone():
    slots = NetworkSlots(limit={"impact": 2, "awin": 1}.__getitem__)
    impact = slots.semaphore("impact")
    assert impact.acquire(blocking=False) and impact.acquire(blocking=False)
    assert not impact.acquire(blocking=False)  # a third impact account waits
    assert slots.semaphore("awin").acquire(blocking=False)  # awin has slots of its own
    assert not slots.semaphore("awin").acquire(blocking=False)
    impact.release()
    assert impact.acquire(blocking=False)


def test_the_parallel_limit_is_a_setting_with_a_default(monkeypatch):
    monkeypatch.delenv("PASSIVE_AWIN_PARALLEL_ACCOUNTS", raising=False)
    assert parallel_limit("awin") == account_steps.DEFAULT_PARALLEL["awin"]
    monkeypatch.setenv("PASSIVE_AWIN_PARALLEL_ACCOUNTS", "7")
    assert parallel_limit("awin") == 7
    monkeypatch.setenv("PASSIVE_AWIN_PARALLEL_ACCOUNTS", "lots")
    with pytest.raises(ValueError, match="PASSIVE_AWIN_PARALLEL_ACCOUNTS: expected a whole"):
        parallel_limit("awin")
