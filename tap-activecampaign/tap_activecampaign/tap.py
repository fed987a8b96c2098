"""tap-activecampaign: the Tap class, its settings and the per-run shared reads."""

from __future__ import annotations

import logging
import sys
import typing as t
from functools import cached_property

import click
from singer_sdk import Tap
from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError
from typing_extensions import override

from activecampaign_client import ApiUsage, shared_pacer
from activecampaign_client.errors import (
    FIND_KEY_HINT,
    ActiveCampaignError,
    AuthenticationError,
    ConfigError,
    PermissionDeniedError,
)
from activecampaign_client.urls import check_api_key, normalize_api_url
from tap_activecampaign.cadence import DEFAULT_HOURS, Cadence, plan_cadence
from tap_activecampaign.records import field_titles, group_values, zone
from tap_activecampaign.riders import Riders
from tap_activecampaign.streams import STREAM_TYPES

STREAM_ORDER = [str(vars(stream_type)["name"]) for stream_type in STREAM_TYPES]

if t.TYPE_CHECKING:
    from singer_sdk.streams import Stream

    from activecampaign_client.pacing import Pacer
    from tap_activecampaign.client import ActiveCampaignStream

SOURCE_SETTINGS = (("list_ids", "listid"), ("tag_ids", "tagid"), ("segment_ids", "segmentid"))


