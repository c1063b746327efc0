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


def test_each_account_of_passive_toml_has_its_own_blocks_and_a_login_shares_its_secret(
    tmp_path, monkeypatch
):
    from flows.secrets import account_named

    monkeypatch.delenv("PASSIVE_CONFIG", raising=False)
    config = tmp_path / "passive.toml"
    config.write_text(
        '[accounts.impact-shop]\nnetwork = "impact"\n\n'
        '[accounts.awin-de]\nnetwork = "awin"\npublisher_id = "111"\nlogin = "awin-user"\n\n'
        '[accounts.blog-uk]\nnetwork = "amazon"\nmarketplace = "UK"\n',
        encoding="utf-8",
    )

    def blocks(name: str) -> list[str]:
        account = account_named(name, config)
        fields = [f for f in credential_fields(account.network) if f not in account.settings]
        return [block_name(account.owner(f), f) for f in fields]

    assert blocks("impact-shop") == [
        "passive-impact-shop-account-sid",
        "passive-impact-shop-auth-token",
    ]
    # The publisher id is in the file; the token is the Awin user's, shared by their accounts.
    assert blocks("awin-de") == ["passive-awin-user-token"]
    # Every store uses the one Creators API credential unless it names a login.
    assert blocks("blog-uk") == ["passive-amazon-client-id", "passive-amazon-client-secret"]
    # Not in passive.toml: today's per-network blocks.
    assert blocks("cj") == ["passive-cj-token", "passive-cj-publisher-id"]
    with pytest.raises(PullInputError, match=r"no account or network 'nope'; known: .*awin-de"):
        account_named("nope", config)
