"""A mail server on loopback for tests: speaks enough SMTP to accept and keep each message."""

from __future__ import annotations

import contextlib
import socketserver
import threading
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import cast


class _Session(socketserver.StreamRequestHandler):
    """One SMTP conversation (RFC 5321's plain commands; no TLS, no login)."""

    server: _Receiver

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 localhost test mail server")
        data: list[bytes] | None = None
        while line := self.rfile.readline():
            if data is not None:
                if line.rstrip(b"\r\n") == b".":
                    message = message_from_bytes(b"".join(data), policy=policy.default)
                    self.server.messages.append(cast(EmailMessage, message))
                    data = None
                    self.reply("250 OK: queued")
                else:  # a leading dot is doubled on the wire (RFC 5321, 4.5.2)
                    data.append(line[1:] if line.startswith(b"..") else line)
                continue
            verb = line[:4].upper()
            if verb == b"EHLO":
                self.wfile.write(b"250-localhost\r\n250 8BITMIME\r\n")
            elif verb in (b"HELO", b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                self.reply("250 OK")
            elif verb == b"DATA":
                data = []
                self.reply("354 end with <CRLF>.<CRLF>")
            elif verb == b"QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not implemented")


class _Receiver(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Session)
        self.messages: list[EmailMessage] = []


@contextlib.contextmanager
def smtp_receiver() -> Iterator[tuple[int, list[EmailMessage]]]:
    """A mail server on a free loopback port: (port, the messages it received so far)."""
    receiver = _Receiver()
    thread = threading.Thread(target=receiver.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver.server_address[1], receiver.messages
    finally:
        receiver.shutdown()
        receiver.server_close()