class TapActiveCampaign(Tap):
    """Singer tap for the ActiveCampaign API v3."""

    name = "tap-activecampaign"

    config_jsonschema = th.PropertiesList(
        th.Property(
            "api_url",
            th.StringType,
            required=True,
            title="API URL",
            description=(
                "Your account's API URL from ActiveCampaign Settings -> Developer, e.g. "
                "https://yourcompany.api-us1.com (a trailing / or /api/3 is fine; https is "
                "required except for a local sandbox on 127.0.0.1)."
            ),
        ),
        th.Property(
            "api_key",
            th.StringType,
            required=True,
            secret=True,
            title="API key",
            description="The API key from ActiveCampaign Settings -> Developer -> API Access.",
        ),
        th.Property(
            "allow_private_network",
            th.BooleanType,
            default=False,
            title="Allow a private network API URL",
            description=(
                "Allow an api_url host on a private network (10.0.0.0/8, 172.16.0.0/12, "
                "192.168.0.0/16, 100.64.0.0/10, fc00::/7), e.g. your own gateway to "
                "ActiveCampaign. Off by default: ActiveCampaign is on the public internet. "
                "Link-local and cloud metadata addresses stay refused either way."
            ),
        ),
        th.Property(
            "start_date",
            th.DateTimeType,
            title="Start date",
            description=(
                "First run only: read contacts and deals updated at or after this time "
                "(other streams are full-table). Later runs start from the saved bookmark."
            ),
        ),
        th.Property(
            "requests_per_second",
            th.NumberType,
            default=5,
            title="Requests per second",
            description=(
                "Request budget for the whole process, all streams together. ActiveCampaign "
                "allows 5 per second per account, shared with every other integration: lower "
                "it if other tools use the same account at the same time."
            ),
        ),
        th.Property(
            "request_timeout",
            th.IntegerType,
            default=60,
            title="Request timeout",
            description="Seconds to wait for one response before retrying it.",
        ),
        th.Property(
            "user_agent",
            th.StringType,
            default="tap-activecampaign",
            title="User agent",
            description="User-Agent header sent with every request.",
        ),
        th.Property(
            "naive_timezone",
            th.StringType,
            default="America/Chicago",
            title="Time zone of naive timestamps",
            description=(
                "IANA time zone used to read timestamps that ActiveCampaign writes without an "
                "offset (created_timestamp, updated_timestamp, custom-field meta, deal edate). "
                "created_utc_timestamp/updated_utc_timestamp hold account time too, despite "
                "their names: they take the offset of cdate/udate, or this zone."
            ),
        ),
        th.Property(
            "list_ids",
            th.ArrayType(th.StringType),
            title="Import lists",
            description=(
                "Only contacts on these lists (ids). With tag_ids/segment_ids too, a contact "
                "in any source is read once; contact-linked streams keep only these contacts."
            ),
        ),
        th.Property(
            "tag_ids",
            th.ArrayType(th.StringType),
            title="Import tags",
            description="Only contacts with these tags (ids); combines with list_ids.",
        ),
        th.Property(
            "segment_ids",
            th.ArrayType(th.StringType),
            title="Import segments",
            description="Only contacts in these segments (ids); combines with list_ids.",
        ),
        th.Property(
            "membership_reconcile_hours",
            th.NumberType,
            default=DEFAULT_HOURS,
            title="Membership reconciliation (hours)",
            description=(
                "How old the last full read of the membership tables (contact lists, tags, "
                "account links, automations) and of accounts may be. In between, an "
                "incremental run reads only the changed contacts, which bring their own "
                "memberships; a change to a membership alone (which may not change the "
                "contact) is seen at the next full read. 0 = read them in full every run."
            ),
        ),
    ).to_dict()

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        self._tables: dict[str, list[dict]] = {}
        self._table_costs: dict[str, int] = {}
        self.table_requests = 0  # requests spent by table(), all tables together
        self._derived: dict[tuple, t.Any] = {}
        self._members: set[str] | None = None
        self._refusals: dict[str, PermissionDeniedError] = {}
        self.skipped: dict[str, str] = {}
        self.max_attempts: int | None = None
        super().__init__(*args, **kwargs)
        self.usage = ApiUsage(rate=self.requests_per_second)

    # -- settings ----------------------------------------------------------------------------

    # Private in singer-sdk 0.54.9, the one place whose errors join the schema's in the same
    # "Config validation failed" message; there is no public validation hook.
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        errors = super()._validate_config(raise_errors=False)
        config = self.config
        if not errors:
            # the key first: once checked, it is redacted from every message (the URL's too)
            for check, key in ((check_api_key, "api_key"), (self._check_url, "api_url")):
                try:
                    check(str(config.get(key) or ""))
                except ConfigError as exc:
                    errors.append(str(exc))
            try:
                zone(config.get("naive_timezone"))
            except (KeyError, ValueError):
                errors.append(f"naive_timezone {config.get('naive_timezone')!r} is not an IANA "
                              "time zone name (e.g. America/Chicago or UTC).")
            if (config.get("requests_per_second") or 5) <= 0:
                errors.append("requests_per_second must be positive.")
            if (config.get("membership_reconcile_hours") or 0) < 0:
                errors.append("membership_reconcile_hours must be 0 (a full read every run) "
                              "or a positive number of hours.")
        if errors and raise_errors:
            raise ConfigValidationError("Config validation failed", errors=errors)
        return errors

    def _check_url(self, url: str) -> str:
        return normalize_api_url(url, allow_private_network=self.allow_private_network)

    @property
    def allow_private_network(self) -> bool:
        return bool(self.config.get("allow_private_network"))

    @property
    def api_base(self) -> str:
        return self._check_url(self.config["api_url"])

    @property
    def requests_per_second(self) -> float:
        return float(self.config.get("requests_per_second") or 5)

    # Set by the first successful answer; from then on a 403 is retried (errors.classify).
    key_accepted = False

    @property
    def pacer(self) -> Pacer:
        """The account's budget, shared with every process on this machine (a target too)."""
        return shared_pacer(self.requests_per_second, self.api_base)

    # -- permission refusals (spec §11) -----------------------------------------------------------

    def refused(self, path: str, error: PermissionDeniedError,
                stream: ActiveCampaignStream) -> None:
        """Remember a route that refused a permission; first make sure the key itself works.

        A 403 with a reason before any answer succeeded may still be a bad key with an
        unexpected body: the key check (``GET /users/me``) decides, one request."""
        if not self.key_accepted:
            if path.endswith("/users/me"):
                raise AuthenticationError(
                    f"ActiveCampaign rejected the API key (HTTP 403 on GET {path}: "
                    f"{error.reason}). {FIND_KEY_HINT}", status=403, body=error.body)
            stream.fetch_json("users/me")  # raises AuthenticationError for a bad key
        self._refusals[path] = error

    def refusal_for(self, path: str) -> PermissionDeniedError | None:
        error = self._refusals.get(path)
        return PermissionDeniedError(str(error), error.reason, error.body) if error else None

    def skip(self, stream: ActiveCampaignStream, error: PermissionDeniedError) -> None:
        """One warning; the stream (and its selected children) is listed in the summary."""
        names = [stream.name] + [c.name for c in stream.child_streams if c.selected]
        for name in names:
            self.skipped[name] = error.reason
        self.logger.warning(
            "Skipping stream %s: %s Ask an ActiveCampaign admin to give this user's role "
            "the permission, or deselect the stream. The other streams go on; the bookmark "
            "of %s does not move.", ", ".join(names), error, ", ".join(names))

    def log_run_summary(self) -> None:
        self.riders.log_summary()
        if self.skipped:
            self.logger.warning(
                "Run summary: %d stream(s) skipped for a missing permission: %s",
                len(self.skipped),
                "; ".join(f"{name} ({reason})" for name, reason in self.skipped.items()))

    # -- streams, in the contract's order ------------------------------------------------------

    @override
    def discover_streams(self) -> list[Stream]:
        return [stream_type(tap=self) for stream_type in STREAM_TYPES]

    @property
    @override
    def streams(self) -> dict[str, Stream]:
        """Discovery order, not the SDK's alphabetical one (the mapper joins in one pass)."""
        streams = super().streams
        return {name: streams[name] for name in STREAM_ORDER if name in streams}

    # -- reads shared by several streams (once per run) ----------------------------------------

    def table(self, object_name: str, stream: ActiveCampaignStream,
              pages: t.Iterable[list[dict]] | None = None) -> list[dict]:
        """Every row of a collection, read once per run (``pages``: a read already begun)."""
        if object_name not in self._tables:
            before = self.usage.requests
            rows: list[dict] = []
            for page in pages if pages is not None else stream.fetch_pages(object_name):
                rows.extend(page)
            self._tables[object_name] = rows
            self._table_costs[object_name] = self.usage.requests - before
            self.table_requests += self.usage.requests - before
        return self._tables[object_name]

    def table_cost(self, object_name: str) -> int:
        """Requests the run's read of that table took (0 if not read)."""
        return self._table_costs.get(object_name, 0)

    @cached_property
    def cadence(self) -> Cadence:
        """Which tables this run reads in full; decided once, from the input state."""
        return plan_cadence(self)

    @cached_property
    def riders(self) -> Riders:
        return Riders(self)

    def cached_table(self, object_name: str) -> list[dict] | None:
        return self._tables.get(object_name)

    def titles(self, meta_object: str, label_key: str, stream: ActiveCampaignStream
               ) -> dict[str, str]:
        key = ("titles", meta_object)
        if key not in self._derived:
            self._derived[key] = field_titles(self.table(meta_object, stream), label_key)
        return t.cast("dict[str, str]", self._derived[key])

    def grouped(self, data_object: str, owner_key: str, field_key: str, value_key: str,
                stream: ActiveCampaignStream) -> dict[str, dict[str, t.Any]]:
        key = ("grouped", data_object)
        if key not in self._derived:
            rows = self.table(data_object, stream)
            self._derived[key] = group_values(rows, owner_key, field_key, value_key)
        return t.cast("dict[str, dict[str, t.Any]]", self._derived[key])

    # -- import sources ----------------------------------------------------------------------

    def source_partitions(self) -> list[dict]:
        return [
            {"source": param, "source_id": str(source_id)}
            for setting, param in SOURCE_SETTINGS
            for source_id in self.config.get(setting) or []
        ]

    def is_member(self, contact_id: t.Any, stream: ActiveCampaignStream) -> bool:
        """True when no import source is set, or the contact is in one of them."""
        partitions = self.source_partitions()
        if not partitions:
            return True
        if self._members is None:
            members: set[str] = set()
            for part in partitions:
                members.update(stream.contact_ids({part["source"]: part["source_id"]}))
            self._members = members
            self.logger.info("Import sources hold %d contacts", len(members))
        return str(contact_id) in self._members

    # -- command line ------------------------------------------------------------------------

    @classmethod
    @override
    def invoke(cls, *args: t.Any, **kwargs: t.Any) -> None:
        """An ActiveCampaign failure (rejected key, unreachable URL, retries exhausted) ends
        with its one-line message and exit code 1, not a traceback."""
        try:
            super().invoke(*args, **kwargs)
        except ActiveCampaignError as exc:
            cls.logger.error("%s", exc)
            sys.exit(1)

    # -- connection test ---------------------------------------------------------------------

    def check_connection(self) -> tuple[bool, str]:
        """One GET /users/me; returns (ok, one-line verdict). Never includes the key."""
        users = t.cast("ActiveCampaignStream", self.streams["users"])
        self.max_attempts = 3
        try:
            body = users.fetch_json("users/me")
        except ActiveCampaignError as exc:
            return False, f"Connection FAILED for {self.api_base}: {exc}"
        finally:
            self.max_attempts = None
        user = body.get("user") if isinstance(body, dict) else None
        who = (user or {}).get("username") or (user or {}).get("email") or "unknown user"
        return True, f"Connection OK: {self.api_base} accepted the API key (user {who})."

    @classmethod
    @override
    def cb_test(cls, ctx: click.Context, param: click.Option, value: str) -> None:
        """``--test``: one cheap request and a one-line verdict (``--test=schema`` as usual)."""
        if value in ("", None, "disabled", "schema"):
            super().cb_test(ctx, param, value)
            return
        config = ctx.params.get("config")
        try:
            tap = cls(
                config=getattr(config, "config", None),
                parse_env_config=bool(getattr(config, "parse_env", False)),
                validate_config=True,
            )
        except ConfigValidationError as exc:  # an eager option: the SDK's handler is not there
            for error in exc.errors:
                cls.logger.error("%s", error)
            cls.logger.error("Config validation failed")
            ctx.exit(1)
        ok, verdict = tap.check_connection()
        click.echo(verdict, err=not ok)
        ctx.exit(0 if ok else 1)


logging.getLogger("backoff").setLevel(logging.CRITICAL)  # our backoff_handler logs instead

if __name__ == "__main__":  # pragma: no cover
    TapActiveCampaign.cli()
    sys.exit(0)
