"""Bad-input catalogue: identity. Addresses that are not addresses, or that would look like
another contact's, are refused by the mapper and by the target with the same reason, naming
the record, the field and (for a character nobody can see) the character and its position;
nothing is stripped to make them match someone else. International addresses stay valid and
mixed case still matches. Imported by test_bad_input.py; each case runs on both accounts."""

from __future__ import annotations

import unicodedata
from typing import Any

from bad_input_helpers import (
    Env,
    case,
    lines,
    mapper_rejected,
    record,
    rejected,
    schema,
    written,
)

from activecampaign_client import normalize_email

PUSH_SCHEMA = {"type": "SCHEMA", "stream": "contacts", "schema": {"type": "object"},
               "key_properties": ["work_email"]}

# form -> (an address of that form, what the reason says)
FORMS: dict[str, tuple[str, str]] = {
    "zero-width-space": ("zw\u200bsp@x.io", "contains ZERO WIDTH SPACE (U+200B) at position 3"),
    "zero-width-joiner": ("zw\u200dj@x.io", "contains ZERO WIDTH JOINER (U+200D) at position 3"),
    "bidi-override": ("bidi\u202e@x.io", "contains RIGHT-TO-LEFT OVERRIDE (U+202E) at position 5"),
    "soft-hyphen": ("soft\u00adhy@x.io", "contains SOFT HYPHEN (U+00AD) at position 5"),
    "no-break-space": ("\u00a0nbsp@x.io", "contains NO-BREAK SPACE (U+00A0) at position 1"),
    "ideographic-space": ("isp@x.io\u3000", "contains IDEOGRAPHIC SPACE (U+3000) at position 9"),
    "control-character": ("ct\x01rl@x.io", "contains a control character (U+0001) at position 3"),
    "mailto-link": ("mailto:kim@x.io", "starts with 'mailto:'"),
    "angle-brackets": ("<script>@x.io", "contains '<' at position 1"),
    "name-and-brackets": ("Kim <kim2@x.io>", "contains '<' at position 5"),
    "leading-dot": (".ned@x.io", "starts with a dot"),
    "double-dot": ("mia..x@x.io", "has two dots in a row at position 4"),
    "local-part-65": ("l" * 65 + "@x.io", "has 65 characters before the @-sign; at most 64"),
    "address-255": ("a@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 63 + "." + "e" * 57 + ".com",
                    "is 255 characters long; at most 254"),
    "fullwidth-look-alike": ("\uff4bim3@x.io", "contains FULLWIDTH LATIN SMALL LETTER K "
                             "(U+FF4B) at position 1, a look-alike of 'k'"),
}


def visible(email: str) -> str:
    """What a person reads: the address without the characters nobody sees."""
    return "".join(ch for ch in email if unicodedata.category(ch)[0] not in "CZ").lower()


def _register(form: str, email: str, reason: str) -> None:
    @case(f"target-email-{form}")
    def _target(env: Env) -> None:
        before = env.emails()
        a, b = f"id-{form}-a@x.io", f"id-{form}-b@x.io"
        run = env.target(lines(schema("contacts"), record("contacts", {"email": a}),
                               record("contacts", {"email": email, "firstName": "Twin"}),
                               record("contacts", {"email": b})))
        assert run.returncode == 0, run.stderr[-2000:]
        line = rejected(run, normalize_email(email) or email, "Invalid email address",
                        "in field 'email'", reason)
        assert repr(email) in line["message"]  # the record as sent, invisible chars escaped
        written(run, env, a, b)
        assert sorted(env.emails()) == sorted([*before, a, b])  # nothing else created

    @case(f"mapper-email-{form}")
    def _mapper(env: Env) -> None:
        a, b = f"id-{form}-a@x.io", f"id-{form}-b@x.io"
        run = env.mapper(lines(PUSH_SCHEMA, record("contacts", {"work_email": a}),
                               record("contacts", {"work_email": email, "first_name": "Twin"}),
                               record("contacts", {"work_email": b})))
        mapper_rejected(run, 3, "work_email", f"invalid work_email: {reason}")
        assert [r["email"] for r in run.records("contacts")] == [a, b]


