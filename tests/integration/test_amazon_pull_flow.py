"""The `pull-amazon` Prefect flow: each report named in its artifact, the token in none of it."""

from __future__ import annotations

import duckdb
import pytest

from connectors.amazon.api import AccessRevokedError
from sandbox.server import SandboxHandle


@pytest.fixture
def sandbox(amazon_sandbox: SandboxHandle) -> SandboxHandle:
    return amazon_sandbox


def artifacts(key: str) -> list[str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key]))
        )
    return [str(a.data) for a in found]


def test_the_flow_loads_the_store_and_its_artifact_names_every_report(prefect_harness, sandbox, db):
    from flows.amazon_flow import pull_amazon

    summary = pull_amazon(account="flow-us", marketplace="US", db=str(db))
    assert summary.exit_code == 0
    markdown = next(a for a in artifacts("amazon-pull-flow-us") if "listReports offered" in a)
    for line in summary.reports:
        assert f"| {line.report} | {line.report_type} | {line.status} |" in markdown
    assert "| passive-20-orders-2025-12.csv | Fee-Orders | skipped |" in markdown
    assert markdown.count("| Fee-Earnings | loaded |") == 3
    assert all(token not in markdown for token in sandbox.amazon.tokens)
    with duckdb.connect(str(db), read_only=True) as con:
        runs = con.execute("SELECT count(*) FROM ingest_runs WHERE flow_run_id IS NULL").fetchone()
    assert runs == (0,)  # every run the flow wrote links back to it

    sandbox.amazon.revoked = True
    with pytest.raises(AccessRevokedError):
        pull_amazon(account="flow-us", marketplace="US", db=str(db))
    failed = [a for a in artifacts("amazon-pull-flow-us") if "failed" in a]
    assert failed and "10 qualifying sales in 30 days" in failed[-1]
    assert all(token not in "".join(failed) for token in sandbox.amazon.tokens)
