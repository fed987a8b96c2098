"""Sinks: read ActiveCampaign, ask ``payloads`` what to do, write, log each record."""

from __future__ import annotations

import typing as t
from typing import Any

from singer_sdk.exceptions import InvalidRecord, MissingKeyPropertiesError
from singer_sdk.sinks import BatchSink

from activecampaign_client import (
    FatalAPIError,
    RetriableAPIError,
    normalize_domain,
    normalize_email,
)
from target_activecampaign import payloads as p
from target_activecampaign.activity import MESSAGES
from target_activecampaign.input import describe_invalid

if t.TYPE_CHECKING:
    from target_activecampaign.push import PushRun
    from target_activecampaign.target import TargetActiveCampaign


class _PushSink(BatchSink):
    """Common parts: the run, the stream's sync rules and x-sync annotation."""

    stream_key = ""

    def __init__(self, target: TargetActiveCampaign, stream_name: str, schema: dict,
                 key_properties: t.Sequence[str] | None) -> None:
        super().__init__(target, stream_name, schema, key_properties)
        self.target = target
        self.x_sync: dict[str, Any] | None = schema.get("x-sync")
        self.rules = p.sync_rules(stream_name, schema, target.config)
        self._invalid: str | None = None  # why the record being read cannot be pushed

    @property
    def run(self) -> PushRun:
        return self.target.push_run

    def admitted(self, records: list[dict[str, Any]], key: t.Callable[[dict], str | None],
                 ) -> list[dict[str, Any]]:
        keep = []
        for rec in records:
            if self.run.admit(self.stream_name, rec, key(rec) or "", self.x_sync):
                keep.append(rec)
        return keep

    def _validate_and_parse(self, record: dict) -> dict:
        """Schema check without the SDK's fatal error: a record that does not fit is rejected
        (named by key or input line, and field) and the run goes on."""
        self._invalid = None
        validator = self._validator
        if validator is not None:
            try:
                validator.validate(record)
            except InvalidRecord as exc:
                cause = exc.__cause__
                _field, self._invalid = describe_invalid(
                    cause if hasattr(cause, "validator") else None, str(exc))
                return record
        self._validator = None  # already checked above
        try:
            return super()._validate_and_parse(record)
        finally:
            self._validator = validator

    def _singer_validate_message(self, record: dict) -> None:
        if self._invalid is not None:
            return
        try:
            super()._singer_validate_message(record)
        except MissingKeyPropertiesError:
            missing = [k for k in self.key_properties if k not in record]
            self._invalid = f"required field {', '.join(map(repr, missing))} is missing"

    def process_record(self, record: dict, context: dict) -> None:
        if self._invalid is not None:
            line = self.target.reader.line_number
            message = f"Input line {line}: {self._invalid}; the record was not pushed."
            self._invalid = None
            self.run.reject_input(self.stream_name, record, line, message, self.x_sync)
            return
        context.setdefault("records", []).append(record)


