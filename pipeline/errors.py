"""The exceptions banwatch raises, in one hierarchy a caller can catch.

``BanwatchError`` is the root; the CLI maps ``ConfigError`` and ``UsageError`` to
exit code 2 and every other ``BanwatchError`` to exit code 1.
"""

from __future__ import annotations

from pathlib import Path


class BanwatchError(Exception):
    """Base class of every error banwatch reports to its user."""


class ConfigError(BanwatchError):
    """An invalid configuration; the message names the file, the table or source, and the field."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        where: str | None = None,
        field: str | None = None,
        line: int | None = None,
    ) -> None:
        self.path = str(path) if path is not None else None
        self.where = where
        self.field = field
        self.line = line
        self.detail = message
        super().__init__(self._render())

    def _render(self) -> str:
        parts: list[str] = []
        head = self.path or ""
        if self.line is not None:
            head = f"{head}:{self.line}" if head else f"line {self.line}"
        if head:
            parts.append(head)
        if self.where:
            parts.append(self.where)
        if self.field:
            parts.append(self.field)
        parts.append(self.detail)
        return ": ".join(parts)

    def with_path(self, path: str | Path) -> ConfigError:
        """The same error, now naming the file it came from."""
        return ConfigError(self.detail, path=path, where=self.where, field=self.field, line=self.line)


class UsageError(BanwatchError):
    """A command was called with arguments that cannot work."""


class DatabaseUnavailable(BanwatchError):
    """The database could not be reached; the message names the host, never the password."""


class NotBuiltYet(BanwatchError):
    """A command whose pipeline stage does not exist yet."""
