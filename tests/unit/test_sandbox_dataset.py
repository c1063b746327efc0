"""Unit tests for the sandbox dataset: determinism, phase changes, money/time formats, totals."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date
from decimal import Decimal

import pytest

from sandbox.dataset import (
    Dataset,
    cj_commission_dict,
    dumps_decimal_numbers,
    render_awin_transaction,
    render_impact_action,
)

START, END = date(2026, 7, 1), date(2026, 9, 14)


def _ds(seed: int = 7) -> Dataset:
    return Dataset(
        seed, impact_actions=1500, awin_transactions=1000, cj_commissions=1200, start=START, end=END
    )


def _snapshot(ds: Dataset) -> dict[str, list[str]]:
    return {
        "impact": [render_impact_action(a) for a in ds.impact],
        "awin": [render_awin_transaction(t) for t in ds.awin],
        "cj": [json.dumps(cj_commission_dict(r)) for r in ds.cj],
    }


@pytest.fixture(scope="module")
def phases():
    """A dataset advanced once, with parsed phase-0 records by id and the phase-1 changes."""
    ds = _ds()
    before = {
        "impact": {a.id: ds.impact_action_json(a.id) for a in ds.impact},
        "awin": {t.id: ds.awin_transaction_json(t.id) for t in ds.awin},
        "cj": {str(r.commission_id): cj_commission_dict(r) for r in ds.cj},
    }
    changes = ds.advance()
    return ds, before, changes


def test_same_seed_gives_identical_records_in_every_phase():
    a, b = _ds(11), _ds(11)
    assert _snapshot(a) == _snapshot(b)
    a.advance()
    b.advance()
    a.advance()
    b.advance()
    assert _snapshot(a) == _snapshot(b)
    assert a.expected_totals("cj") == b.expected_totals("cj")


def test_different_seeds_give_different_records():
    assert _snapshot(_ds(1))["impact"] != _snapshot(_ds(2))["impact"]


def test_reset_returns_to_the_phase_zero_records():
    ds = _ds()
    first = _snapshot(ds)
    ds.advance()
    assert _snapshot(ds) != first
    ds.reset()
    assert ds.phase == 0
    assert _snapshot(ds) == first


def test_record_counts_match_the_requested_sizes():
    ds = _ds()
    assert len(ds.impact) == 1500
    assert len(ds.awin) == 1000
    originals = [r for r in ds.cj if r.original]
    assert len(originals) == 1200
    assert len({a.id for a in ds.impact}) == 1500
    assert len({r.commission_id for r in ds.cj}) == len(ds.cj)


def test_hundred_thousand_impact_actions_generate_with_unique_ids():
    ds = Dataset(
        3, impact_actions=100_000, awin_transactions=10, cj_commissions=10, start=START, end=END
    )
    assert len({a.id for a in ds.impact}) == 100_000


def test_impact_actions_are_ordered_by_creation_date_newest_first():
    ds = _ds()
    ds.advance()
    created = [a.creation_ts for a in ds.impact]
    assert created == sorted(created, reverse=True)


def test_impact_money_is_two_decimal_strings_and_times_carry_offsets():
    ds = _ds()
    currencies = set()
    for a in ds.impact[:300]:
        rec = ds.impact_action_json(a.id)
        currencies.add(rec["Currency"])
        for key in ("Payout", "Amount", "DeltaPayout", "IntendedPayout", "DeltaAmount"):
            assert re.fullmatch(r"-?\d+\.\d{2}", rec[key]), (key, rec[key])
        for key in ("EventDate", "CreationDate", "LockingDate"):
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", rec[key])
        assert rec["ClearedDate"] == "" or rec["ClearedDate"][-6] in "+-"
        assert re.fullmatch(r"\d+\.\d+\.\d+", rec["Id"])
    assert currencies == {"USD", "EUR", "GBP"}


def test_advance_moves_impact_pending_to_approved_or_reversed_with_newer_update(phases):
    ds, before, changes = phases
    assert changes.impact_changed
    boundary = ds.phase_time(0).timestamp()
    seen = Counter()
    for action_id in changes.impact_changed:
        old, new = before["impact"][action_id], ds.impact_action_json(action_id)
        action = ds.impact_action(action_id)
        assert action.updated_ts > boundary, "a change in phase 1 is stamped after phase 0"
        seen[(old["State"], new["State"])] += 1
        if new["State"] == "REVERSED":
            assert old["State"] == "PENDING"
            assert Decimal(new["Payout"]) == 0
            assert Decimal(new["DeltaPayout"]) == -Decimal(old["IntendedPayout"]) < 0
        elif old["State"] == "APPROVED":
            assert old["ClearedDate"] == "" and new["ClearedDate"] != ""
        else:
            assert old["State"] == "PENDING"
    assert seen[("PENDING", "APPROVED")] and seen[("PENDING", "REVERSED")]
    assert seen[("APPROVED", "APPROVED")], "some approved actions clear"
    unchanged = set(before["impact"]) - set(changes.impact_changed)
    for action_id in list(unchanged)[:200]:
        assert ds.impact_action_json(action_id) == before["impact"][action_id]


def test_modified_impact_action_stays_pending_with_delta_payout():
    ds = _ds()
    modified = [a for a in ds.impact if a.state == "PENDING" and a.payout != a.intended_payout]
    assert modified
    rec = ds.impact_action_json(modified[0].id)
    assert Decimal(rec["Payout"]) == Decimal(rec["IntendedPayout"]) + Decimal(rec["DeltaPayout"])
    assert Decimal(rec["DeltaPayout"]) < 0


def test_advance_sets_awin_validation_date_on_approval_and_decline(phases):
    ds, before, changes = phases
    moved = Counter()
    for txn_id in changes.awin_changed:
        old, new = before["awin"][txn_id], ds.awin_transaction_json(txn_id)
        assert new["id"] == old["id"]
        moved[(old["commissionStatus"], new["commissionStatus"])] += 1
        if old["commissionStatus"] == "pending" and new["commissionStatus"] != "pending":
            assert old["validationDate"] is None and new["validationDate"] is not None
        if new["commissionStatus"] == "declined":
            assert new["declineReason"]
    assert moved[("pending", "approved")] and moved[("pending", "declined")]
    assert moved[("approved", "approved")], "some approved transactions get paid"


def test_awin_amendment_keeps_id_and_records_old_amounts():
    ds = _ds()
    amended = [t for t in ds.awin if t.amended]
    assert amended
    rec = ds.awin_transaction_json(amended[0].id)
    assert rec["amended"] is True and rec["amendReason"]
    old = rec["oldCommissionAmount"]
    assert old["currency"] == rec["commissionAmount"]["currency"]
    assert old["amount"] > rec["commissionAmount"]["amount"]


def test_awin_money_serializes_as_exact_json_numbers_in_mixed_currencies():
    ds = _ds()
    text = "[" + ",".join(render_awin_transaction(t) for t in ds.awin) + "]"
    records = json.loads(text, parse_float=Decimal)
    assert {r["commissionAmount"]["currency"] for r in records} == {"USD", "EUR", "GBP"}
    for rec, txn in zip(records, ds.awin, strict=True):
        assert rec["commissionAmount"]["amount"] == txn.commission
        assert rec["saleAmount"]["amount"] == txn.sale
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", rec["transactionDate"])
    assert dumps_decimal_numbers({"a": Decimal("1349.00")}) == '{"a":1349.00}'
    assert dumps_decimal_numbers([Decimal("-0.10")]) == "[-0.10]"


def test_awin_timestamps_render_in_the_requested_timezone():
    ds = _ds()
    txn = ds.awin[0]
    utc = json.loads(render_awin_transaction(txn, "UTC"))["transactionDate"]
    berlin = json.loads(render_awin_transaction(txn, "Europe/Berlin"))["transactionDate"]
    assert utc != berlin and len(utc) == len(berlin) == 19


def test_cj_status_changes_in_place_and_only_forward(phases):
    ds, before, changes = phases
    order = {"new": 0, "extended": 1, "locked": 2, "closed": 3}
    assert changes.cj_status_changed
    for cid in changes.cj_status_changed:
        old = before["cj"][cid]["actionStatus"].lower()
        new = cj_commission_dict(ds.cj_commission(cid))["actionStatus"].lower()
        assert order[new] > order[old], (cid, old, new)
    assert all(cid not in before["cj"] for cid in changes.cj_new)


def test_cj_action_status_casing_is_mixed():
    ds = _ds()
    served = {cj_commission_dict(r)["actionStatus"] for r in ds.cj}
    assert any(s.islower() for s in served)
    assert any(not s.islower() for s in served)


def test_cj_money_is_decimal_strings_with_up_to_three_decimals():
    ds = _ds()
    amounts = [cj_commission_dict(r)["pubCommissionAmountUsd"] for r in ds.cj]
    assert all(re.fullmatch(r"-?\d+(\.\d{1,3})?", a) for a in amounts)
    assert any(re.fullmatch(r"-?\d+\.\d{3}", a) for a in amounts)
    assert all(cj_commission_dict(r)["postingDate"].endswith("Z") for r in ds.cj[:50])


def test_cj_restatement_pairs_sum_to_the_corrected_amount():
    ds = _ds()
    ds.advance()
    restated = ds.cj_restated_action_ids()
    assert restated
    for action_id in restated:
        recs = ds.cj_records_for_action(action_id)
        original = [r for r in recs if r.original]
        corrections = [r for r in recs if not r.original]
        assert len(original) == 1 and len(corrections) == 2
        reversal, new_state = sorted(corrections, key=lambda r: r.commission)
        assert reversal.commission == -original[0].commission
        assert reversal.sale == -original[0].sale
        assert min(c.commission_id for c in corrections) > original[0].commission_id
        assert reversal.correction_reason and new_state.correction_reason
        assert sum(r.commission for r in recs) == new_state.commission
        assert sum(r.sale for r in recs) == new_state.sale
        served = [cj_commission_dict(r) for r in corrections]
        assert all(s["original"] is False and s["originalActionId"] == action_id for s in served)
        assert Decimal(served[0]["pubCommissionAmountUsd"]) < 0


_IMPACT = {"PENDING": "pending", "APPROVED": "approved", "REVERSED": "reversed"}
_AWIN = {
    "pending": "pending",
    "approved": "approved",
    "declined": "reversed",
    "deleted": "reversed",
}
_CJ = {"new": "pending", "extended": "pending", "locked": "approved", "closed": "paid"}


def _totals_from_served(
    ds: Dataset, network: str
) -> dict[tuple[str, str], tuple[Decimal, Decimal, int]]:
    """Totals recomputed from the served JSON with the documented ledger mapping."""
    acc: dict[tuple[str, str], list[object]] = {}

    def add(currency: str, status: str, sale: Decimal, commission: Decimal) -> None:
        slot = acc.setdefault((currency, status), [Decimal(0), Decimal(0), 0])
        slot[0] += sale  # type: ignore[operator]
        slot[1] += commission  # type: ignore[operator]
        slot[2] += 1  # type: ignore[operator]

    if network == "impact":
        for a in ds.impact:
            r = json.loads(render_impact_action(a))
            status = _IMPACT[r["State"]]
            if status == "approved" and r["ClearedDate"]:
                status = "paid"
            # A reversed action keeps what was reversed: its intended amounts (README).
            kept = "Intended" if status == "reversed" else ""
            add(r["Currency"], status, Decimal(r[f"{kept}Amount"]), Decimal(r[f"{kept}Payout"]))
    elif network == "awin":
        for t in ds.awin:
            r = json.loads(render_awin_transaction(t), parse_float=Decimal)
            status = _AWIN[r["commissionStatus"]]
            if status == "approved" and r["paidToPublisher"]:
                status = "paid"
            add(
                r["commissionAmount"]["currency"],
                status,
                Decimal(r["saleAmount"]["amount"]),
                Decimal(r["commissionAmount"]["amount"]),
            )
    else:
        for rec in ds.cj:
            r = cj_commission_dict(rec)
            add(
                "USD",
                _CJ[r["actionStatus"].lower()],
                Decimal(r["saleAmountUsd"]),
                Decimal(r["pubCommissionAmountUsd"]),
            )
    return {k: (v[0], v[1], v[2]) for k, v in sorted(acc.items())}  # type: ignore[misc]


@pytest.mark.parametrize("network", ["impact", "awin", "cj"])
def test_expected_totals_match_the_served_records_to_the_cent_in_each_phase(network):
    ds = _ds()
    for _ in range(3):
        expected = ds.expected_totals(network)
        assert expected == _totals_from_served(ds, network)
        assert sum(lines for _, _, lines in expected.values()) == len(list(ds.records(network)))
        ds.advance()


def test_expected_totals_cover_every_ledger_status():
    ds = _ds()
    statuses = {status for _, status in ds.expected_totals("impact")}
    assert statuses == {"pending", "approved", "paid", "reversed"}
    assert {status for _, status in ds.expected_totals("awin")} == statuses
    assert {status for _, status in ds.expected_totals("cj")} == {"pending", "approved", "paid"}


def test_expected_totals_json_uses_exact_decimal_strings():
    ds = _ds()
    rows = ds.expected_totals_json("cj")
    totals = ds.expected_totals("cj")
    for row in rows:
        sale, commission, lines = totals[(row["currency"], row["status"])]
        assert row["sale"] == str(sale) and row["commission"] == str(commission)
        assert row["lines"] == lines


def test_phase_changes_are_stamped_inside_their_phase():
    ds = _ds()
    ds.advance()
    lo, hi = ds.phase_time(0).timestamp(), ds.phase_time(1).timestamp()
    new_awin = [t for t in ds.awin if t.transaction_ts > lo]
    assert new_awin and all(lo < t.transaction_ts <= hi for t in new_awin)
    assert all(a.updated_ts < hi for a in ds.impact)