for _form, (_email, _reason) in FORMS.items():
    _register(_form, _email, _reason)


def _existing(env: Env) -> dict[str, Any]:
    return next(c for c in env.objects("contacts")
                if str(c["email"]).isascii() and len(str(c["email"]).split("@")[0]) > 3)


@case("target-zero-width-space-never-makes-a-second-contact")
def _(env: Env) -> None:
    existing = _existing(env)
    email = str(existing["email"]).lower()
    twin = email[:2] + "\u200b" + email[2:]  # reads exactly like the existing contact
    total = len(env.emails())
    run = env.target(lines(schema("contacts"),
                           record("contacts", {"email": twin, "firstName": "Impostor"})))
    assert run.returncode == 0, run.stderr[-2000:]
    rejected(run, twin, "contains ZERO WIDTH SPACE (U+200B) at position 3", "field 'email'")
    assert visible(twin) == email
    assert len(env.emails()) == total and env.emails().count(email) == 1
    after = next(c for c in env.objects("contacts") if c["id"] == existing["id"])
    assert after["firstName"] == existing["firstName"]  # nor was the existing one changed


@case("mapper-zero-width-space-is-not-stripped-into-another-contact")
def _(env: Env) -> None:
    email = str(_existing(env)["email"]).lower()
    twin = email[:2] + "\u200b" + email[2:]
    run = env.mapper(lines(PUSH_SCHEMA, record("contacts", {"work_email": twin})))
    mapper_rejected(run, 2, "work_email", "contains ZERO WIDTH SPACE (U+200B) at position 3")
    assert run.records("contacts") == []


@case("identity-mapper-and-target-give-the-same-reason")
def _(env: Env) -> None:
    email = "sa\u2060me@x.io"
    mapped = env.mapper(lines(PUSH_SCHEMA, record("contacts", {"work_email": email})))
    reason = mapped.rejects[0]["reason"]
    assert reason.startswith("invalid work_email: contains WORD JOINER (U+2060) at position 3")
    pushed = env.target(lines(schema("contacts"), record("contacts", {"email": email})))
    line = rejected(pushed, email, "WORD JOINER")
    problem = reason.removeprefix("invalid work_email: ")
    assert line["message"].endswith(
        f"Invalid email address {email!r} in field 'email': {problem}.")


@case("target-international-addresses-are-valid-and-match-in-any-case-or-form")
def _(env: Env) -> None:
    zoe, wei = "zoë@exämple.de", "王伟@example.cn"
    first = env.target(lines(schema("contacts"), record("contacts", {"email": zoe}),
                             record("contacts", {"email": wei})))
    assert first.returncode == 0 and not first.rejects, first.stderr[-2000:]
    written(first, env, zoe, wei)
    total = len(env.emails())
    nfd = unicodedata.normalize("NFD", "ZOË@EXÄMPLE.DE")  # looks the same, other code points
    again = env.target(lines(schema("contacts"),
                             record("contacts", {"email": nfd, "firstName": "Zoë"}),
                             record("contacts", {"email": f" {wei} ", "firstName": "Wei"})))
    assert again.returncode == 0 and not again.rejects, again.stderr[-2000:]
    assert again.outcomes() == {zoe: "updated", wei: "updated"}
    assert len(env.emails()) == total


@case("mapper-international-addresses-are-kept")
def _(env: Env) -> None:
    run = env.mapper(lines(PUSH_SCHEMA, record("contacts", {"work_email": "Zoë@Exämple.de"}),
                           record("contacts", {"work_email": "王伟@example.cn"})))
    assert run.returncode == 0 and not run.rejects, run.stderr[-2000:]
    assert [r["email"] for r in run.records("contacts")] == ["zoë@exämple.de", "王伟@example.cn"]
