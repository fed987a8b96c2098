"""The sink every pushed object shares (``objects/`` holds one per object) and the sink of
streams the target does not push."""

from __future__ import annotations

import typing as t
from collections.abc import Mapping
from typing import Any, ClassVar

from singer_sdk.exceptions import InvalidRecord, MissingKeyPropertiesError
from singer_sdk.sinks import BatchSink
from typing_extensions import override

from target_activecampaign.input import describe_invalid
from target_activecampaign.rules import merge_duplicates, sync_rules

if t.TYPE_CHECKING:
    from singer_sdk.sinks.core import BaseJSONSchemaValidator

    from target_activecampaign.context import RunContext
    from target_activecampaign.target import TargetActiveCampaign


class PushSink(BatchSink):
    """One object's records: admitted, merged by key, then ``write_batch`` of the object.

    A record that does not fit the stream's schema, or lacks its key, is rejected (named by
    key or input line, and field) and the run goes on.
    """

    schema_shape: ClassVar[dict[str, Any]] = {}  # the accepted record shape (replay uses it)
    key_field: ClassVar[str] = ""
    object_name: ClassVar[str] = ""  # singular, as in the activity log
    after: ClassVar[tuple[str, ...]] = ()  # streams drained before this one (registry order)

    def __init__(self, target: TargetActiveCampaign, stream_name: str, schema: dict,
                 key_properties: t.Sequence[str] | None) -> None:
        self.record_validator: BaseJSONSchemaValidator | None = None
        super().__init__(target, stream_name, schema, key_properties)
        self.target = target
        self.x_sync: dict[str, Any] | None = schema.get("x-sync")
        self.rules = sync_rules(stream_name, schema, target.config)
        self._invalid: str | None = None  # why the record being read cannot be pushed

    @property
    def ctx(self) -> RunContext:
        return self.target.run_context

    @staticmethod
    def record_key(record: Mapping[str, Any]) -> str | None:
        """The normalized match key of a record (None: it has none)."""
        raise NotImplementedError

    def write_batch(self, ctx: RunContext, records: list[dict[str, Any]]) -> None:
        """Plan, write and record the outcome of each record (one per key)."""
        raise NotImplementedError

    @override
    def get_validator(self) -> BaseJSONSchemaValidator | None:
        # The SDK's validator, kept for _validate_and_parse below; None so the SDK's own
        # check (fatal on the first bad record) does not run.
        self.record_validator = super().get_validator()
        return None

    # singer-sdk 0.54.9 has no public hook to reject one record and go on: a schema misfit
    # (_validate_and_parse) or a missing key (_singer_validate_message) would stop the run,
    # so these two private steps are overridden to note the problem for process_record.
    def _validate_and_parse(self, record: dict) -> dict:
        self._invalid = None
        if self.record_validator is not None:
            try:
                self.record_validator.validate(record)
            except InvalidRecord as exc:
                cause = exc.__cause__
                _field, self._invalid = describe_invalid(
                    cause if hasattr(cause, "validator") else None, str(exc))
                return record
        return super()._validate_and_parse(record)

    def _singer_validate_message(self, record: dict) -> None:
        if self._invalid is not None:
            return
        try:
            super()._singer_validate_message(record)
        except MissingKeyPropertiesError:
            missing = [k for k in self.key_properties if k not in record]
            self._invalid = f"required field {', '.join(map(repr, missing))} is missing"

    @override
    def process_record(self, record: dict, context: dict) -> None:
        if self._invalid is not None:
            line = self.target.reader.line_number
            message = f"Input line {line}: {self._invalid}; the record was not pushed."
            self._invalid = None
            self.ctx.outcomes.reject_input(self.stream_name, self.object_name, self.key_field,
                                           record, line, message, self.x_sync)
            return
        context.setdefault("records", []).append(record)

    @override
    def process_batch(self, context: dict) -> None:
        self.target.drain_before(self)
        ctx = self.ctx
        records = [rec for rec in context.get("records", []) if ctx.admit(
            self.stream_name, self.object_name, rec, self.record_key(rec) or "", self.x_sync)]
        records = merge_duplicates(records, self.record_key)
        if records:
            ctx.connect()
            self.write_batch(ctx, records)


class IgnoredStreamSink(BatchSink):
    """Streams the registry does not name are reported once and not pushed."""

    def __init__(self, target: TargetActiveCampaign, stream_name: str, schema: dict,
                 key_properties: t.Sequence[str] | None) -> None:
        super().__init__(target, stream_name, schema, key_properties)
        self.logger.warning(
            "Stream %r is not pushed: target-activecampaign accepts the streams %s (rename a "
            "stream with stream_maps, e.g. {\"people\": {\"__alias__\": \"contacts\"}}).",
            stream_name, " and ".join(f"'{name}'" for name in target.pushed_streams))

    @override
    def process_record(self, record: dict, context: dict) -> None:
        """Nothing to write."""

    @override
    def process_batch(self, context: dict) -> None:
        """Nothing to write."""