class ContactsSink(_PushSink):
    """Contacts matched by normalized email; bulk import for large batches, sync for small."""

    def process_batch(self, context: dict) -> None:
        accounts_sink = self.target.pending_accounts_sink()
        if accounts_sink is not None:  # link targets must exist before contacts point at them
            self.target.drain_one(accounts_sink)
        run = self.run
        records = self.admitted(context.get("records", []),
                                lambda r: normalize_email(r.get("email")))
        records = p.merge_duplicates(records, lambda r: normalize_email(r.get("email")))
        if not records:
            return
        refs = run.references(records)
        # Only what the plans compare: an account that ignores include= makes each one a read.
        includes = set()
        if any(r.get("fields") for r in records):
            includes.add("fieldValues")
        if any(r.get("account_domain") for r in records):
            includes.add("accountContacts")
        if refs.tags.names or refs.sync_tag or any(r.get("tags") for r in records):
            includes.add("contactTags")
        if refs.default_list or any(r.get("lists") for r in records):
            includes.add("contactLists")
        emails = [e for r in records if (e := normalize_email(r.get("email")))]
        current = run.current_contacts(emails, includes)
        for rec in records:
            cur = current.get(normalize_email(rec.get("email")) or "")
            if cur is not None and rec.get("automations") and cur.automation_ids is None:
                run.read_automations(cur)
        plans = [p.plan_contact(rec, current.get(normalize_email(rec.get("email")) or ""),
                                self.rules, refs) for rec in records]
        writes = [pl for pl in plans if pl.action in ("create", "update")]
        for pl in plans:
            if pl.action == "reject":
                run.finish_contact(pl, "rejected", f"Error: {pl.message}", self.x_sync)
            elif pl.action == "skip":
                run.finish_contact(pl, "skipped", pl.message, self.x_sync)
            elif pl.action == "unchanged":
                run.finish_contact(pl, "unchanged", MESSAGES["unchanged"], self.x_sync)
        if run.dry_run:
            for pl in writes:
                verb = "create new record" if pl.action == "create" else "update record"
                run.finish_contact(pl, "created" if pl.action == "create" else "updated",
                                   f"Dry run: would {verb}", self.x_sync)
            return
        if len(writes) >= run.bulk_threshold:
            results = run.write_bulk(writes, includes)
            for pl in writes:
                outcome, message = results[pl.email]
                run.finish_contact(pl, outcome, message, self.x_sync)
            self.tally_record_written(sum(1 for o, _ in results.values()
                                          if o in ("created", "updated")))
            return
        for pl in writes:
            try:
                contact_id = run.write_sync(pl)
                run.ok()
            except (FatalAPIError, RetriableAPIError) as exc:
                run.finish_contact(pl, "failed", run.failure_message(exc), self.x_sync)
                continue
            outcome, message = run._done(pl)
            run.apply_to_index(pl, contact_id)
            run.finish_contact(pl, outcome, message, self.x_sync)
            self.tally_record_written()


class AccountsSink(_PushSink):
    """Accounts matched by the normalized domain of their website."""

    def process_batch(self, context: dict) -> None:
        run = self.run
        records = self.admitted(context.get("records", []),
                                lambda r: normalize_domain(r.get("accountUrl")))
        records = p.merge_duplicates(records, lambda r: normalize_domain(r.get("accountUrl")))
        if not records:
            return
        index = run.accounts
        catalog = run.account_fields if any(r.get("fields") for r in records) \
            else p.FieldCatalog([])
        matched = [index[d] for r in records if r.get("fields")
                   and (d := normalize_domain(r.get("accountUrl"))) in index]
        if matched:
            run.account_values(matched)
        for rec in records:
            current = index.get(normalize_domain(rec.get("accountUrl")) or "")
            plan = p.plan_account(rec, current, self.rules, catalog,
                                  str(self.target.config.get("default_currency") or "USD"))
            if plan.action == "reject":
                run.finish_account(plan, "rejected", f"Error: {plan.message}", self.x_sync)
                continue
            if plan.action == "skip":
                run.finish_account(plan, "skipped", plan.message, self.x_sync)
                continue
            if plan.action == "unchanged":
                run.finish_account(plan, "unchanged", MESSAGES["unchanged"], self.x_sync)
                continue
            outcome = "created" if plan.action == "create" else "updated"
            if run.dry_run:
                if plan.action == "create":  # later contacts in this dry run may link to it
                    run.remember_account(p.CurrentAccount(
                        f"dry-run:{plan.domain}", plan.body["account"]["name"],
                        plan.body["account"].get("accountUrl"), plan.domain, {}))
                verb = "create new record" if plan.action == "create" else "update record"
                run.finish_account(plan, outcome, f"Dry run: would {verb}", self.x_sync)
                continue
            try:
                run.write_account(plan)
                run.ok()
            except (FatalAPIError, RetriableAPIError) as exc:
                run.finish_account(plan, "failed", run.failure_message(exc), self.x_sync)
                continue
            run.finish_account(plan, outcome, MESSAGES[outcome], self.x_sync)
            self.tally_record_written()


class IgnoredStreamSink(BatchSink):
    """Streams other than contacts and accounts are reported once and not pushed."""

    def __init__(self, target: TargetActiveCampaign, stream_name: str, schema: dict,
                 key_properties: t.Sequence[str] | None) -> None:
        super().__init__(target, stream_name, schema, key_properties)
        self.logger.warning(
            "Stream %r is not pushed: target-activecampaign accepts the streams 'contacts' and "
            "'accounts' (rename a stream with stream_maps, e.g. {\"people\": {\"__alias__\": "
            "\"contacts\"}}).", stream_name)

    def process_record(self, record: dict, context: dict) -> None:
        """Nothing to write."""

    def process_batch(self, context: dict) -> None:
        """Nothing to write."""
