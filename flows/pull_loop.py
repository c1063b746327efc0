"""The one pull loop: a declared stream's raw pages, validated by its raw model, page by page.

Connectors declare a stream (connectors.stream.Stream) and fetch raw pages; schemas register
the raw model the declaration names (schemas.raw_models). Only here do the two meet, so each
network is pulled and validated the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from connectors.base import DateWindow, Page
from connectors.http import ApiClient
from connectors.settings import NetworkSettings
from connectors.stream import Stream
from schemas.raw_models import Batch, RawModel, raw_model
from schemas.validation import ValidatedBatch, keep_latest


def pull(
    stream: Stream[Any],
    settings: NetworkSettings,
    start: datetime,
    end: datetime,
    *,
    client: ApiClient | None = None,
    now: datetime | None = None,
    model: RawModel | None = None,
) -> Iterator[Batch]:
    """Check credentials now (eagerly, before any request), then lazily pull `[start, end)`:
    one validated batch per page, pages numbered across the whole pull (reject locators).
    `model` defaults to the raw model the stream names in schemas.raw_models."""
    settings.require_credentials()
    windows = stream.windows(
        start, end, max_days=settings.max_window_days, now=now or datetime.now(UTC)
    )
    return _pull(stream, model or raw_model(stream.raw_model), settings, windows, client)


def _pull(
    stream: Stream[Any],
    model: RawModel,
    settings: NetworkSettings,
    windows: list[DateWindow],
    client: ApiClient | None,
) -> Iterator[Batch]:
    account = stream.account(settings)
    api = client or stream.make_client(settings)
    try:
        batches = _batches(stream, model, api, settings, windows, account)
        if len(stream.partitions) > 1:
            # The same record can come in several passes: buffer them, keep its last read.
            yield from keep_latest(_line_batches(batches, stream))
        else:
            yield from batches
    finally:
        if client is None:
            api.close()


def _batches(
    stream: Stream[Any],
    model: RawModel,
    api: ApiClient,
    settings: NetworkSettings,
    windows: list[DateWindow],
    account: str,
) -> Iterator[Batch]:
    number = 0
    for partition in stream.partitions:
        for window in windows:
            for page in stream.pages(
                api, settings, window, partition=partition, read=model.read_bytes
            ):
                number += 1
                yield validate(model, page, account=account, number=number)


def validate(model: RawModel, page: Page, *, account: str, number: int) -> Batch:
    """One page through its raw model: what a one-pass reader took, else record by record."""
    if page.validated is not None and model.validate_read is not None:
        return model.validate_read(page.validated, account=account, page=number)
    return model.validate(page.records, account=account, page=number)


def _line_batches(batches: Iterator[Batch], stream: Stream[Any]) -> list[ValidatedBatch]:
    lines: list[ValidatedBatch] = []
    for batch in batches:
        if not isinstance(batch, ValidatedBatch):
            raise TypeError(
                f"{stream.name}: a stream read in several passes needs ValidatedBatch pages "
                f"to keep each line's last read, got {type(batch).__name__}"
            )
        lines.append(batch)
    return lines
