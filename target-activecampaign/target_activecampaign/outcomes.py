"""Outcomes, recorded in one place: the activity log line, the rejects file entry, and the
run's count of temporary failures (STATE must not move while there are any)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from activecampaign_client import (
    AuthenticationError,
    FatalAPIError,
    RetriableAPIError,
    normalize_email,
)
from activecampaign_client.errors import PermissionDeniedError, api_error_text, error_codes
from target_activecampaign.activity import MESSAGES, ActivityLog, RejectsFile
from target_activecampaign.rules import Plan

MAX_CONSECUTIVE_TRANSIENT_FAILURES = 3
WRITTEN = ("created", "updated")
# plan.action of a plan that writes nothing → its outcome
_NOT_WRITTEN = {"reject": "rejected", "skip": "skipped", "unchanged": "unchanged"}


class PushAborted(RuntimeError):
    """The run cannot go on (ActiveCampaign unreachable, bulk import stuck); no STATE moves."""


def written(plan: Plan) -> tuple[str, str]:
    """(outcome, message) of a plan whose write went through."""
    outcome = "created" if plan.action == "create" else "updated"
    return outcome, MESSAGES[outcome]


def refusable(plan: Plan, what: str, write: Callable[..., Any], *args: Any) -> bool:
    """Run one follow-up write of a record already written. A 4xx that retrying cannot fix
    (a permission 403, a 422, a 404) is a warning for this record, not a failure of the run;
    a rejected key still stops it. False when refused."""
    try:
        write(*args)
        return True
    except AuthenticationError:
        raise
    except FatalAPIError as exc:
        reason = exc.reason if isinstance(exc, PermissionDeniedError) else \
            api_error_text(exc.body)
        note = " (ActiveCampaign allows one account per contact)" if \
            what.startswith("Not linked") and exc.status == 422 else ""
        text = f"{what}: ActiveCampaign refused it (HTTP {exc.status}: {reason}){note}; " \
            "not retried."
        plan.warnings.append(text)
        plan.refusals.append(text)
        return False


class Outcomes:
    """The activity log and the rejects file of one run, and what failed how."""

    def __init__(self, config: Mapping[str, Any], logger: logging.Logger, *,
                 dry_run: bool) -> None:
        self.logger = logger
        self.activity = ActivityLog(config.get("activity_log_path"), dry_run=dry_run)
        self.rejects = RejectsFile(config.get("rejects_path"))
        self._transient_failures = 0
        self.temporary_failures = 0  # records failed on retriable errors: STATE must not move

    def finish(self, plan: Plan, outcome: str, message: str,
               x_sync: dict[str, Any] | None) -> None:
        """One record's outcome: its warnings, its log line, and a reject when not written
        (or written with a refusal: replayable once the cause is fixed)."""
        event = plan.event
        for warning in plan.warnings:
            self.activity.warn(plan.object_name, plan.key, warning, event)
        if plan.refusals and outcome in WRITTEN:
            self.rejects.write(plan.stream, plan.record, " ".join(plan.refusals), "refused",
                               x_sync)
        changes = plan.change_dict() if outcome in WRITTEN else None
        self.activity.record(outcome, plan.object_name, plan.key, message, changes=changes,
                             event=event)
        if outcome in ("rejected", "failed"):
            self.rejects.write(plan.stream, plan.record, message, outcome, x_sync)

    def settle(self, plan: Plan, x_sync: dict[str, Any] | None) -> bool:
        """Record a plan that writes nothing (reject, skip, unchanged); False for a write."""
        outcome = _NOT_WRITTEN.get(plan.action)
        if outcome is None:
            return False
        message = {"rejected": f"Error: {plan.message}", "skipped": plan.message}.get(
            outcome, MESSAGES["unchanged"])
        self.finish(plan, outcome, message, x_sync)
        return True

    def dry_run(self, plan: Plan, x_sync: dict[str, Any] | None) -> None:
        verb = "create new record" if plan.action == "create" else "update record"
        self.finish(plan, written(plan)[0], f"Dry run: would {verb}", x_sync)

    def skipped_beyond(self, stream: str, object_name: str, record: dict[str, Any], key: str,
                       max_records: Any, x_sync: dict[str, Any] | None) -> None:
        msg = (f"Not pushed: beyond max_records={max_records} (test sync limit); "
               "replay it from the rejects file.")
        self.activity.record("skipped", object_name, key, msg, event=record.get("event"))
        self.rejects.write(stream, record, msg, "skipped", x_sync)

    def reject_input(self, stream: str, object_name: str | None, key_field: str | None,
                     record: Any, line: int, message: str,
                     x_sync: dict[str, Any] | None) -> None:
        """A record refused before any lookup (shape or order of the input), named by its key
        when it has one, else by its input line. ``object_name`` None: a stream not pushed."""
        raw_key = record.get(key_field) if isinstance(record, dict) and key_field else None
        key = (normalize_email(raw_key) if key_field == "email" else None) or \
            (str(raw_key).strip() if isinstance(raw_key, str) and raw_key.strip() else "")
        key = f"{key} (input line {line})" if key else f"input line {line}"
        obj = object_name or stream
        event = record.get("event") if isinstance(record, dict) else None
        self.logger.warning("Rejected %s %s: %s", obj, key, message)
        self.activity.record("rejected", obj, key, f"Error: {message}",
                             event=event if isinstance(event, str) else None)
        if object_name is not None:
            self.rejects.write(stream, record, message, "rejected", x_sync, line=line)

    def reject_unreadable(self, line: int, message: str, raw: str) -> None:
        """An input line that is not a Singer message: logged, raw text kept for inspection."""
        self.activity.record("rejected", "input", f"input line {line}", f"Error: {message}")
        self.rejects.write_unreadable(line, message, raw)

    def failure_message(self, exc: Exception) -> str:
        """The API's own text for a record that finally failed; aborts on systemic trouble."""
        if isinstance(exc, AuthenticationError):
            raise exc
        if isinstance(exc, RetriableAPIError):
            self._transient_failures += 1
            self.temporary_failures += 1
            if self._transient_failures >= MAX_CONSECUTIVE_TRANSIENT_FAILURES:
                raise PushAborted(
                    f"{MAX_CONSECUTIVE_TRANSIENT_FAILURES} records in a row failed after "
                    f"retries; stopping so that no STATE moves on. Last error: {exc}") from exc
            return str(exc)
        if isinstance(exc, FatalAPIError):
            if "duplicate" in error_codes(exc.body):
                return f"{MESSAGES['duplicate']} ({api_error_text(exc.body)})"
            return str(exc)
        raise exc

    def try_write(self, write: Callable[[], Any]) -> tuple[str | None, Any]:
        """(None, what ``write`` returned), or (the failure message, None) on an API error."""
        try:
            result = write()
        except (FatalAPIError, RetriableAPIError) as exc:
            return self.failure_message(exc), None
        self.ok()
        return None, result

    def attempt(self, plan: Plan, write: Callable[[], Any],
                x_sync: dict[str, Any] | None) -> tuple[bool, Any]:
        """(True, what ``write`` returned), or (False, None) with the plan recorded as failed
        on an API error."""
        failure, result = self.try_write(write)
        if failure is not None:
            self.finish(plan, "failed", failure, x_sync)
        return failure is None, result

    def ok(self) -> None:
        self._transient_failures = 0

    def close(self) -> None:
        self.activity.file.close()
        self.rejects.file.close()
