"""Shared test set-up: isolate every test run from the user's Prefect profile and ledger."""

from __future__ import annotations

import os
import tempfile

# A developer's PREFECT_API_URL (or .env) must not send test flows to a real server, and the
# harness must not write into ~/.prefect (notes: vstorm-co/agenticos #536).
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="passive-prefect-home-")
os.environ["PREFECT_API_URL"] = ""
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW"] = "ignore"
os.environ.pop("PASSIVE_DB", None)
