"""The API key never leaves the config: every text built from a response, every log record,
every activity-log and rejects line passes through ``scrub`` first.

Some servers and proxies echo the request (headers included) in an error body, so the key can
come back in text we did not write. ``remember_secret`` registers the run's key (the key checks
do it), and from then on ``scrub`` replaces it, and its URL- and JSON-encoded forms, with
``MARKER`` wherever it appears: in exception messages (``ActiveCampaignError``), in error
bodies kept on exceptions, in log records (``RedactingFilter``) and in the target's files.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from typing import Any
from urllib.parse import quote, quote_plus

MARKER = "[api key redacted]"
# A shorter "key" is no ActiveCampaign key (they are 72 characters); replacing every
# occurrence of two letters would garble every message instead of protecting anything.
MIN_SECRET_LENGTH = 4

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None


def _forms(secret: str) -> set[str]:
    """The spellings a key takes in echoed text: as is, URL-encoded, JSON-escaped."""
    forms = {secret, quote(secret, safe=""), quote_plus(secret, safe=""),
             json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
    return {form for form in forms if len(form) >= MIN_SECRET_LENGTH}


def _compile(secrets: set[str]) -> re.Pattern[str] | None:
    forms = sorted({form for secret in secrets for form in _forms(secret)}, key=len,
                   reverse=True)
    # IGNORECASE: percent-encoding may come back as %2f or %2F
    return re.compile("|".join(map(re.escape, forms)), re.IGNORECASE) if forms else None


def remember_secret(secret: Any) -> None:
    """Register a key to redact for the rest of the process, and redact log records."""
    global _pattern
    if not isinstance(secret, str) or len(secret) < MIN_SECRET_LENGTH:
        return
    with _lock:
        if secret not in _secrets:
            _secrets.add(secret)
            _pattern = _compile(_secrets)
    install_log_redaction()


def scrub(text: str, *secrets: Any) -> str:
    """``text`` with every registered key (and ``secrets``) replaced by ``MARKER``."""
    if not isinstance(text, str) or not text:
        return text
    extra = {s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET_LENGTH}
    pattern = _compile(_secrets | extra) if extra - _secrets else _pattern
    return pattern.sub(MARKER, text) if pattern is not None else text


def scrub_value(value: Any, *secrets: Any) -> Any:
    """A copy of a JSON-like value (dicts, lists, strings) with every key redacted."""
    if isinstance(value, str):
        return scrub(value, *secrets)
    if isinstance(value, dict):
        return {scrub_value(k, *secrets): scrub_value(v, *secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_value(item, *secrets) for item in value]
    return value


class RedactingFilter(logging.Filter):
    """Redacts the key from a record's formatted message and traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _pattern is None:
            return True
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a bad format string: leave it to the handler
            return True
        scrubbed = scrub(message)
        if scrubbed != message:  # untouched otherwise: the SDK's metric records keep their args
            record.msg, record.args = scrubbed, None
        if record.exc_info and not record.exc_text:
            trace = logging.Formatter().formatException(record.exc_info)
            if scrub(trace) != trace:  # printed from exc_text; exc_info would print it whole
                record.exc_text, record.exc_info = scrub(trace), None
        elif record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


_FILTER = RedactingFilter()
_installed = False


def install_log_redaction() -> None:
    """Redact every log record of the process: at creation (whatever handler comes to print
    it, a logging config loaded later included) and on the root logger's handlers (which
    also covers tracebacks, formatted only when printed)."""
    global _installed
    for handler in logging.getLogger().handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
    with _lock:
        if _installed:
            return
        _installed = True
        make_record = logging.getLogRecordFactory()

        def redacting_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = make_record(*args, **kwargs)
            _FILTER.filter(record)
            return record

        logging.setLogRecordFactory(redacting_record)
