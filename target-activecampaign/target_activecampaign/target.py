"""target-activecampaign: push contacts and accounts into ActiveCampaign."""

from __future__ import annotations

import functools
import sys
import typing as t

from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError, RecordsWithoutSchemaException
from singer_sdk.singerlib.exceptions import InvalidInputLine
from singer_sdk.target_base import Target
from typing_extensions import override

from activecampaign_client import check_api_key, normalize_api_url
from activecampaign_client.errors import ActiveCampaignError, ConfigError
from activecampaign_client.jsonl import BadRecord
from activecampaign_client.sync_rules import CREATE, FILL, UPDATE, WRITE_MODES
from target_activecampaign.context import RunContext
from target_activecampaign.input import LineReader
from target_activecampaign.outcomes import PushAborted
from target_activecampaign.registry import SINKS
from target_activecampaign.rules import SyncRulesError, sync_rules
from target_activecampaign.sinks import IgnoredStreamSink, PushSink

if t.TYPE_CHECKING:
    from singer_sdk.sinks import Sink

_OPS = th.ObjectType(
    th.Property(CREATE, th.BooleanType, description="Create records missing in AC."),
    th.Property(UPDATE, th.BooleanType, description="Update records that exist in AC."),
)


class TargetActiveCampaign(Target):
    """Singer target for ActiveCampaign (contacts by email, accounts by website domain)."""

    name = "target-activecampaign"
    default_sink_class = SINKS["contacts"]
    pushed_streams = tuple(SINKS)
    message_reader_class = LineReader

    config_jsonschema = th.PropertiesList(
        th.Property("api_url", th.StringType, required=True, title="API URL",
                    description="Account URL from ActiveCampaign Settings -> Developer, e.g. "
                                "https://yourcompany.api-us1.com (with or without /api/3)."),
        th.Property("api_key", th.StringType, required=True, secret=True, title="API key",
                    description="API key from Settings -> Developer -> API Access."),
        th.Property("allow_private_network", th.BooleanType, default=False,
                    title="Allow a private network API URL",
                    description="Allow an api_url host on a private network (10.0.0.0/8, "
                                "172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10, fc00::/7), e.g. "
                                "your own gateway to ActiveCampaign. Off by default: "
                                "ActiveCampaign is on the public internet. Link-local and cloud "
                                "metadata addresses stay refused either way."),
        th.Property("default_mode", th.StringType, default=FILL, title="Default sync mode",
                    allowed_values=list(WRITE_MODES),
                    description="Mode of a field not named in x-sync or `modes`: `fill` writes "
                                "only where ActiveCampaign's value is empty, `overwrite` always "
                                "writes a changed value."),
        # the enum documents the values; _validate_config names a bad field first
        th.Property("modes", th.ObjectType(
            additional_properties=th.StringType(allowed_values=list(WRITE_MODES))),
                    title="Field modes",
                    description="Field -> `fill`/`overwrite` (record field names, or "
                                "`fields.<title>`), used when the SCHEMA has no x-sync mode."),
        th.Property("clear_on_null", th.ArrayType(th.StringType), title="Clear on null",
                    description="Fields whose null value erases the ActiveCampaign value "
                                "(by default a null never erases)."),
        th.Property("operations", th.ObjectType(
            *(th.Property(stream, _OPS) for stream in SINKS)),
            title="Operations",
            description="Per object, whether to create and/or update, e.g. "
                        '{"contacts": {"create": false, "update": true}}. Both default to '
                        "true; a SCHEMA's x-sync operations take precedence."),
        th.Property("default_list", th.StringType, title="Default list",
                    description="List (name or id) a contact is subscribed to when its record "
                                "has no `lists` (null or absent)."),
        th.Property("sync_tag", th.StringType, title="Sync tag",
                    description="Tag added to every contact the push creates or updates, e.g. "
                                "`abmatic-synced` (created when missing)."),
        th.Property("activity_log_path", th.StringType,
                    default="activecampaign-activity.jsonl", title="Activity log file",
                    description="JSON-lines activity log: one line per record (timestamp, "
                                "type, object, key, message, changes) and a run summary."),
        th.Property("rejects_path", th.StringType, default="activecampaign-rejects.jsonl",
                    title="Rejects file",
                    description="JSON lines of records not written (original record + "
                                "reason); replay with `python -m target_activecampaign.replay`."),
        th.Property("default_currency", th.StringType, default="USD", title="Default currency",
                    description="Currency of a currency custom field value that does not name "
                                'one (a plain amount; {"amount": 12.5, "currency": "EUR"} '
                                "names it). Amounts are in major units; AC stores cents."),
        th.Property("dry_run", th.BooleanType, default=False, title="Dry run",
                    description="Read ActiveCampaign and log what would be created or updated, "
                                "field by field, without writing anything."),
        th.Property("max_records", th.IntegerType, title="Max records",
                    description="Push at most this many records (a test sync); the rest are "
                                "logged as skipped and written to the rejects file."),
        th.Property("bulk_threshold", th.IntegerType, default=10, title="Bulk threshold",
                    description="Contacts to write in one batch from which the bulk importer "
                                "(<= 250 per request) is used instead of contact/sync."),
        th.Property("read_strategy", th.StringType, default="auto", title="Read strategy",
                    allowed_values=["auto", "scan", "lookup"],
                    description="How current contact values are read: `scan` pages through "
                                "all contacts once per run, `lookup` asks per email, `auto` "
                                "picks the cheaper in requests."),
        th.Property("requests_per_second", th.NumberType, default=5, title="Requests per second",
                    description="Client-side pace (ActiveCampaign allows 5/s per account, "
                                "shared by every integration)."),
        th.Property("bulk_requests_per_minute", th.NumberType, default=100,
                    title="Bulk imports per minute",
                    description="Pace of multi-contact bulk import requests (AC limit 100/min)."),
        th.Property("request_timeout", th.NumberType, default=60, title="Request timeout",
                    description="Seconds before a request times out (then it is retried)."),
        th.Property("max_retries", th.IntegerType, default=6, title="Max retries",
                    description="Retries of a request on 429, 5xx, timeouts and dropped "
                                "connections."),
        th.Property("bulk_import_timeout", th.NumberType, default=900,
                    title="Bulk import timeout",
                    description="Seconds to wait for queued bulk imports to complete; then "
                                "the contacts still queued are read back and only those not "
                                "yet written are resent with contact/sync (a warning, not "
                                "an error)."),
        th.Property("bulk_poll_interval", th.NumberType, default=1.0,
                    title="Bulk import poll interval",
                    description="First wait in seconds between /import/info polls (grows "
                                "x1.5 to 30; only the oldest queued batch is asked)."),
        th.Property("user_agent", th.StringType, title="User agent",
                    description="User-Agent header sent to ActiveCampaign."),
    ).to_dict()

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        # Accounts drain before contacts (contacts link to them) and a failing drain stops
        # the run before STATE is written: drain one sink at a time.
        self.max_parallelism = 1
        self._run: RunContext | None = None
        # Unreadable lines and records without a schema: reported, and the run fails at the end.
        self.input_problems: list[str] = []
        self._records_without_schema = 0
        self.reader.on_bad_line = self._bad_line
        self.reader.on_bad_record = self._bad_record

    @property
    def reader(self) -> LineReader:
        return t.cast("LineReader", self.message_reader)

    # singer-sdk 0.54.9 has no public hook for these three steps: config checks beyond the
    # schema (_validate_config), a RECORD before its SCHEMA kept instead of fatal
    # (_process_record_message), and STATE held back after a failure (_write_state_message).
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """The SDK's schema checks, then the URL and key checks, before any request."""
        errors = super()._validate_config(raise_errors=False)
        if isinstance(self.config.get("modes") or {}, dict):
            try:  # the schema's enum names only the value; this names the field too
                sync_rules("", {}, self.config)
            except SyncRulesError as exc:
                errors.append(str(exc))
        if not errors:
            allow_private = bool(self.config.get("allow_private_network"))
            # the key first: once checked, it is redacted from every message (the URL's too)
            for check, key in ((check_api_key, "api_key"), (functools.partial(
                    normalize_api_url, allow_private_network=allow_private), "api_url")):
                try:
                    check(str(self.config.get(key) or ""))
                except ConfigError as exc:
                    errors.append(str(exc))
        if errors and raise_errors:
            raise ConfigValidationError("Config validation failed", errors=errors)
        return errors

    @classmethod
    @override
    def invoke(cls, *args: t.Any, **kwargs: t.Any) -> None:
        """Known failures end with their one-line message (no traceback) and exit code 1."""
        try:
            super().invoke(*args, **kwargs)
        except (ActiveCampaignError, PushAborted, InvalidInputLine,
                RecordsWithoutSchemaException, SyncRulesError) as exc:
            cls.logger.error("%s", exc)
            sys.exit(1)

    # ------------------------------------------------------------------ bad input
    def _bad_line(self, line_number: int, reason: str, raw: str) -> None:
        message = f"Input line {line_number} is {reason}; it was skipped (kept in the " \
                  "rejects file)."
        self.input_problems.append(message)
        self.logger.error("%s", message)
        self.run_context.outcomes.reject_unreadable(line_number, message, raw)

    def _bad_record(self, line_number: int, bad: BadRecord) -> None:
        """A RECORD holding a value that is not clean JSON text (a byte that is not UTF-8, a
        lone surrogate, NaN): rejected naming the field, like a record that misfits its schema."""
        sink = SINKS.get(bad.stream)
        active = self._sinks_active.get(bad.stream)
        self.run_context.outcomes.reject_input(
            bad.stream, sink.object_name if sink else None, sink.key_field if sink else None,
            bad.record, line_number,
            f"Input line {line_number}: {bad.reason}; the record was not pushed.",
            getattr(active, "x_sync", None))

    def _process_record_message(self, message_dict: dict) -> None:
        stream = message_dict.get("stream")
        if "record" in message_dict and stream not in self.mapper.stream_maps:
            line = self.reader.line_number
            message = (f"Input line {line}: a RECORD for stream {stream!r} arrived before its "
                       "SCHEMA message; the record was not pushed (kept in the rejects file).")
            self.input_problems.append(message)
            self._records_without_schema += 1
            self.logger.error("%s", message)
            sink = SINKS.get(str(stream))
            self.run_context.outcomes.reject_input(
                str(stream), sink.object_name if sink else None,
                sink.key_field if sink else None, message_dict["record"], line, message, None)
            return
        super()._process_record_message(message_dict)

    def _write_state_message(self, state: dict) -> None:
        if self.input_problems:
            self.logger.warning("STATE not emitted: %d input line(s) could not be pushed, so "
                                "the next run must send them again.", len(self.input_problems))
            return
        failures = self._run.outcomes.temporary_failures if self._run is not None else 0
        if failures:
            self.logger.warning("STATE not emitted: %d record(s) failed on a temporary error, "
                                "so the next run sends them again.", failures)
            return
        super()._write_state_message(state)

    @property
    def run_context(self) -> RunContext:
        """The run's context (made on first use; it sends nothing until ``connect()``)."""
        if self._run is None:
            self._run = RunContext(self.config, self.logger)
        return self._run

    @override
    def get_sink_class(self, stream_name: str) -> type[Sink]:
        return SINKS.get(stream_name, IgnoredStreamSink)

    def drain_before(self, sink: PushSink) -> None:
        """Drain the streams ``sink`` comes after (accounts before the contacts that link to
        them) when they hold records, so that order holds however the input interleaves."""
        for name in sink.after:
            first = self._sinks_active.get(name)
            if first is not None and first.current_size > 0:
                self.drain_one(first)

    @override
    def process_endofpipe(self) -> None:
        """Drain (STATE is written only if every drain succeeds), then print the summary."""
        temporary_failures = 0
        try:
            super().process_endofpipe()
        except BaseException:
            if self._run is not None:
                self.logger.error("Push stopped before completion; STATE was not advanced.")
            raise
        finally:
            if self._run is not None:
                summary = self._run.summary()
                print(summary, file=sys.stderr)  # the table; the log gets one line
                self.logger.info("Push summary: %s",
                                 self._run.outcomes.activity.summary_rows())
                temporary_failures = self._run.outcomes.temporary_failures
                self._run.close()
                self._run = None
        if temporary_failures:
            raise PushAborted(
                f"{temporary_failures} record(s) could not be written after retries (temporary "
                "errors, listed in the rejects file); STATE was not advanced, so the next run "
                "sends them again (records already written cost no write).")
        if self.input_problems:
            summary = (f"{len(self.input_problems)} input problem(s); the other records were "
                       f"pushed. First: {self.input_problems[0]}")
            if self._records_without_schema:
                raise RecordsWithoutSchemaException(summary)
            raise InvalidInputLine(summary)


if __name__ == "__main__":
    TargetActiveCampaign.cli()
