"""Optional e-mail of the digest over SMTP; settings and credentials come from the environment.

Variables: BANWATCH_SMTP_HOST (enables mail), BANWATCH_SMTP_PORT (587 with STARTTLS, 465 with
implicit TLS, else 25), BANWATCH_SMTP_STARTTLS (default true), BANWATCH_SMTP_SSL (implicit TLS),
BANWATCH_SMTP_USER / BANWATCH_SMTP_PASSWORD, BANWATCH_SMTP_CAFILE (a private CA),
BANWATCH_SMTP_TIMEOUT (seconds), BANWATCH_MAIL_FROM, BANWATCH_MAIL_TO (comma-separated).
Credentials are never sent over an unencrypted connection.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from pipeline.errors import BanwatchError

log = logging.getLogger(__name__)
_TRUE = {"1", "true", "yes", "on"}


class MailError(BanwatchError):
    """The digest could not be sent; the message says why (never the password)."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    starttls: bool = True
    ssl: bool = False
    user: str | None = None
    password: str | None = None
    cafile: str | None = None
    timeout: float = 30.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SmtpSettings | None:
        """None when BANWATCH_SMTP_HOST is unset (mail is off)."""
        host = (env.get("BANWATCH_SMTP_HOST") or "").strip()
        if not host:
            return None
        use_ssl = env.get("BANWATCH_SMTP_SSL", "").lower() in _TRUE
        starttls = not use_ssl and env.get("BANWATCH_SMTP_STARTTLS", "true").lower() in _TRUE
        default_port = 465 if use_ssl else 587 if starttls else 25
        try:
            port = int(env.get("BANWATCH_SMTP_PORT") or default_port)
            timeout = float(env.get("BANWATCH_SMTP_TIMEOUT") or 30)
        except ValueError as exc:
            raise MailError(f"BANWATCH_SMTP_PORT/TIMEOUT: {exc}") from None
        to = tuple(a.strip() for a in (env.get("BANWATCH_MAIL_TO") or "").split(",") if a.strip())
        sender = (env.get("BANWATCH_MAIL_FROM") or "").strip()
        if not to or not sender:
            raise MailError("BANWATCH_SMTP_HOST is set but BANWATCH_MAIL_FROM or BANWATCH_MAIL_TO is missing")
        return cls(host=host, port=port, sender=sender, recipients=to, starttls=starttls, ssl=use_ssl,
                   user=env.get("BANWATCH_SMTP_USER") or None, password=env.get("BANWATCH_SMTP_PASSWORD") or None,
                   cafile=env.get("BANWATCH_SMTP_CAFILE") or None, timeout=timeout)


def build_message(settings: SmtpSettings, subject: str, text: str, html: str) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = settings.sender
    msg["To"] = ", ".join(settings.recipients)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="banwatch")
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


def send_mail(settings: SmtpSettings, subject: str, text: str, html: str) -> None:
    """Send one multipart (Markdown text + HTML) message; raises MailError on any failure."""
    msg = build_message(settings, subject, text, html)
    context = ssl.create_default_context(cafile=settings.cafile)
    try:
        if settings.ssl:
            client: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout,
                                                    context=context)
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with client:
            client.ehlo()
            if settings.starttls:
                if not client.has_extn("starttls"):
                    raise MailError(f"{settings.host}:{settings.port} does not offer STARTTLS "
                                    "(set BANWATCH_SMTP_STARTTLS=false only for a trusted local relay)")
                client.starttls(context=context)
                client.ehlo()
            if settings.user:
                if not (settings.ssl or settings.starttls):
                    raise MailError("refusing to send SMTP credentials over an unencrypted connection")
                client.login(settings.user, settings.password or "")
            client.send_message(msg)
    except MailError:
        raise
    except (smtplib.SMTPException, OSError) as exc:
        reason = str(exc)
        if settings.password:
            reason = reason.replace(settings.password, "***")
        raise MailError(f"sending the digest via {settings.host}:{settings.port} failed: "
                        f"{type(exc).__name__}: {reason}") from None
    log.info("digest mailed", extra={"smtp": f"{settings.host}:{settings.port}",
                                     "recipients": len(settings.recipients)})
