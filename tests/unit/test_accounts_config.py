"""passive.toml: named accounts, their settings' sources, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from connectors.accounts import (
    ConfigError,
    account_settings,
    config_path,
    implicit_account,
    load_accounts,
    settings_problem,
)
from connectors.errors import SettingsError

ISSUE_EXAMPLE = """
[accounts.blog-us]
network = "amazon"
marketplace = "US"

[accounts.blog-uk]
network = "amazon"
marketplace = "uk"

[accounts.impact-main]
network = "impact"

[accounts.impact-shop]
network = "impact"
page_size = 500

[accounts.awin]
network = "awin"
"""


@pytest.fixture(autouse=True)
def _no_ambient_config(monkeypatch, tmp_path):
    # No passive.toml of the developer's, no PASSIVE_* of theirs, no .env: each test says
    # what it has.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PASSIVE_CONFIG", raising=False)
    import os

    for name in list(os.environ):
        if name.startswith("PASSIVE_"):
            monkeypatch.delenv(name)


def write(tmp_path: Path, text: str, name: str = "passive.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_issue_example_gives_each_account_its_network_and_marketplace(tmp_path):
    accounts = load_accounts(write(tmp_path, ISSUE_EXAMPLE))
    assert [(a.name, a.network, a.marketplace) for a in accounts.accounts] == [
        ("blog-us", "amazon", "US"),
        ("blog-uk", "amazon", "UK"),
        ("impact-main", "impact", None),
        ("impact-shop", "impact", None),
        ("awin", "awin", None),
    ]
    assert [a.name for a in accounts.of("impact")] == ["impact-main", "impact-shop"]
    assert accounts.named("impact-shop").settings == {"page_size": 500}


def test_without_a_file_each_api_network_has_one_account_named_after_it():
    accounts = load_accounts()
    assert accounts.path is None
    assert [(a.name, a.network) for a in accounts.accounts] == [
        ("impact", "impact"),
        ("awin", "awin"),
        ("cj", "cj"),
    ]


def test_the_default_file_is_found_in_the_working_directory_and_env_names_another(
    tmp_path, monkeypatch
):
    write(tmp_path, '[accounts.cj-a]\nnetwork = "cj"\n')
    assert [a.name for a in load_accounts().accounts] == ["cj-a"]
    other = write(tmp_path, '[accounts.cj-b]\nnetwork = "cj"\n', "elsewhere.toml")
    monkeypatch.setenv("PASSIVE_CONFIG", str(other))
    assert [a.name for a in load_accounts().accounts] == ["cj-b"]


def test_a_named_config_file_that_does_not_exist_is_an_error_not_no_accounts(tmp_path):
    with pytest.raises(ConfigError, match=r"missing\.toml: no such file \(--config\)"):
        config_path(tmp_path / "missing.toml")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[accounts.x]\nnetwork = "ebay"\n', r"\[accounts\.x\] network: Input should be 'amazon'"),
        ("[accounts.x]\nmarketplace = 'US'\n", r"\[accounts\.x\] network: missing"),
        ('[accounts.x]\nnetwork = "amazon"\n', r"\[accounts\.x\] marketplace: missing"),
        (
            '[accounts.x]\nnetwork = "amazon"\nmarketplace = "XX"\n',
            r"\[accounts\.x\] marketplace: expected one of US, CA",
        ),
        (
            '[accounts.x]\nnetwork = "awin"\nmarketplace = "US"\n',
            r"\[accounts\.x\] marketplace: only amazon accounts",
        ),
        (
            '[accounts.x]\nnetwork = "impact"\nauth_token = "t0k3n"\n',
            r"\[accounts\.x\] auth_token: a secret never goes in passive\.toml; store it with "
            r"`passive secrets set x` or set PASSIVE_X_AUTH_TOKEN",
        ),
        (
            '[accounts.x]\nnetwork = "impact"\npage_sise = 5\n',
            r"\[accounts\.x\] page_sise: not a setting of impact; expected network, login or "
            r"one of .*page_size",
        ),
        (
            '[accounts.x]\nnetwork = "impact"\nbase_url = "https://api.impact.com/v1"\n',
            r"\[accounts\.x\] base_url: must be scheme and host only",
        ),
        (
            '[accounts.x]\nnetwork = "impact"\npage_size = 0\n',
            r"\[accounts\.x\] page_size: Input should be greater than or equal to 1",
        ),
        (
            '[accounts.Shop_1]\nnetwork = "cj"\n',
            r"\[accounts\.Shop_1\]: the name must be lower-case letters, digits and dashes",
        ),
        (
            '[accounts.awin]\nnetwork = "impact"\n',
            r"\[accounts\.awin\] network: 'impact', but the name 'awin' is another network's",
        ),
        ('[account.x]\nnetwork = "cj"\n', r"unknown table or key 'account'"),
        ('[accounts.x]\nnetwork = "cj"\nlogin = "Bad Name"\n', r"\[accounts\.x\] login:"),
        ('[accounts.x\nnetwork = "cj"\n', r"not valid TOML: .*line 1"),
    ],
)
def test_a_bad_config_is_one_line_naming_the_file_the_table_and_the_key(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_accounts(path)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert raised.match(expected)


def test_an_account_reads_its_own_variables_and_never_another_accounts_credentials(
    tmp_path, monkeypatch
):
    accounts = load_accounts(write(tmp_path, ISSUE_EXAMPLE))
    monkeypatch.setenv("PASSIVE_IMPACT_ACCOUNT_SID", "IRnetwork")
    monkeypatch.setenv("PASSIVE_IMPACT_AUTH_TOKEN", "network-token")
    monkeypatch.setenv("PASSIVE_IMPACT_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("PASSIVE_IMPACT_SHOP_ACCOUNT_SID", "IRshop")
    monkeypatch.setenv("PASSIVE_IMPACT_SHOP_AUTH_TOKEN", "shop-token")
    shop = account_settings(accounts.named("impact-shop"))
    # Its own credentials, the network's shared base URL, its file's page size.
    assert shop.account_sid == "IRshop"
    assert shop.auth_token.get_secret_value() == "shop-token"
    assert (shop.base_url, shop.page_size) == ("http://127.0.0.1:9", 500)
    assert shop.ledger_account() == "impact-shop"
    main = account_settings(accounts.named("impact-main"))
    # Not the network's SID: two accounts would pull the same data under two names.
    assert main.account_sid is None
    with pytest.raises(SettingsError, match="missing PASSIVE_IMPACT_MAIN_ACCOUNT_SID, "
                       "PASSIVE_IMPACT_MAIN_AUTH_TOKEN"):  # fmt: skip
        main.require_credentials()


def test_the_account_named_after_its_network_is_todays_single_account(monkeypatch):
    monkeypatch.setenv("PASSIVE_AWIN_PUBLISHER_ID", "77777")
    monkeypatch.setenv("PASSIVE_AWIN_TOKEN", "tok")
    settings = account_settings(implicit_account("awin"))
    assert (settings.publisher_id, settings.ledger_account()) == ("77777", "awin")
    assert settings.setting_name("token") == "PASSIVE_AWIN_TOKEN"


def test_secret_blocks_win_over_variables_and_the_file_over_the_networks_variables(
    tmp_path, monkeypatch
):
    accounts = load_accounts(write(tmp_path, ISSUE_EXAMPLE))
    monkeypatch.setenv("PASSIVE_IMPACT_PAGE_SIZE", "7")
    monkeypatch.setenv("PASSIVE_IMPACT_SHOP_AUTH_TOKEN", "from-env")
    shop = account_settings(accounts.named("impact-shop"), {"auth_token": "from-block"})
    assert shop.page_size == 500
    assert shop.auth_token.get_secret_value() == "from-block"
    main = account_settings(accounts.named("impact-main"))
    assert main.page_size == 7


def test_a_login_shares_its_secret_but_each_account_keeps_its_own_ids(tmp_path, monkeypatch):
    text = (
        '[accounts.awin-de]\nnetwork = "awin"\npublisher_id = "111"\nlogin = "awin-user"\n'
        '[accounts.awin-fr]\nnetwork = "awin"\npublisher_id = "222"\nlogin = "awin-user"\n'
    )
    accounts = load_accounts(write(tmp_path, text))
    monkeypatch.setenv("PASSIVE_AWIN_USER_TOKEN", "user-token")
    de, fr = (account_settings(a) for a in accounts.of("awin"))
    assert (de.publisher_id, fr.publisher_id) == ("111", "222")
    assert de.token.get_secret_value() == fr.token.get_secret_value() == "user-token"
    # One user, one quota: the two accounts' clients share a bucket (Awin: 20/minute a user).
    assert de.login_key() == fr.login_key()
    assert "user-token" not in de.login_key()
    assert accounts.named("awin-de").variable("token") == "PASSIVE_AWIN_USER_TOKEN"


def test_a_malformed_account_variable_is_named_with_its_source(tmp_path, monkeypatch):
    accounts = load_accounts(write(tmp_path, ISSUE_EXAMPLE))
    monkeypatch.setenv("PASSIVE_IMPACT_SHOP_BASE_URL", "ftp://x")
    account = accounts.named("impact-shop")
    with pytest.raises(ValidationError) as raised:
        account_settings(account)
    assert settings_problem(account, raised.value).startswith(
        "PASSIVE_IMPACT_SHOP_BASE_URL (from the environment): must be scheme and host only"
    )
