"""Logging set-up, with the redaction declared once: logs carry ids, never people.

Code logs ids only. The formatter here is the safety net for what code does not
control (a library's message, an exception's text, a traceback): it redacts the WHOLE
formatted record, exception text included, on every handler we install, uvicorn's too
(`uvicorn_log_config`). SQL parameters never reach a traceback (the engines are built
with hide_parameters=True, reminders/db.py); what a database puts in its own error
text (PostgreSQL's "DETAIL: Failing row contains (...)") is cut here.

One event per line: text (the default) or JSON with REMINDERS_LOG_FORMAT=json. A
traceback stays on its event's line (newlines escaped in text, a field in JSON).
"""

from __future__ import annotations

import json
import logging
import logging.config
import os
import re
import sys
import threading
from datetime import datetime, timezone
from typing import Any

# A phone number: E.164 (+ and 8-15 digits, spaces or dashes allowed between groups) or
# a local form starting with 0 (0712 345 678, 0712-345-678, 0712345678). Not inside a
# word (SIDs such as SM0a1b... and hex ids), and not part of a date or a time
# (2026-12-01 06:05:00): a run touching ':' '.' or a digit-dash-digit date is left alone.
_PHONE = re.compile(
    r"(?<![\w+:.])(?:"
    r"\+\d(?:[ \-]?\d){6,14}"                      # +254712345678, +254 712 345 678
    r"|0\d{2,3}(?:[ \-]?\d{3}){2}\d?"              # 0712 345 678, 0712345678
    r"|(?:whatsapp:)\+?\d{7,15}"
    r")(?![\w:.])"
)
_LONG_DIGITS = re.compile(r"(?<![\w:.\-])\d{9,15}(?![\w:.\-])")  # 254712345678 without '+'
_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
# What databases and libraries echo of the data itself.
_DB_DETAIL = re.compile(r"(DETAIL:|Failing row contains|Key \([^)]*\)=)[^\n]*")
_SQL_PARAMETERS = re.compile(r"\[parameters: [^\n]*")  # only if an engine forgot hide_parameters
_INPUT_VALUE = re.compile(r"input_value=.*?, input_type=")  # pydantic's ValidationError text
_QUOTED_INPUT = re.compile(r'(invalid input (?:syntax|value) for [^:\n]*: )"[^\n]*')


def redact(text: str) -> str:
    """`text` with phone numbers, emails and echoed data replaced by placeholders."""
    text = _SQL_PARAMETERS.sub("[parameters: redacted]", text)
    text = _DB_DETAIL.sub(lambda m: m.group(1) + " [redacted]", text)
    text = _INPUT_VALUE.sub("input_value=[redacted], input_type=", text)
    text = _QUOTED_INPUT.sub(lambda m: m.group(1) + "[redacted]", text)
    text = _EMAIL.sub("[email]", text)
    text = _PHONE.sub("[phone]", text)
    return _LONG_DIGITS.sub("[phone]", text)


class RedactingFormatter(logging.Formatter):
    """Text, one event per line: time level logger message [| traceback], all redacted."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = redact(super().format(record))  # message, exception and stack together
        return text.replace("\r", "\\r").replace("\n", "\\n")


class JsonFormatter(logging.Formatter):
    """JSON, one object per line: at, level, logger, message, and exc when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "at": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        if record.exc_info:
            event["exc"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            event["exc"] = redact(record.exc_text)
        if record.stack_info:
            event["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(event, ensure_ascii=False)


def formatter() -> logging.Formatter:
    """The formatter REMINDERS_LOG_FORMAT asks for (`text` by default, or `json`)."""
    return JsonFormatter() if log_format() == "json" else RedactingFormatter()


def log_format() -> str:
    value = os.environ.get("REMINDERS_LOG_FORMAT", "text").strip().lower() or "text"
    if value not in ("text", "json"):
        raise ValueError("REMINDERS_LOG_FORMAT: must be text or json")
    return value


# Loggers that would say too much at INFO, or nothing useful.
_QUIET = {
    "twilio.http_client": "WARNING",  # logs request bodies (phone numbers, texts) at INFO
    "apscheduler": "WARNING",
    "alembic": "WARNING",
    "sqlalchemy": "WARNING",
}


def _dict_config(level: str) -> dict[str, Any]:
    handler = {"()": "reminders.logs._stderr_handler"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"redacted": handler},
        "root": {"handlers": ["redacted"], "level": level},
        "loggers": {
            # uvicorn installs handlers of its own unless told otherwise: give it ours.
            **{name: {"handlers": ["redacted"], "level": "INFO", "propagate": False}
               for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")},
            **{name: {"level": quiet} for name, quiet in _QUIET.items()},
        },
    }


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the time (a test runner may swap it)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def _stderr_handler() -> logging.Handler:
    handler = _StderrHandler()
    handler.setFormatter(formatter())
    return handler


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn.run(log_config=...): uvicorn's loggers through the same redacting handler."""
    return _dict_config(logging.getLevelName(logging.getLogger().level or logging.INFO))


def configure(level: int = logging.INFO) -> None:
    """Route every log record of this process through one redacting handler on stderr.

    Also the records that bypass logging otherwise: warnings, and exceptions that end a
    thread or the process (their default printer writes raw tracebacks to stderr).
    """
    log_format()  # a bad REMINDERS_LOG_FORMAT fails here, in one line, not inside dictConfig
    logging.config.dictConfig(_dict_config(logging.getLevelName(level)))
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught
    threading.excepthook = lambda args: _log_uncaught(args.exc_type, args.exc_value, args.exc_traceback)


def _log_uncaught(exc_type: Any, exc: Any, tb: Any) -> None:
    if exc_type is not None and issubclass(exc_type, KeyboardInterrupt):
        return
    logging.getLogger("reminders").error("uncaught exception", exc_info=(exc_type, exc, tb))
