"""Structured JSON logs: one line per event.

Callers pass structured fields; message bodies, full phone numbers and secrets
never go in at info level (use ``mask_phone`` for numbers).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Any

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", "color_message"}


# Secrets that can sit in a URL or a header a library logs: query values named
# like a credential, bearer tokens, and the hub's own agent tokens and tickets.
_SECRETS = re.compile(
    r"(?P<query>[?&](?:token|ticket|key|api_key|access_token|password|secret)=)[^&\s\"']*"
    r"|(?P<bearer>[Bb]earer\s+)[^\s\"',]+"
    r"|\b(?P<own>at|wt)_[A-Za-z0-9_-]{16,}"
)


def redact(text: str) -> str:
    return _SECRETS.sub(lambda m: (m.group("query") or m.group("bearer") or f"{m.group('own')}_") + "[redacted]", text)


class RedactSecrets(logging.Filter):
    """On the handler, so it sees every logger's records (uvicorn's
    ``WebSocket /v1/agent/ws?token=…`` line included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        for key, value in list(record.__dict__.items()):
            if isinstance(value, str) and key not in _RESERVED and not key.startswith("_"):
                record.__dict__[key] = redact(value)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's access log would print full URLs with query strings (tokens).
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # The twilio library logs request parameters (numbers, bodies) at info.
    logging.getLogger("twilio").setLevel(logging.WARNING)


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(name)
