"""One read of the Abmatic store (DuckDB or PostgreSQL via SQLAlchemy), done at startup.

Tables are named after the streams (``contacts``, ``accounts``, ``opportunities``) with columns
named after the model's fields; extra columns (``_sdc_*``) are ignored, missing ones read as
null. Object/array columns may be JSON text or native JSON. A missing DuckDB file or missing
table is an empty store. The connection is closed before the mapper emits anything (DuckDB
locks its file per process).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import abmatic_mapper.model as model
from abmatic_mapper.mapping import to_utc
from activecampaign_client import normalize_domain, normalize_email

if TYPE_CHECKING:
    import sqlalchemy as sa

logger = logging.getLogger("abmatic-mapper.store")

Store = dict[str, dict[str, dict[str, Any]]]  # stream -> key -> row

_JSON_FIELDS = frozenset({"custom_fields", "lists", "tags"})


def normalize_store_value(field: str, value: Any) -> Any:
    """A value read from the store, in the shape the mapper emits."""
    if value is None:
        return None
    if field in _JSON_FIELDS and isinstance(value, (str, bytes)):
        try:
            return json.loads(value)
        except ValueError:
            return None
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime):
        return to_utc(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def store_key(stream: str, value: Any) -> str | None:
    if stream == "contacts":
        return normalize_email(value)
    if stream == "accounts":
        return normalize_domain(value)
    return None if value is None else str(value)


def _duckdb_file_missing(url: sa.URL) -> bool:
    if not url.drivername.startswith("duckdb"):
        return False
    database = url.database
    return bool(database) and database != ":memory:" and not os.path.exists(str(database))


def _quote(engine: sa.Engine, name: str) -> str:
    return engine.dialect.identifier_preparer.quote(name)


def read_store(
    url: str,
    schema: str | None,
    streams: tuple[str, ...],
    attempts: int = 5,
    pause: float = 1.0,
) -> Store:
    """Every row of the given streams' tables, keyed by the normalized match key."""
    import sqlalchemy as sa  # only runs with store_url set: keeps the mapper's start fast

    sa_url = sa.make_url(url)
    if _duckdb_file_missing(sa_url):
        logger.info("Store file %s does not exist yet: empty store.", sa_url.database)
        return {s: {} for s in streams}
    connect_args: dict[str, Any] = {}
    if sa_url.drivername.startswith("duckdb"):
        connect_args["read_only"] = True
    for attempt in range(1, attempts + 1):
        engine = sa.create_engine(sa_url, connect_args=connect_args, poolclass=sa.NullPool)
        try:
            return _read(engine, schema, streams)
        except sa.exc.OperationalError as exc:  # e.g. the DuckDB file lock held by a writer
            if attempt == attempts:
                raise
            logger.warning("Store not readable yet (%s); retrying.", type(exc.orig).__name__)
            time.sleep(pause * attempt)
        finally:
            engine.dispose()
    raise AssertionError("unreachable")


def _read(engine: sa.Engine, schema: str | None, streams: tuple[str, ...]) -> Store:
    import sqlalchemy as sa

    store: Store = {s: {} for s in streams}
    with engine.connect() as conn:
        schema_name = schema or conn.execute(sa.text("SELECT current_schema()")).scalar()
        tables = {
            row[0]
            for row in conn.execute(
                sa.text(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = :s"
                ),
                {"s": schema_name},
            )
        }
        for stream in streams:
            if stream not in tables:
                logger.info("Store table %s.%s not found: no existing %s.",
                            schema_name, stream, stream)
                continue
            fields = set(model.STREAMS[stream].field_names)
            key_field = model.STREAMS[stream].key
            table = f"{_quote(engine, str(schema_name))}.{_quote(engine, stream)}"
            result = conn.execute(sa.text(f"SELECT * FROM {table}"))
            columns = [c for c in list(result.keys()) if c in fields]
            if key_field not in columns:
                logger.warning("Store table %s has no %s column: ignored.", table, key_field)
                continue
            rows = store[stream]
            for row in result.mappings():
                key = store_key(stream, row[key_field])
                if key is None:
                    continue
                rows[key] = {c: normalize_store_value(c, row[c]) for c in columns}
            logger.info("Read %d existing %s from the store.", len(rows), stream)
    return store
