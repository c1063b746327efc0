"""The sandbox FastAPI app: Impact, Awin, CJ, Amazon Creators API and ECB stand-ins, admin API."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

from sandbox import ecb
from sandbox.dataset import NETWORKS
from sandbox.networks import SandboxState, amazon, awin, cj, impact, payments


class FaultRequest(BaseModel):
    """Body of POST /_sandbox/faults."""

    network: str = "all"
    kind: str
    count: int = Field(default=1, ge=1)
    retry_after: int = Field(default=1, ge=0)
    delay: float = Field(default=1.0, ge=0)


def create_app(state: SandboxState) -> FastAPI:
    """Build the app around one shared state."""
    app = FastAPI(title="Passive Ledger network sandbox", docs_url=None, redoc_url=None)
    impact.register(app, state)
    awin.register(app, state)
    cj.register(app, state)
    payments.register(app, state)
    amazon.register(app, state)
    ecb.register(app, state.ecb)

    @app.get("/_sandbox/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "seed": state.dataset.seed, "phase": state.dataset.phase}

    @app.get("/_sandbox/faults")
    async def list_faults() -> list[dict[str, Any]]:
        return state.faults()

    @app.post("/_sandbox/faults")
    async def set_fault(req: FaultRequest) -> list[dict[str, Any]]:
        try:
            state.set_fault(req.network, req.kind, req.count, req.retry_after, req.delay)
        except ValueError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from exc
        return state.faults()

    @app.post("/_sandbox/advance")
    async def advance() -> dict[str, Any]:
        changes = state.advance()
        return {"phase": changes.phase, "changes": changes.counts()}

    @app.get("/_sandbox/requests")
    async def requests(network: str | None = None) -> list[dict[str, Any]]:
        return state.requests(network)

    @app.delete("/_sandbox/requests")
    async def clear_requests() -> dict[str, str]:
        state.clear_requests()
        return {"status": "cleared"}

    @app.get("/_sandbox/expected")
    async def expected(network: str) -> dict[str, Any]:
        if network not in NETWORKS:
            raise HTTPException(status_code=400, detail=f"network must be one of {list(NETWORKS)}")
        with state.lock:
            return {
                "network": network,
                "phase": state.dataset.phase,
                "totals": state.dataset.expected_totals_json(network),
            }

    @app.post("/_sandbox/reset")
    async def reset() -> dict[str, Any]:
        state.reset()
        return {"status": "reset", "phase": state.dataset.phase}

    return app
