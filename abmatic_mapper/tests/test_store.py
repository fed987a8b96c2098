"""fill / overwrite / operations held against an Abmatic store (a DuckDB file made here)."""

from __future__ import annotations

import json

import duckdb
import pytest

CONTACT = {"type": "RECORD", "stream": "contacts", "record": {
    "id": "5", "email": "ann@acme.com", "firstName": "Annie", "lastName": "Lee",
    "phone": "+1 555 0001", "cdate": "2024-01-01T09:00:00-05:00", "udate": None,
    "custom_fields": {"Lead Score": "90", "Color": "red"}}}
NEW_CONTACT = {"type": "RECORD", "stream": "contacts", "record": {
    "id": "6", "email": "new@acme.com", "firstName": "Neo", "lastName": None, "phone": None,
    "cdate": None, "udate": None, "custom_fields": None}}
SCHEMA = {"type": "SCHEMA", "stream": "contacts", "schema": {"type": "object"},
          "key_properties": ["id"]}
STATE = {"type": "STATE", "value": {"bookmarks": {"contacts": {}}}}


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "abmatic.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA abm")
    con.execute("CREATE TABLE abm.contacts (work_email VARCHAR, first_name VARCHAR, "
                "last_name VARCHAR, phone VARCHAR, custom_fields VARCHAR, "
                "engagement_score DOUBLE, created_at TIMESTAMP, _sdc_batched_at TIMESTAMP)")
    con.execute("INSERT INTO abm.contacts VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
                ["ANN@acme.com", "Ann", None, "+1 555 0000",
                 json.dumps({"score": "10", "color": "blue"}), 3.0, "2023-06-01 00:00:00"])
    con.close()
    return {"store_url": f"duckdb:///{path}", "store_schema": "abm",
            "custom_fields": {"contacts": {"Lead Score": {"key": "score", "mode": "overwrite"},
                                           "Color": "color"}}}


def test_fill_mode_keeps_existing_first_name(mapper_run, store):
    run = mapper_run([SCHEMA, CONTACT, STATE], store)
    ann = run.record("contacts", "work_email", "ann@acme.com")
    assert ann["first_name"] == "Ann"  # fill: the store already has a value
    assert ann["last_name"] == "Lee"  # fill: the store value was empty
    assert ann["created_at"] == "2023-06-01T00:00:00Z"


def test_overwrite_mode_replaces_existing_first_name(mapper_run, store):
    run = mapper_run([SCHEMA, CONTACT], {**store,
                                         "field_modes": {"contacts.first_name": "overwrite"}})
    assert run.record("contacts", "work_email", "ann@acme.com")["first_name"] == "Annie"


def test_custom_fields_keep_per_key_modes_against_json_text(mapper_run, store):
    run = mapper_run([SCHEMA, CONTACT], store)
    assert run.record("contacts", "work_email", "ann@acme.com")["custom_fields"] == {
        "score": "90", "color": "blue"}


def test_null_source_never_erases_store_value(mapper_run, store):
    cleared = {**CONTACT, "record": {**CONTACT["record"], "phone": None}}
    run = mapper_run([SCHEMA, cleared], {**store,
                                         "field_modes": {"contacts.phone": "overwrite"}})
    assert run.record("contacts", "work_email", "ann@acme.com")["phone"] == "+1 555 0000"


def test_update_only_drops_new_contacts(mapper_run, store):
    run = mapper_run([SCHEMA, CONTACT, NEW_CONTACT],
                     {**store, "operations": {"contacts": {"create": False}}})
    assert [r["work_email"] for r in run.records("contacts")] == ["ann@acme.com"]
    assert run.mapper.stats.streams["contacts"]["skipped_create_off"] == 1
    assert run.rejects() == []


def test_create_only_drops_existing_contacts(mapper_run, store):
    run = mapper_run([SCHEMA, CONTACT, NEW_CONTACT],
                     {**store, "operations": {"contacts": {"update": False}}})
    assert [r["work_email"] for r in run.records("contacts")] == ["new@acme.com"]
    assert run.mapper.stats.streams["contacts"]["skipped_update_off"] == 1


def test_missing_store_file_is_an_empty_store(mapper_run, tmp_path):
    run = mapper_run([SCHEMA, CONTACT], {"store_url": f"duckdb:///{tmp_path / 'none.duckdb'}"})
    assert run.record("contacts", "work_email", "ann@acme.com")["first_name"] == "Annie"
    assert not (tmp_path / "none.duckdb").exists()


def test_store_connection_is_closed_before_records_flow(mapper_run, store, tmp_path):
    run = mapper_run([SCHEMA, CONTACT], store)
    assert run.records("contacts")
    con = duckdb.connect(str(tmp_path / "abmatic.duckdb"))  # a writer can take the lock
    con.close()
