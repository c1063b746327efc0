"""Prefect flow `pull-amazon`: one store's Creators API reports into the ledger, and an artifact."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from connectors.accounts import Account
from connectors.errors import ConnectorError
from flows import amazon_pull
from flows.artifacts import artifact_key, markdown_table
from flows.concurrency import ledger_writer, started
from flows.hooks import log_failure, name_run
from flows.ledger import Ledger
from flows.pull_steps import load_accounts
from flows.secrets import secret_overrides
from schemas.networks import AMAZON


# The HTTP layer owns request retries (429/5xx with backoff); a task retry would repeat them.
@task(name="fetch-amazon-reports", cache_policy=NO_CACHE)
def fetch_reports_task(
    account: str,
    marketplace: str,
    db: str | None,
    since: date | None,
    until: date | None,
    folder: str,
    named: Account | None = None,
) -> tuple[amazon_pull.Listed, list[amazon_pull.Fetched]]:
    """List the store's reports and download and verify the new ones (the ledger unchanged)."""
    logger = get_run_logger()
    # Credentials are read here rather than passed in, so they never become task inputs.
    settings = amazon_pull.load_settings(secret_overrides(AMAZON, named), named)

    def known() -> set[tuple[str, str]]:
        return Ledger(db, writing=ledger_writer).known_amazon_reports(account)

    with amazon_pull.connect(settings, marketplace) as api:
        listed = amazon_pull.list_new(api, known, since=since, until=until)
        logger.info(
            "%d reports listed, %d in range, %d new",
            listed.offered,
            listed.in_range,
            len(listed.new),
        )
        fetched = []
        for index, listing in enumerate(listed.new):
            fetched.append(amazon_pull.fetch(api, listing, Path(folder), index))
            logger.info("downloaded and verified %s (%d bytes)", listing.filename, listing.size)
    return listed, fetched


@task(name="load-amazon-reports", cache_policy=NO_CACHE)
def load_reports_task(
    listed: amazon_pull.Listed,
    fetched: list[amazon_pull.Fetched],
    db: str | None,
    account: str,
    marketplace: str,
) -> amazon_pull.AmazonPullSummary:
    """Load the earnings reports and record the rest (writes DuckDB: never cached)."""
    summary = Ledger(db, writing=ledger_writer).load_amazon_reports(
        fetched, listed, account=account, marketplace=marketplace, flow_run_id=flow_run.get_id()
    )
    logger = get_run_logger()
    for line in summary.reports:
        if line.status == "refused":
            logger.error("refused %s: %s", line.report, line.note)
        else:
            logger.info("%s %s %s", line.status, line.report, line.note)
    return summary


def pull_markdown(summary: amazon_pull.AmazonPullSummary) -> str:
    """The artifact: every report loaded, skipped or refused, then the months touched."""
    rows = [
        [
            line.report,
            line.report_type or "?",
            line.status,
            f"{line.period_start} to {line.period_end}" if line.period_start else "",
            str(line.read),
            str(line.loaded),
            str(line.rejected),
            line.note.replace("|", "/"),
        ]
        for line in summary.reports
    ]
    listed = summary.listed
    parts = [
        f"# amazon pull for {summary.account} ({summary.marketplace})",
        f"listReports offered **{listed.offered}** reports, {listed.in_range} in range; "
        f"**{len(listed.new)}** new were downloaded and verified: "
        f"{summary.count('loaded')} loaded, {summary.count('skipped')} skipped, "
        f"{summary.count('refused')} refused.",
    ]
    if rows:
        parts += [
            "## Reports",
            markdown_table(
                ["report", "type", "status", "period", "read", "loaded", "rejected", "note"], rows
            ),
        ]
    if summary.months:
        parts += [
            "## Commission by currency for the months touched (ledger totals, not reversed)",
            markdown_table(
                ["month", "currency", "lines", "sales", "commission"],
                [
                    [m.month.strftime("%Y-%m"), m.currency, str(m.lines), m.sales, m.commission]
                    for m in summary.months
                ],
            ),
        ]
    return "\n\n".join(parts)


def _publish(markdown: str, account: str) -> None:
    create_markdown_artifact(
        markdown=markdown,
        key=artifact_key(AMAZON, "pull", account),
        description=f"amazon Creators API pull for {account}",
    )


@flow(
    name="pull-amazon",
    flow_run_name="pull amazon {account}",
    on_failure=[log_failure],
    on_crashed=[log_failure],
    on_running=[started],
)
def pull_amazon(
    account: str = "amazon-us",
    marketplace: str = "US",
    since: date | None = None,
    until: date | None = None,
    db: str | None = None,
    config: str | None = None,
) -> amazon_pull.AmazonPullSummary:
    """Pull every Creators API report of one store not yet in the ledger, and load it.

    An `account` of passive.toml (`config`, else $PASSIVE_CONFIG, else ./passive.toml) brings
    its own marketplace and credential; any other name is a store of PASSIVE_AMAZON_*."""
    named = load_accounts(config).named(account)
    if named is not None and named.network == AMAZON and named.marketplace:
        marketplace = named.marketplace
    else:
        named = None
    name_run(f"pull amazon {account} ({marketplace.upper()})")
    with tempfile.TemporaryDirectory(prefix="passive-amazon-") as folder:
        try:
            listed, fetched = fetch_reports_task(
                account, marketplace, db, since, until, folder, named
            )
        except ConnectorError as error:
            _publish(
                f"# amazon pull for {account} ({marketplace}) failed\n\n{error}\n\n"
                "Nothing was loaded and nothing was recorded.",
                account,
            )
            raise
        summary = load_reports_task(listed, fetched, db, account, marketplace.upper())
    _publish(pull_markdown(summary), account)
    return summary
