"""Logging for `shima serve` and `shima worker`: plain text or one JSON object per line
(SHIMA_LOG_FORMAT=json), and never personal data in either.

Our own log calls carry ids and types only. This module is the backstop for what other code
writes, whatever the level:
- LINE user ids (U + 32 hex) are masked in every line, tracebacks included;
- PostgreSQL's `DETAIL:` lines are masked (a unique violation prints the key's value, e.g. a
  user id or an e-mail address);
- uvicorn's access log loses query strings (/admin/residents?q=<a resident's name>);
- the database drivers' debug echo (every SQL statement with its parameters: message texts,
  names, search terms) is dropped.
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
from datetime import UTC, datetime
from typing import Any

USER_ID = re.compile(r"U[0-9a-fA-F]{32}")
USER_ID_MASK = "U[redacted]"
_PG_DETAIL = re.compile(r"^(DETAIL:\s*).*$", re.MULTILINE)
# Loggers that echo SQL with its parameters at DEBUG.
_SQL_ECHO = ("tortoise.db_client", "aiosqlite", "asyncpg")


def redact(text: str) -> str:
    """`text` with the patterns that are personal data wherever they appear masked."""
    text = USER_ID.sub(USER_ID_MASK, text)
    return _PG_DETAIL.sub(r"\1[redacted]", text)


class PersonalDataFilter(logging.Filter):
    """On the handler: drops SQL echo, strips query strings from access-log lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING and record.name.startswith(_SQL_ECHO):
            return False
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            # uvicorn: '%s - "%s %s HTTP/%s" %d' (client, method, path?query, version, status)
            args = list(record.args)
            if len(args) >= 3 and isinstance(args[2], str):
                args[2] = args[2].split("?", 1)[0]
                record.args = tuple(args)
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, and exc
    (the traceback) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exc"] = redact(record.exc_text)
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False)


def config(log_format: str = "text", level: str = "INFO") -> dict[str, Any]:
    """A `logging.config.dictConfig` dict: everything (ours, uvicorn's error and access
    logs, libraries') goes to one stderr handler with the filter and the formatter. Also
    passed to uvicorn as its `log_config`."""
    formatter = JsonFormatter if log_format == "json" else TextFormatter
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"personal_data": {"()": PersonalDataFilter}},
        "formatters": {"default": {"()": formatter}},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "default",
                "filters": ["personal_data"],
            }
        },
        "root": {"handlers": ["default"], "level": level},
        "loggers": {
            # uvicorn's own config gives these their own handlers; here they go to root.
            name: {"handlers": [], "propagate": True}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }


def configure(log_format: str = "text", level: str = "INFO") -> None:
    logging.config.dictConfig(config(log_format, level))
