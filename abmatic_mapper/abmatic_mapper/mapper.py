"""AbmaticMapper: the Singer mapper class. It reads, calls the pure rules, and writes."""

from __future__ import annotations

import sys
import typing as t
from functools import partial

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers.capabilities import PluginCapabilities
from singer_sdk.mapper_base import InlineMapper
from singer_sdk.singerlib.encoding.base import SingerMessageType
from singer_sdk.singerlib.exceptions import InvalidInputLine

import abmatic_mapper.model as model
from abmatic_mapper.fastio import EncodedMessage, FastReader, FastWriter, encode
from abmatic_mapper.joins import ContactJoins
from abmatic_mapper.mapping import (
    AccountLink,
    StreamPlan,
    build_plan,
    currency_titles,
    import_account,
    import_contact,
    import_deal,
    key_problem,
    push_field_problem,
    push_key_problem,
    push_record,
    push_schema_for,
    without,
)
from abmatic_mapper.memberships import (
    MEMBERSHIP_FIELDS,
    CompleteTables,
    limited_to_sources,
    memberships_of,
    reconcile,
)
from abmatic_mapper.modes import merge_with_store
from abmatic_mapper.runtime import DedupeBuffer, RejectsFile, RunStats
from abmatic_mapper.settings import CONFIG_SCHEMA, Settings, SettingsError, parse_settings
from abmatic_mapper.store import Store, read_store
from activecampaign_client.jsonl import BadRecord
from activecampaign_client.sync_rules import PASS, operation_outcome

_MAX_REJECT_LOGS = 100
RECORD, SCHEMA, STATE = SingerMessageType.RECORD, SingerMessageType.SCHEMA, SingerMessageType.STATE
ACTIVATE_VERSION = SingerMessageType.ACTIVATE_VERSION
# key field (for reject messages) per input stream
_KEY_FIELDS = {
    model.IMPORT: {"contacts": "email", "accounts": "accountUrl", "deals": "id"},
    model.PUSH: {stream: model.STREAMS[stream].key for stream in model.PUSH_STREAMS},
}


