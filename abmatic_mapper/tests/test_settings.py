"""Settings: defaults applied, invalid settings fail with the exact path and allowed values."""

from __future__ import annotations

import pytest

import abmatic_mapper.model as model
from abmatic_mapper.settings import CONFIG_SCHEMA, SettingsError, parse_settings
from activecampaign_client.sync_rules import FILL, MODES, OPERATIONS, OVERWRITE


def test_empty_config_applies_the_model_default_mapping():
    s = parse_settings({})
    assert s.direction == "import"
    assert s.modes["contacts"]["first_name"] == FILL
    assert s.modes["contacts"]["work_email"] == OVERWRITE
    assert s.modes["accounts"]["company_name"] == FILL
    assert s.operations["contacts"] == {"create": True, "update": True}


def test_nested_operation_defaults_are_applied():
    s = parse_settings({"operations": {"contacts": {"create": False}}})
    assert s.operations["contacts"] == {"create": False, "update": True}
    assert s.operations["accounts"] == {"create": True, "update": True}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"field_modes": {"contacts.first_name": "fil"}},
         'field_modes["contacts.first_name"]: "fil" is not one of dont_sync, fill, overwrite'),
        ({"direction": "sideways"}, 'direction: "sideways" is not one of import, push'),
        ({"field_modes": {"contacts.frist_name": "fill"}},
         'field_modes["contacts.frist_name"]: unknown field "frist_name"'),
        ({"field_modes": {"leads.first_name": "fill"}},
         'field_modes["leads.first_name"]: unknown stream "leads"'),
        ({"field_modes": {"contacts.work_email": "dont_sync"}},
         "work_email is the match key of contacts"),
        ({"custom_fields": {"contacts": {"Score": {"key": "score", "mode": "always"}}}},
         'custom_fields["contacts"]["Score"].mode: "always" is not one of dont_sync, fill, '
         "overwrite"),
        ({"custom_fields": {"contacts": {"Name": "first_name"}}},
         'custom_fields["contacts"]["Name"].key: "first_name" is a standard contacts field'),
        ({"operations": {"contacts": {"delete": True}}},
         'operations["contacts"]: "delete" is not one of create, update'),
        ({"operations": {"contacts": {"create": "no"}}},
         'operations["contacts"].create: "no" must be true or false'),
        ({"unmapped_custom_fields": "maybe"},
         'unmapped_custom_fields: "maybe" is not one of import, ignore'),
        ({"clear_on_null": ["contacts.nope"]}, 'clear_on_null[0]: "contacts.nope"'),
        ({"dedupe_buffer_keys": 0}, "dedupe_buffer_keys: 0 must be a positive integer"),
    ],
)
def test_invalid_settings_fail_with_path_and_allowed_values(config, message):
    with pytest.raises(SettingsError) as exc:
        parse_settings(config)
    assert any(message in e for e in exc.value.errors), exc.value.errors


@pytest.mark.parametrize(
    ("stream", "field"),
    [(s, f.name) for s in model.STREAMS for f in model.STREAMS[s].fields
     if f.name != model.STREAMS[s].key],
)
def test_every_model_field_accepts_every_mode_override(stream, field):
    for mode in ("dont_sync", "fill", "overwrite"):
        s = parse_settings({"field_modes": {f"{stream}.{field}": mode}})
        assert s.modes[stream][field] == mode


def test_the_schema_declares_modes_operations_and_custom_field_entries():
    """--about documents the shapes; the enums are sync_rules' own (one spelling)."""
    props = CONFIG_SCHEMA["properties"]
    assert props["field_modes"]["additionalProperties"]["enum"] == list(MODES)
    entry = props["custom_fields"]["properties"]["contacts"]["additionalProperties"]["anyOf"]
    assert [e["type"] for e in entry] == ["string", "object"]
    assert entry[1]["properties"]["mode"]["enum"] == list(MODES)
    ops = props["operations"]["properties"]["accounts"]["properties"]
    assert list(ops) == list(OPERATIONS)
    assert all(o["type"] == "boolean" for o in ops.values())


def test_the_schema_accepts_what_the_settings_accept():
    import jsonschema

    config = {"field_modes": {"contacts.first_name": "overwrite"},
              "custom_fields": {"contacts": {"Lead Score": {"key": "engagement_score",
                                                            "mode": "overwrite"},
                                             "Industry": "industry"}},
              "operations": {"contacts": {"create": False}}}
    parse_settings(config)
    jsonschema.validate(config, CONFIG_SCHEMA)
