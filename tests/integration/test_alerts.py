"""`passive alerts add --email`: the `passive-email` notification block, real SMTP on loopback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from flows.alerts import AlertError, EmailTarget
from tests.smtp_receiver import smtp_receiver


def test_an_email_alert_reaches_the_mail_server_with_subject_and_body():
    with smtp_receiver() as (port, received):
        block = EmailTarget(to=("me@example.com", "ops@example.com"), smtp_port=port,
                            smtp_host="127.0.0.1").block()  # fmt: skip
        block.send("ingest amazon demo-us ended Failed: boom\nhttp://ui/runs/1", "passive: failed")
    (message,) = received
    assert message["To"] == "me@example.com, ops@example.com"
    assert message["From"] == "me@example.com"  # alerts to oneself: the first recipient
    assert message["Subject"] == "passive: failed"
    assert "ended Failed: boom" in message.get_content()


def test_a_notification_sent_the_way_an_automation_sends_it_arrives():
    import asyncio

    with smtp_receiver() as (port, received):
        block = EmailTarget(to=("me@example.com",), smtp_host="127.0.0.1", smtp_port=port,
                            sender="passive@example.com").block()  # fmt: skip
        asyncio.run(block.notify("a run needs a look", subject="passive: Crashed"))
    assert [(m["From"], m["Subject"]) for m in received] == [
        ("passive@example.com", "passive: Crashed")
    ]


def test_an_unreachable_mail_server_raises_so_the_automation_reports_it():
    with smtp_receiver() as (port, _):
        pass  # closed again: nothing listens on the port now
    block = EmailTarget(to=("me@example.com",), smtp_host="127.0.0.1", smtp_port=port).block()
    with pytest.raises(OSError):
        block.send("body", "subject")


def test_an_email_option_that_is_no_address_is_refused():
    with pytest.raises(AlertError, match=r"--email me\.example\.com: not an email address"):
        EmailTarget(to=("me.example.com",)).block()


def test_a_prefect_process_that_never_imported_passive_finds_the_email_block():
    # The server runs an automation's notification in its own process: it must find the block
    # class from its type slug alone (the `prefect.collections` entry point).
    code = (
        "import sys; from prefect.blocks.core import Block; "
        "assert 'flows' not in sys.modules; "
        "print(Block.get_block_class_from_key('passive-email').__name__)"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "EmailAlert"


def test_alerts_add_email_saves_the_block_and_remove_deletes_it(prefect_harness):
    from flows.alerts import add_alert, list_alerts, remove_alert
    from flows.email_alert import EmailAlert

    target = EmailTarget(
        to=("me@example.com",), smtp_host="mail.local", smtp_port=587, username="me", password="pw"
    )
    alert = add_alert("mail", email=target)
    assert alert.target == "passive-email/passive-alert-mail"
    assert ("mail", "passive-email/passive-alert-mail", True) in [
        (a.name, a.target, a.enabled) for a in list_alerts()
    ]
    saved = EmailAlert.load("passive-alert-mail")
    assert (saved.to, saved.smtp_host, saved.smtp_port, saved.username) == (
        ["me@example.com"], "mail.local", 587, "me",
    )  # fmt: skip
    assert saved.password is not None and saved.password.get_secret_value() == "pw"
    remove_alert("mail")
    assert "mail" not in [a.name for a in list_alerts()]
    with pytest.raises(ValueError, match="Unable to find block document"):
        EmailAlert.load("passive-alert-mail")