class AbmaticMapper(InlineMapper):
    """Maps ActiveCampaign <-> Abmatic records with per-field sync modes."""

    name = "abmatic-mapper"
    package_name = "abmatic-mapper"
    config_jsonschema = CONFIG_SCHEMA
    capabilities: t.ClassVar[list] = [  # no SDK stream maps / flattening: not applicable
        PluginCapabilities.ABOUT,
        PluginCapabilities.STRUCTURED_LOGGING,
    ]
    message_reader_class = FastReader
    message_writer_class = FastWriter

    def __init__(self, **kwargs: t.Any) -> None:
        super().__init__(**kwargs)
        self.settings: Settings = parse_settings(self.config)
        s = self.settings
        self.direction = s.direction
        self.out_streams = (
            ("accounts", "contacts", "opportunities")
            if s.direction == model.IMPORT
            else model.PUSH_STREAMS
        )
        self.plans: dict[str, StreamPlan] = {o: build_plan(s, o) for o in self.out_streams}
        self.stats = RunStats()
        self.rejects = RejectsFile(s.rejects_path, s.direction)
        self._writer = t.cast("FastWriter", self.message_writer)
        self._reader = t.cast("FastReader", self.message_reader)
        self._schema_sent: set[str] = set()
        self._out: list[EncodedMessage] = []  # lines produced by the message being mapped
        self._warned: set[tuple[str, str]] = set()
        self._record_prefix = {
            o: b'{"type":"RECORD","stream":' + encode(o) + b',"record":' for o in self.out_streams
        }
        self.buffers = {
            o: DedupeBuffer(s.dedupe_buffer_keys, self._emitter(o)) for o in self.out_streams
        }
        # import joins
        self.joins = ContactJoins(s.join_memory_keys, lambda: self.store["accounts"])
        self.pipelines: dict[str, str] = {}
        # custom_fields titles of currency fields (values in cents at ActiveCampaign).
        self.money_titles: dict[str, set[str]] = {"accounts": set(), "deals": set()}
        self.stages: dict[str, str] = {}
        self.seen_streams: set[str] = set()
        # Incremental memberships (memberships.py): the tables read in full this run, and
        # the STATE held back until the reconciliation's rows are out.
        self.tables = CompleteTables()
        self._held_state: EncodedMessage | None = None
        self._source_run = False
        self.store: Store = {o: {} for o in self.out_streams}
        if s.direction == model.IMPORT:
            if s.store_url:
                # One read, before the first message is emitted; the connection is closed.
                self.store = read_store(s.store_url, s.store_schema, self.out_streams)
            else:
                self.logger.info(
                    "No store_url: fill and update-only are not checked against the Abmatic "
                    "store (every record is treated as new)."
                )
                for o, plan in self.plans.items():
                    if not plan.create:
                        self.logger.warning(
                            "operations.%s.create is off and no store_url is set: every %s "
                            "record will be skipped.", o, o)
        # Lines that are not Singer messages: reported, kept, and the run fails at the end.
        self.bad_lines: list[str] = []
        self._reader.on_bad_line = self._bad_line
        self._reader.on_bad_record = self._bad_record
        self._handlers: dict[str, t.Callable[[dict[str, t.Any]], None]] = (
            self._import_handlers() if s.direction == model.IMPORT else self._push_handlers()
        )

    # ----------------------------------------------------------------------------- config
    # singer-sdk 0.54.9 has no public hook for config checks beyond the JSON schema, so the
    # private _validate_config runs parse_settings first: its messages name the exact path.
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        try:
            parse_settings(self.config)
        except SettingsError as exc:
            if raise_errors:
                raise ConfigValidationError(
                    "Config validation failed", errors=exc.errors, schema=self.config_jsonschema
                ) from None
            self.logger.warning("Config validation failed: %s", exc)
            return exc.errors
        return super()._validate_config(raise_errors=raise_errors)

    # ----------------------------------------------------------------------------- output
    def _emitter(self, out_stream: str) -> t.Callable[[dict[str, t.Any]], None]:
        prefix = self._record_prefix[out_stream]
        counts = self.stats.streams[out_stream]

        def emit(record: dict[str, t.Any]) -> None:
            self._out.append(EncodedMessage(RECORD, prefix + encode(record) + b"}\n"))
            counts["out"] += 1

        return emit

    def _ensure_schema(self, out_stream: str) -> None:
        if out_stream in self._schema_sent:
            return
        self._schema_sent.add(out_stream)
        plan = self.plans[out_stream]
        smodel = model.STREAMS[out_stream]
        if self.direction == model.IMPORT:
            schema = model.import_schema(out_stream, plan.excluded)
            key = smodel.key
        else:
            schema = push_schema_for(out_stream, plan)
            key = smodel.push_key or ""
        self._out.append(EncodedMessage(
            SCHEMA, encode({"type": "SCHEMA", "stream": out_stream, "schema": schema,
                    "key_properties": [key]}) + b"\n"
        ))

    def _flush_buffers(self) -> None:
        for buffer in self.buffers.values():
            buffer.flush()

    def _warn_once(self, stream: str, what: str, message: str, *args: t.Any) -> None:
        if (stream, what) in self._warned:
            return
        self._warned.add((stream, what))
        self.logger.warning(message, *args)

    def _reject(self, in_stream: str, out_stream: str, rec: dict[str, t.Any],
                reason: str, field: str | None = None) -> None:
        key_field = field or _KEY_FIELDS[self.direction][in_stream]
        record_id = rec.get("id") if self.direction == model.IMPORT else None
        # push: the key itself is personal data or broken; the input line names the record
        record_id = record_id or rec.get("activecampaign_id")
        line = self._reader.line_number
        self.rejects.write(in_stream, record_id, key_field, reason, rec, line_number=line)
        self.stats.add(out_stream, "rejected")
        if self.rejects.count <= _MAX_REJECT_LOGS:
            self.logger.warning(
                "Rejected %s record at input line %d id=%s field=%s: %s (kept in %s)",
                in_stream, line, record_id if record_id is not None else "-", key_field,
                reason, self.rejects.path,
            )
            if self.rejects.count == _MAX_REJECT_LOGS:
                self.logger.warning("Further rejects are only counted and written to %s.",
                                    self.rejects.path)

    def _accept(self, out_stream: str, key: str, record: dict[str, t.Any],
                store_merge: bool) -> None:
        plan = self.plans[out_stream]
        if store_merge:
            existing = self.store[out_stream].get(key)
            outcome = operation_outcome(existing is not None, plan.create, plan.update)
            if outcome != PASS:
                self.stats.add(out_stream, outcome)
                return
            if existing is not None:
                record = merge_with_store(
                    record, existing, plan.modes, plan.clear_on_null, plan.custom_modes,
                    plan.custom_default, plan.custom_clear,
                )
        if self.buffers[out_stream].add(key, record):
            self.stats.streams[out_stream]["merged"] += 1

    # ----------------------------------------------------------------------------- import
    def _import_handlers(self) -> dict[str, t.Callable[[dict[str, t.Any]], None]]:
        return {
            "contacts": self._import_contact,
            "accounts": self._import_account,
            "deals": self._import_deal,
            "account_contacts": partial(self._index_membership, "account_contacts",
                                        self.joins.add_link),
            "lists": lambda r: self._index_name(self.joins.list_names, r, "name"),
            "tags": lambda r: self._index_name(self.joins.tag_names, r, "tag"),
            "deal_pipelines": lambda r: self._index_name(self.pipelines, r, "title"),
            "deal_stages": lambda r: self._index_name(self.stages, r, "title"),
            "contact_lists": partial(self._index_membership, "contact_lists",
                                     self.joins.add_list),
            "contact_tags": partial(self._index_membership, "contact_tags", self.joins.add_tag),
            # Field definitions come before their objects (tap order): currency titles first.
            "account_custom_fields": lambda r: self.money_titles["accounts"].update(
                currency_titles(r)),
            "deal_custom_fields": lambda r: self.money_titles["deals"].update(
                currency_titles(r)),
        }

    @staticmethod
    def _index_name(index: dict[str, str], rec: dict[str, t.Any], field: str) -> None:
        if rec.get("id") is not None and rec.get(field) is not None:
            index[str(rec["id"])] = rec[field]

    def _index_membership(self, stream: str, add: t.Callable[[dict[str, t.Any]], None],
                          rec: dict[str, t.Any]) -> None:
        # The join is one pass: a row after its contact's RECORD is not applied to it
        # (CONTRACTS.md, stream order). Checked only once contacts flow (a few rows a run).
        if "contacts" in self.seen_streams and self.joins.emails.get(rec.get("contact")):
            self._warn_once(
                stream, "late", "%s row %s (contact id %s) arrived after that contact's "
                "record: it is not applied to the contact in this run. The tap must send a "
                "contact's membership rows before the contact (docs/CONTRACTS.md).",
                stream, rec.get("id"), rec.get("contact"))
        add(rec)

    def _import_contact(self, rec: dict[str, t.Any]) -> None:
        plan = self.plans["contacts"]
        joins = self.joins
        cid = rec.get("id")
        link = None
        found = joins.links.get(cid)
        if found is not None:
            account = joins.account(found[0])
            link = AccountLink(account[0] if account else None, found[1],
                               account[1] if account else None)
        seen = self.seen_streams
        lists = joins.names(joins.lists, joins.list_names, cid) \
            if "contact_lists" in seen else None
        tags = joins.names(joins.tags, joins.tag_names, cid) \
            if "contact_tags" in seen else None
        mapped = import_contact(rec, plan, link, lists, tags)
        problem = key_problem("contacts", mapped, rec.get("email"))
        if problem is not None:
            if cid is not None:
                joins.rejected.add(str(cid))  # sent by the tap: not reconciled from the store
            self._reject("contacts", "contacts", rec, problem)
            return
        email = mapped["work_email"]
        joins.emails.add(cid, email)
        self._accept("contacts", email, without(mapped, plan.excluded), True)

    def _import_account(self, rec: dict[str, t.Any]) -> None:
        plan = self.plans["accounts"]
        mapped = import_account(rec, plan, self.money_titles["accounts"])
        self.joins.accounts.add(rec.get("id"), [mapped["company_name"], mapped["website_domain"]])
        problem = key_problem("accounts", mapped, rec.get("accountUrl"))
        if problem is not None:
            self._reject("accounts", "accounts", rec, problem)
            return
        self._accept("accounts", mapped["website_domain"], without(mapped, plan.excluded), True)

    def _import_deal(self, rec: dict[str, t.Any]) -> None:
        plan = self.plans["opportunities"]
        account = self.joins.accounts.get(rec.get("account"))
        mapped = import_deal(
            rec, plan,
            pipeline=self.pipelines.get(str(rec.get("group"))),
            stage=self.stages.get(str(rec.get("stage"))),
            account_domain=account[1] if account else None,
            contact_email=self.joins.emails.get(rec.get("contact")),
            money_titles=self.money_titles["deals"],
        )
        problem = key_problem("opportunities", mapped, rec.get("id"))
        if problem is not None:
            self._reject("deals", "opportunities", rec, problem)
            return
        self._accept("opportunities", mapped["activecampaign_id"],
                     without(mapped, plan.excluded), True)

    # ----------------------------------------------------------------------------- reconcile
    def _reconcile(self) -> None:
        """Store contacts not in this run take their memberships from the complete tables."""
        streams = sorted(self.tables.complete)
        if not streams or not self.store["contacts"]:
            return
        if self._source_run:
            self.logger.info(
                "Membership tables were read in full, but only for the import sources' "
                "members (list_ids/tag_ids/segment_ids): store contacts outside this run are "
                "left as they are.")
            return
        plan = self.plans["contacts"]
        out_fields = tuple(model.import_schema("contacts", plan.excluded)["properties"])
        updated = 0
        complete = self.tables.complete
        for key, row in reconcile(self.store["contacts"], self.joins.seen,
                                  partial(memberships_of, self.joins, complete), plan,
                                  out_fields):
            outcome = operation_outcome(True, plan.create, plan.update)
            if outcome != PASS:
                self.stats.add("contacts", outcome)
                continue
            self._ensure_schema("contacts")
            self.buffers["contacts"].add(key, row)
            updated += 1
        self.stats.add("contacts", "reconciled", updated)
        self.logger.info(
            "Reconciliation (%s read in full): %d store contact(s) not in this run had other "
            "memberships and were updated.", ", ".join(streams), updated)

    # ----------------------------------------------------------------------------- push
    def _push_handlers(self) -> dict[str, t.Callable[[dict[str, t.Any]], None]]:
        return {stream: partial(self._push, stream) for stream in model.PUSH_STREAMS}

    def _push(self, stream: str, rec: dict[str, t.Any]) -> None:
        shape = push_field_problem(stream, rec)
        if shape is not None:
            self._reject(stream, stream, rec, shape[1], field=shape[0])
            return
        result = push_record(stream, rec, self.plans[stream])
        for name in result.ignored_fields:
            known = name in model.STREAMS[stream].field_names
            self._warn_once(
                stream, f"field:{name}",
                "%s.%s is not pushed (%s); it is dropped.", stream, name,
                "no ActiveCampaign counterpart" if known else "not an Abmatic model field",
            )
        for key in result.unmapped_custom:
            self._warn_once(
                stream, f"custom:{key}",
                "%s.custom_fields.%s is not mapped to an ActiveCampaign custom field "
                '(settings custom_fields.%s); it is not pushed.', stream, key, stream,
            )
        problem = push_key_problem(stream, result.record, rec)
        if problem is not None:
            self._reject(stream, stream, rec, problem)
            return
        key_field = model.STREAMS[stream].push_key or ""
        self._accept(stream, result.record[key_field], result.record, False)

    # ----------------------------------------------------------------------------- messages
    # The SDK's public hooks. Each returns the lines its message produced, already encoded
    # (EncodedMessage): records come out when their dedupe buffer flushes, so one input
    # message may yield none or thousands.
    def _drain(self) -> list[EncodedMessage]:
        out = self._out
        if not out:
            return []
        self._out = []
        return out

    def _out_stream(self, stream: str) -> str | None:
        if self.direction == model.IMPORT:
            return model.IMPORT_SOURCES.get(stream)
        return stream if stream in self.plans else None

    @override
    def map_schema_message(self, message_dict: dict) -> list[EncodedMessage]:
        stream = message_dict.get("stream")
        self.seen_streams.add(str(stream))
        out = self._out_stream(str(stream))
        if out is not None:
            self._ensure_schema(out)
        return self._drain()

    @override
    def map_record_message(self, message_dict: dict) -> list[EncodedMessage]:
        stream = message_dict["stream"]
        handler = self._handlers.get(stream)
        if handler is None:
            self._warn_once(stream, "stream", "Stream %s is not used by the %s direction; its "
                            "records are ignored.", stream, self.direction)
            self.stats.add(stream, "in")
            return []
        out = self._out_stream(stream) or stream
        if out in self.plans:
            self._ensure_schema(out)
        self.seen_streams.add(stream)
        self.stats.streams[out]["in"] += 1
        handler(message_dict["record"])
        produced = self._out
        if not produced:  # the usual case: the record is buffered
            return []
        self._out = []
        return produced

    # singer-sdk 0.54.9 has no public hook for writing a mapped record's messages in one go:
    # InlineMapper writes them one at a time through two write_message calls, ~10% of the
    # mapper's time at 100k records/s. The record path alone hands them to the writer at once.
    @override
    def _process_record_message(self, message_dict: dict) -> None:
        produced = self.map_record_message(message_dict)
        if produced:
            self._writer.write_messages(produced)

    def _bad_record(self, line_number: int, bad: BadRecord) -> None:
        """A RECORD holding a value that is not clean JSON text (a byte that is not UTF-8, a
        lone surrogate, NaN): rejected naming the field, like a value of the wrong shape."""
        if bad.stream not in self._handlers:  # a stream this direction ignores anyway
            self.map_record_message({"stream": bad.stream, "record": bad.record})
            return
        out = self._out_stream(bad.stream) or bad.stream
        self.stats.streams[out]["in"] += 1
        self._reject(bad.stream, out, bad.record, bad.reason, field=bad.field)

    def _bad_line(self, line_number: int, reason: str, raw: bytes | str) -> None:
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        message = f"Input line {line_number} is {reason}; it was skipped"
        self.bad_lines.append(message)
        self.rejects.write_unreadable(line_number, message, text.rstrip("\r\n"))
        self.logger.error("%s (kept in %s).", message, self.rejects.path)

    @override
    def map_state_message(self, message_dict: dict) -> list[EncodedMessage]:
        # Mapped data first, then the bookmark, byte for byte; stdout is flushed after it.
        self._flush_buffers()
        if self.bad_lines:  # the bookmark may cover the unreadable line: do not advance it
            self._warn_once("", "state", "STATE messages are held back after an unreadable "
                            "input line, so the next run reads those records again.")
            out = self._drain()
            if out:
                out[-1].flush = True
            return out
        line = self._reader.current_line
        if isinstance(line, str):
            line = line.encode()
        if line is None:
            line = encode(message_dict)
        state = EncodedMessage(STATE, line if line.endswith(b"\n") else line + b"\n",
                               flush=True)
        value = message_dict.get("value")
        if limited_to_sources(value):
            self._source_run = True
        if self.tables.any_announced:
            self.tables.on_state(value)
        if self.tables.any_announced and self.store["contacts"] and not self._source_run:
            # The bookmark (and the tap's reconciled_at) may advance only once the
            # reconciliation's rows are written, at the end: the latest STATE waits.
            self._held_state = state
            return self._drain()
        self._held_state = None
        self._out.append(state)
        return self._drain()

    @override
    def map_activate_version_message(self, message_dict: dict) -> list[EncodedMessage]:
        stream = str(message_dict.get("stream"))
        if self.direction == model.IMPORT and stream in MEMBERSHIP_FIELDS:
            # "This run carries the complete table": consumed here, never passed on (the
            # store loader would read it as a full contacts table and delete the rest).
            self.tables.announce(stream, message_dict.get("version"))
            return []
        out = self._out_stream(stream)
        if out is None:
            return []
        self.buffers[out].flush()
        self._out.append(EncodedMessage(
            ACTIVATE_VERSION, encode({**message_dict, "stream": out}) + b"\n"))
        return self._drain()

    @override
    def process_endofpipe(self) -> None:
        if self.direction == model.IMPORT:
            self._reconcile()
        self._flush_buffers()
        if self._held_state is not None and not self.bad_lines:
            self._out.append(self._held_state)
        for message in self._drain():
            self.write_message(message)
        self._writer.flush()
        self.rejects.close()
        self.joins.close()
        for line in self.stats.summary_lines():
            self.logger.info("Run summary (%s) %s", self.direction, line)
        if self.rejects.count:
            self.logger.warning("%d record(s) rejected; see %s", self.rejects.count,
                                self.rejects.path)
        if self.bad_lines:
            raise InvalidInputLine(
                f"{len(self.bad_lines)} input line(s) could not be read; the other records "
                f"were mapped. First: {self.bad_lines[0]} (kept in {self.rejects.path}).")

    @classmethod
    def invoke(cls, *args: t.Any, **kwargs: t.Any) -> None:
        """Unreadable input ends with a one-line message and exit code 1 (no traceback)."""
        try:
            super().invoke(*args, **kwargs)
        except InvalidInputLine as exc:
            cls.logger.error("%s", exc)
            sys.exit(1)
