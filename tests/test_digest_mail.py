"""The digest e-mail, sent to a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import email
import shutil
import socket
import ssl
import subprocess
from datetime import UTC, datetime
from email import policy
from pathlib import Path

import pytest

from pipeline.config import Config, Settings
from pipeline.digest import MailError, SmtpSettings, generate_digest
from pipeline.store import make_engine, session_factory
from tests.digest_data import DAY, TZ, populate

aiosmtpd = pytest.importorskip("aiosmtpd", reason="aiosmtpd is in the test extra")
from aiosmtpd.controller import Controller  # noqa: E402
from aiosmtpd.smtp import AuthResult, LoginPassword  # noqa: E402

NOW = datetime(2026, 11, 21, 6, 0, tzinfo=UTC)


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook name
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content
                              or envelope.content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def data(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    from pipeline.store import upgrade

    upgrade(engine)
    sessions = session_factory(engine)
    with sessions() as s, s.begin():
        populate(s)
    settings = Settings(timezone=TZ, output_dir=str(tmp_path / "out"))
    yield Config(path=tmp_path / "sources.toml", settings=settings), sessions
    engine.dispose()


def _env(port: int, **extra: str) -> dict[str, str]:
    return {"BANWATCH_SMTP_HOST": "127.0.0.1", "BANWATCH_SMTP_PORT": str(port), "BANWATCH_MAIL_FROM":
            "banwatch@example.org", "BANWATCH_MAIL_TO": "analyst@example.org, team@example.org", **extra}


def test_digest_mailed_to_a_plain_local_relay(data):
    config, sessions = data
    inbox, port = Inbox(), _free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        out = generate_digest(config, sessions, DAY, env=_env(port, BANWATCH_SMTP_STARTTLS="false"), now=NOW)
    finally:
        ctl.stop()
    assert out.created and out.mailed
    assert len(inbox.messages) == 1
    sender, rcpts, raw = inbox.messages[0]
    assert sender == "banwatch@example.org" and rcpts == ["analyst@example.org", "team@example.org"]
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert msg["Subject"] == "banwatch digest — 2026-11-20"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "FCC sets deadline for Huawei removal" in text and "FCC sets deadline for Huawei removal" in html


def test_a_second_node_does_not_mail_again(data):
    config, sessions = data
    inbox, port = Inbox(), _free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        env = _env(port, BANWATCH_SMTP_STARTTLS="false")
        first = generate_digest(config, sessions, DAY, env=env, now=NOW)
        second = generate_digest(config, sessions, DAY, env=env, now=NOW)
    finally:
        ctl.stop()
    assert first.mailed and not second.created and not second.mailed
    assert len(inbox.messages) == 1


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate")
def test_starttls_with_credentials(data, tmp_path: Path):
    config, sessions = data
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1"], check=True, capture_output=True)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    logins: list[tuple[bytes, bytes]] = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret", handled=False)

    inbox, port = Inbox(), _free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=tls, require_starttls=True,
                     authenticator=authenticator, auth_required=True, auth_require_tls=True)
    ctl.start()
    try:
        env = _env(port, BANWATCH_SMTP_USER="digest", BANWATCH_SMTP_PASSWORD="s3cret",
                   BANWATCH_SMTP_CAFILE=str(cert))
        out = generate_digest(config, sessions, DAY, env=env, now=NOW)
        assert out.mailed and len(inbox.messages) == 1 and logins[0] == (b"digest", b"s3cret")
        bad = SmtpSettings.from_env(_env(port, BANWATCH_SMTP_USER="digest", BANWATCH_SMTP_PASSWORD="wrong",
                                         BANWATCH_SMTP_CAFILE=str(cert)))
        from pipeline.digest import send_mail

        with pytest.raises(MailError) as exc:
            send_mail(bad, "s", "t", "<p>h</p>")
        assert "wrong" not in str(exc.value)
        untrusted = SmtpSettings.from_env(_env(port, BANWATCH_SMTP_USER="digest", BANWATCH_SMTP_PASSWORD="s3cret"))
        with pytest.raises(MailError, match="CERTIFICATE_VERIFY_FAILED|certificate"):
            send_mail(untrusted, "s", "t", "<p>h</p>")
    finally:
        ctl.stop()
    assert len(inbox.messages) == 1


def test_mail_settings_from_env():
    assert SmtpSettings.from_env({}) is None
    s = SmtpSettings.from_env({"BANWATCH_SMTP_HOST": "mx", "BANWATCH_MAIL_FROM": "a@b", "BANWATCH_MAIL_TO": "c@d"})
    assert s is not None and (s.port, s.starttls, s.ssl) == (587, True, False)
    s = SmtpSettings.from_env({"BANWATCH_SMTP_HOST": "mx", "BANWATCH_SMTP_SSL": "1", "BANWATCH_MAIL_FROM": "a@b",
                               "BANWATCH_MAIL_TO": "c@d"})
    assert s is not None and (s.port, s.starttls, s.ssl) == (465, False, True)
    with pytest.raises(MailError, match="BANWATCH_MAIL_TO"):
        SmtpSettings.from_env({"BANWATCH_SMTP_HOST": "mx", "BANWATCH_MAIL_FROM": "a@b"})


def test_no_plaintext_credentials():
    from pipeline.digest import send_mail

    inbox, port = Inbox(), _free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        settings = SmtpSettings.from_env(_env(port, BANWATCH_SMTP_USER="u", BANWATCH_SMTP_PASSWORD="p"))
        with pytest.raises(MailError, match="STARTTLS"):
            send_mail(settings, "s", "t", "<p>h</p>")
    finally:
        ctl.stop()
    assert inbox.messages == []
