"""Pydantic v2 models: one raw-record model per network report plus the canonical CommissionLine."""
