"""The declared-stream framework: paginators, windows, and a declaration driven by the one pull
loop (a toy network declared here, as a new one would be), plus the registry's pairing."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, get_args, get_type_hints

import httpx
import pytest
from pydantic import BaseModel

from connectors import API_NETWORKS
from connectors.amazon.source import SOURCE as AMAZON
from connectors.base import DateWindow
from connectors.ecb import SOURCE as ECB
from connectors.errors import PaginationError, ResponseFormatError, SettingsError
from connectors.http import ManualClock
from connectors.payments import IMPACT_INVOICES
from connectors.settings import CJSettings
from connectors.source import Disposition
from connectors.stream import (
    Bearer,
    CursorUntilComplete,
    NextLink,
    PageContext,
    Request,
    SinglePage,
    Stream,
)
from flows import pull_loop
from schemas.raw_models import RawModel, model_class, raw_model, raw_model_names
from schemas.validation import ValidatedBatch
from warehouse.load import load_batches

FIXTURES = Path(__file__).parents[1] / "fixtures"
START = datetime(2024, 1, 1, tzinfo=UTC)
WINDOW = DateWindow(START, START + timedelta(days=10))


class ToyItem(BaseModel):
    """The toy network's raw record."""

    key: str


def settings(**overrides: Any) -> CJSettings:
    values = {"token": "toy-token-abcdef123", "publisher_id": "P1", "base_url": "https://toy.test"}
    return CJSettings(_env_file=None, **{**values, **overrides})


def toy_request(s: CJSettings, window: DateWindow, token: str | None, part: str) -> Request:
    if token is not None:
        return Request(token)
    params: dict[str, str | int] = {"from": window.start.date().isoformat()}
    return Request("/items", params={**params, **({"part": part} if part else {})})


def toy_extract(body: Any, at: PageContext) -> tuple[list[Any], dict[str, Any]]:
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        raise ResponseFormatError(f"toy: no items list (page {at.number})", network="toy")
    return body["items"], body


def toy(**declared: Any) -> Stream[CJSettings]:
    values: dict[str, Any] = {
        "name": "toy",
        "label": "Toy",
        "settings_class": CJSettings,
        "account_setting": "publisher_id",
        "auth": Bearer("token"),
        "request": toy_request,
        "extract": toy_extract,
        "paginator": NextLink("next"),
        "raw_model": "toy.item",
        "primary_key": ("key",),
        "disposition": "upsert",
        "max_window_days": 10,
    }
    return Stream(**{**values, **declared})


def serve(*bodies: object) -> tuple[Callable[[httpx.Request], httpx.Response], list[httpx.Request]]:
    seen: list[httpx.Request] = []
    queue = list(bodies)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=queue.pop(0))

    return handler, seen


def client(stream: Stream[CJSettings], handler: Callable[[httpx.Request], httpx.Response]):
    return stream.make_client(
        settings(), clock=ManualClock(), transport=httpx.MockTransport(handler)
    )


