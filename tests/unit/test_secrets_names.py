"""Which Secret blocks each network's credentials live in (`passive secrets set NETWORK`)."""

from __future__ import annotations

import pytest

from flows.pull_steps import PullInputError
from flows.secrets import block_name, credential_fields, secret_networks


def test_amazon_credentials_live_in_the_two_documented_blocks():
    blocks = [block_name("amazon", field) for field in credential_fields("amazon")]
    assert blocks == ["passive-amazon-client-id", "passive-amazon-client-secret"]


def test_every_network_with_credentials_is_listed_and_an_unknown_one_is_named():
    assert secret_networks() == ["amazon", "awin", "cj", "impact"]
    with pytest.raises(PullInputError, match=r"unknown network 'nope'.*amazon"):
        credential_fields("nope")
