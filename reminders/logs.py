"""Logging set-up, with the redaction declared once: logs carry ids, never people.

Code logs ids only; this filter is the safety net that masks anything shaped like a
phone number that slips into a log line (a library's message, an exception text).
"""

from __future__ import annotations

import logging
import re

_PHONE = re.compile(r"\+?\d[\d \-]{7,}\d")


class RedactPhones(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _PHONE.sub("[phone]", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def configure(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(RedactPhones())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)  # logs request bodies at INFO
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