class Recorder:
    """A raw model whose validators note what the loop handed them (page number, records)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, Any]] = []

    def validate(self, records: list[Any], /, *, account: str, page: int) -> ValidatedBatch:
        self.calls.append(("records", page, [r["key"] for r in records]))
        return ValidatedBatch(records_read=len(records))

    def validate_read(self, read: Any, /, *, account: str, page: int) -> ValidatedBatch:
        self.calls.append(("read", page, read))
        return ValidatedBatch(records_read=len(read))

    def model(self, **kw: Any) -> RawModel:
        return RawModel(ToyItem, self.validate, **kw)


def test_next_link_paginator_follows_each_link_until_an_empty_one():
    stream = toy()
    handler, seen = serve(
        {"items": [{"key": "a"}], "next": "/items?cursor=2"},
        {"items": [{"key": "b"}], "next": "/items?cursor=3"},
        {"items": [], "next": ""},
    )
    pages = list(stream.pages(client(stream, handler), settings(), WINDOW))
    assert [p.number for p in pages] == [1, 2, 3]
    assert [p.records for p in pages] == [[{"key": "a"}], [{"key": "b"}], []]
    assert dict(seen[0].url.params) == {"from": "2024-01-01"}
    assert [str(r.url) for r in seen[1:]] == [
        "https://toy.test/items?cursor=2",
        "https://toy.test/items?cursor=3",
    ]


def test_next_link_paginator_refuses_a_repeated_link_and_a_link_to_another_host():
    stream = toy()
    again = {"items": [], "next": "/items?cursor=2"}
    handler, seen = serve(again, again)
    with pytest.raises(PaginationError, match=r"next '/items\?cursor=2' repeated"):
        list(stream.pages(client(stream, handler), settings(), WINDOW))
    assert len(seen) == 2
    handler, seen = serve({"items": [], "next": "https://elsewhere.test/items"})
    with pytest.raises(PaginationError, match=r"leaves https://toy\.test; refusing to follow"):
        list(stream.pages(client(stream, handler), settings(), WINDOW))
    assert len(seen) == 1


def test_next_link_paginator_refuses_a_repeated_page_label_before_handing_the_page_on():
    stream = toy(paginator=NextLink("next", label="page"))
    handler, _ = serve(
        {"items": [], "next": "/items?c=2", "page": "1"},
        {"items": [], "next": "/items?c=3", "page": "1"},
    )
    pages = stream.pages(client(stream, handler), settings(), WINDOW)
    assert next(pages).number == 1
    with pytest.raises(PaginationError, match="page '1' repeated"):
        next(pages)


def test_cursor_paginator_sends_the_cursor_until_the_answer_is_complete():
    def request(s: CJSettings, window: DateWindow, since: str | None, part: str) -> Request:
        return Request("/query", body={"since": since})

    stream = toy(request=request, paginator=CursorUntilComplete("max", complete="done"))
    handler, seen = serve(
        {"items": [{"key": "a"}], "done": False, "max": "7"},
        {"items": [{"key": "b"}], "done": False, "max": "9"},
        {"items": [], "done": True},
    )
    pages = list(stream.pages(client(stream, handler), settings(), WINDOW))
    assert len(pages) == 3 and all(r.method == "POST" for r in seen)
    assert [json.loads(r.content)["since"] for r in seen] == [None, "7", "9"]


@pytest.mark.parametrize(
    ("answer", "error", "message"),
    [
        ({"items": [], "done": "maybe"}, ResponseFormatError, "done is 'maybe', expected true"),
        ({"items": [], "done": False, "max": ""}, PaginationError, "max is empty"),
    ],
)
def test_cursor_paginator_refuses_an_answer_it_cannot_continue_from(answer, error, message):
    def request(s: CJSettings, window: DateWindow, since: str | None, part: str) -> Request:
        return Request("/query", body={"since": since})

    stream = toy(request=request, paginator=CursorUntilComplete("max", complete="done"))
    handler, _ = serve(answer)
    with pytest.raises(error, match=message):
        list(stream.pages(client(stream, handler), settings(), WINDOW))


def test_the_loop_numbers_pages_across_partitions_and_windows_for_reject_locators():
    stream = toy(paginator=SinglePage(), partitions=("x", "y"), max_window_days=5)
    handler, seen = serve(*({"items": [{"key": str(n)}]} for n in range(4)))
    recorder = Recorder()
    batches = list(
        pull_loop.pull(
            stream,
            settings(),
            WINDOW.start,
            WINDOW.end,
            client=client(stream, handler),
            model=recorder.model(),
        )
    )
    assert [b.records_read for b in batches] == [1, 1, 1, 1]
    assert [(r.url.params["part"], r.url.params["from"]) for r in seen] == [
        ("x", "2024-01-01"),
        ("x", "2024-01-06"),
        ("y", "2024-01-01"),
        ("y", "2024-01-06"),
    ]
    assert [(kind, page) for kind, page, _ in recorder.calls] == [
        ("records", 1),
        ("records", 2),
        ("records", 3),
        ("records", 4),
    ]


def test_a_page_the_schemas_reader_takes_skips_json_decoding_and_goes_to_validate_read():
    def read(content: bytes) -> tuple[list[str], dict[str, Any]] | None:
        body = json.loads(content)
        if any("bad" in item["key"] for item in body["items"]):
            return None  # the per-record path decides and words the rejects
        return [item["key"] for item in body["items"]], {"next": body["next"]}

    stream = toy()
    handler, _ = serve(
        {"items": [{"key": "a"}, {"key": "b"}], "next": "/items?c=2"},
        {"items": [{"key": "bad"}], "next": ""},
    )
    recorder = Recorder()
    model = recorder.model(read_bytes=read, validate_read=recorder.validate_read)
    batches = list(
        pull_loop.pull(
            stream,
            settings(),
            WINDOW.start,
            WINDOW.end,
            client=client(stream, handler),
            model=model,
        )
    )
    assert [b.records_read for b in batches] == [2, 1]
    assert recorder.calls == [("read", 1, ["a", "b"]), ("records", 2, ["bad"])]


def test_credentials_are_checked_when_the_pull_is_made_not_when_it_is_iterated():
    stream = toy()
    handler, seen = serve()
    with pytest.raises(SettingsError, match="PASSIVE_CJ_TOKEN"):
        pull_loop.pull(
            stream,
            settings(token=None),
            WINDOW.start,
            WINDOW.end,
            client=client(stream, handler),
            model=Recorder().model(),
        )
    assert seen == []


def test_windows_start_within_the_declared_history_and_take_the_narrower_limit():
    now = datetime(2025, 1, 1, tzinfo=UTC)
    stream = toy(max_window_days=7, max_history=timedelta(days=30))
    windows = stream.windows(now - timedelta(days=100), now, max_days=20, now=now)
    assert windows[0].start == now - timedelta(days=30) and windows[-1].end == now
    assert all(w.end - w.start <= timedelta(days=7) for w in windows)
    assert (
        stream.windows(now - timedelta(days=90), now - timedelta(days=60), max_days=7, now=now)
        == []
    )
    assert len(stream.windows(now - timedelta(days=6), now, max_days=3, now=now)) == 2


def _first_record(network: str) -> dict[str, Any]:
    path = {
        "impact": FIXTURES / "impact" / "actions_page1.json",
        "awin": FIXTURES / "awin" / "transactions_by_transaction_date.json",
        "cj": FIXTURES / "cj" / "commissions_page1.json",
    }[network]
    body = json.loads(path.read_text(), parse_float=Decimal)
    if network == "impact":
        return body["Actions"][0]
    if network == "cj":
        return body["data"]["publisherCommissions"]["records"][0]
    return body[0]


def test_every_declared_stream_names_a_registered_raw_model_whose_key_is_the_line_id():
    assert {s.raw_model for s in API_NETWORKS.values()} <= set(raw_model_names())
    for name, stream in API_NETWORKS.items():
        model = raw_model(stream.raw_model)
        record = _first_record(name)
        (key,) = stream.primary_key
        fields = {f.alias or n for n, f in model.model.model_fields.items()}
        assert key in record and key in fields and model.model.model_validate(record)
        (line,) = model.validate([record], account="acct", page=1).lines
        assert (line.network, line.line_id) == (name, str(record[key]).strip())


def test_every_declared_source_names_a_model_holding_its_key_and_loads_as_it_declares():
    sources = [*API_NETWORKS.values(), IMPACT_INVOICES, AMAZON, ECB]
    assert sorted(s.raw_model for s in sources) == sorted(raw_model_names())
    for source in sources:
        model = model_class(source.raw_model)
        fields = {f.alias or n for n, f in model.model_fields.items()}
        assert set(source.primary_key) <= fields, source.name
    # The dispositions are the warehouse's load modes.
    assert set(get_args(Disposition)) == set(get_args(get_type_hints(load_batches)["mode"]))
    assert (AMAZON.disposition, ECB.disposition) == ("replace_slice", "upsert")


def test_an_upsert_source_without_a_primary_key_is_refused():
    with pytest.raises(ValueError, match="toy: an upsert source must declare its primary key"):
        toy(primary_key=())


def test_an_unknown_raw_model_name_is_a_lookup_error_listing_the_known_ones():
    with pytest.raises(LookupError, match=r"no raw model 'toy.item'.*impact\.action"):
        raw_model("toy.item")


def test_a_raw_model_with_a_one_pass_reader_must_map_what_it_reads():
    def read(content: bytes) -> tuple[list[str], dict[str, Any]] | None:
        return None

    with pytest.raises(ValueError, match="ToyItem: read_bytes and validate_read come together"):
        Recorder().model(read_bytes=read)
