"""What Abmatic matches on: registrable domains (tldextract) and valid emails (email-validator)."""

from __future__ import annotations

import random
import socket
from typing import Any

import pytest
from email_validator import EmailNotValidError, validate_email

from activecampaign_client.normalize import (
    email_problem,
    is_valid_email,
    normalize_domain,
    normalize_email,
)


@pytest.mark.parametrize(("website", "domain"), [
    # A company is matched by its registrable domain, whatever page or sub-site is given.
    ("blog.acme.com", "acme.com"),
    ("https://shop.acme.co.uk/cart", "acme.co.uk"),
    ("https://eu.app.acme.io:8443/login", "acme.io"),
    ("WWW.Acme.COM.", "acme.com"),
    ("acme.com.au", "acme.com.au"),
    # A site hosted on a private suffix is its own account, not the host's.
    ("acme.github.io", "acme.github.io"),
    ("https://www.acme.github.io/", "acme.github.io"),
    ("shop.acme.myshopify.com", "acme.myshopify.com"),
    ("acme.herokuapp.com", "acme.herokuapp.com"),
    # International names are compared in their ASCII (punycode) form.
    ("bücher.de", "xn--bcher-kva.de"),
    ("www.xn--bcher-kva.de", "xn--bcher-kva.de"),
    # A suffix the bundled list does not know (a newer TLD): the host is kept whole.
    ("shop.acme.zz", "shop.acme.zz"),
    # No company: a bare public suffix, a single label, an IP address, blanks.
    ("co.uk", None),
    ("github.io", None),
    ("www.co.uk", None),
    ("localhost", None),
    ("192.168.1.10", None),
    ("", None),
    (None, None),
    (42, None),
])
def test_websites_match_on_their_registrable_domain(website: Any, domain: str | None) -> None:
    assert normalize_domain(website) == domain


def test_the_suffix_list_is_the_bundled_one_and_never_fetched(monkeypatch) -> None:
    def no_network(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("network used")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    import tldextract

    fresh = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None,
                                  include_psl_private_domains=True)
    assert fresh("a.b.example.co.uk").top_domain_under_public_suffix == "example.co.uk"


@pytest.mark.parametrize(("email", "valid"), [
    ("ada@acme.com", True),
    ("  Ada.Lovelace+crm@Acme.CO.UK ", True),
    ("o'brien@acme.ie", True),
    ("üser@bücher.de", True),
    ("a..b@acme.com", False),  # two dots in a row
    (".a@acme.com", False),  # leading dot
    ("a.@acme.com", False),  # trailing dot
    ("two@@acme.com", False),
    ("spaces in@acme.com", False),
    ("ada@localhost", False),  # no dot in the domain
    ("ada@acme.test", False),  # reserved names cannot receive mail
    ("ada@acme.local", False),
    ("ada@-acme.com", False),
    ("ada@1.2.3.4", False),
    ("ada@[1.2.3.4]", False),
    ('"ada lovelace"@acme.com', False),  # quoted local parts are not accepted
    ("a" * 64 + "@acme.com", True),
    ("a" * 65 + "@acme.com", False),  # over 64 before the @
    ("a@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 63 + "." + "e" * 57 + ".com", False),
    ("", False),
    (None, False),
])
def test_emails_follow_email_validator_syntax_rules(email: Any, valid: bool) -> None:
    assert is_valid_email(email) is valid


def test_the_per_domain_shortcut_agrees_with_email_validator() -> None:
    rng = random.Random(11)
    alphabet = "ab.-_+'@ü1"
    for _ in range(3000):
        local = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))
        domain = "".join(rng.choice("ab.-1ü") for _ in range(rng.randint(0, 8)))
        email = f"{local}@{domain}{rng.choice(['', '.com', '.test', '.c'])}"
        try:
            validate_email(email, check_deliverability=False)
            expected = True
        except EmailNotValidError:
            expected = False
        assert is_valid_email(email) is expected, email


@pytest.mark.parametrize(("email", "reason"), [
    # Characters a person cannot see: the address would look like an existing one.
    ("ki\u200bm@example.com", "contains ZERO WIDTH SPACE (U+200B) at position 3"),
    ("kim@example.com\u200b", "contains ZERO WIDTH SPACE (U+200B) at position 16"),
    ("  \u200bkim@example.com", "contains ZERO WIDTH SPACE (U+200B) at position 3"),
    ("k\u200dim@example.com", "contains ZERO WIDTH JOINER (U+200D) at position 2"),
    ("k\u200cim@example.com", "contains ZERO WIDTH NON-JOINER (U+200C) at position 2"),
    ("\ufeffkim@example.com", "contains ZERO WIDTH NO-BREAK SPACE (U+FEFF) at position 1"),
    ("k\u00adim@example.com", "contains SOFT HYPHEN (U+00AD) at position 2"),
    ("k\u202eim@example.com", "contains RIGHT-TO-LEFT OVERRIDE (U+202E) at position 2"),
    ("k\u200fim@example.com", "contains RIGHT-TO-LEFT MARK (U+200F) at position 2"),
    ("k\u2066im@example.com", "contains LEFT-TO-RIGHT ISOLATE (U+2066) at position 2"),
    ("k\u2060im@example.com", "contains WORD JOINER (U+2060) at position 2"),
    ("k\u034fim@example.com", "contains COMBINING GRAPHEME JOINER (U+034F) at position 2"),
    ("k\u3164im@example.com", "contains HANGUL FILLER (U+3164) at position 2"),
    ("kim\ufe0f@example.com", "contains VARIATION SELECTOR-16 (U+FE0F) at position 4"),
    ("k\ue000im@example.com", "(U+E000) at position 2"),  # private use
    ("k\x01m@example.com", "contains a control character (U+0001) at position 2"),
    ("\x1ckim@example.com", "contains a control character (U+001C) at position 1"),
    ("k\x7fm@example.com", "contains a control character (U+007F) at position 2"),
    ("kim@example.com\u2028", "contains LINE SEPARATOR (U+2028) at position 16"),
    ("kim@example.com\u2029", "contains PARAGRAPH SEPARATOR (U+2029) at position 16"),
    # Spaces other than the ASCII ones trimmed around an address are not trimmed: refused.
    ("\u00a0kim@example.com", "contains NO-BREAK SPACE (U+00A0) at position 1"),
    ("kim@example.com\u3000", "contains IDEOGRAPHIC SPACE (U+3000) at position 16"),
    ("k im@example.com", "contains SPACE (U+0020) at position 2; an address holds no spaces"),
    # Look-alikes before the @-sign (the domain is IDNA-normalized instead).
    ("\uff4bim@example.com", "contains FULLWIDTH LATIN SMALL LETTER K (U+FF4B) at position 1, "
                           "a look-alike of 'k'"),
    # What people paste from a page or a mail client.
    ("mailto:kim@example.com", "starts with 'mailto:'"),
    ("Kim <kim@example.com>", "contains '<' at position 5; give the bare address"),
    ("<script>@example.com", "contains '<' at position 1"),
    ("kim@example.com>", "contains '>' at position 16"),
    # Dots and lengths.
    (".ned@example.com", "starts with a dot"),
    ("ned.@example.com", "has a dot right before the @-sign"),
    ("mia..x@example.com", "has two dots in a row at position 4"),
    ("a" * 65 + "@example.com", "has 65 characters before the @-sign; at most 64 are allowed"),
    ("a@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 63 + "." + "e" * 57 + ".com",
     "is 255 characters long; at most 254 are allowed"),
    # The rest is email-validator's verdict.
    ("no-at-sign", "has no @-sign"),
    ("two@@acme.com", "has 2 @-signs"),
    ("ada@acme.test", "special-use or reserved name"),
    ("", "is empty"),
    (None, "is empty"),
])
def test_an_address_is_refused_naming_what_is_wrong(email: Any, reason: str) -> None:
    problem = email_problem(email)
    assert problem is not None and reason in problem, problem
    assert not is_valid_email(email)


@pytest.mark.parametrize("email", [
    "ki\u200bm@example.com", "\u00a0kim@example.com", "kim@example.com\u2028",
    "\x1ckim@example.com", "kim@example.com\u0085", "\u2003kim@example.com", "KIM@example.com\x0c",
])
def test_normalizing_never_turns_a_refused_address_into_a_valid_other_one(email: str) -> None:
    # str.strip() would drop these (Unicode whitespace) and match kim@example.com
    key = normalize_email(email)
    assert key != "kim@example.com"
    assert not is_valid_email(email) and not is_valid_email(key)


@pytest.mark.parametrize(("email", "key"), [
    ("  Kim@Example.COM\t", "kim@example.com"),  # mixed case matches, as before
    ("\nkim@example.com\r\n", "kim@example.com"),
    ("zoë@exämple.de", "zoë@exämple.de"),  # international addresses stay valid (SMTPUTF8)
    ("ZOË@EXÄMPLE.DE", "zoë@exämple.de"),
    ("王伟@example.cn", "王伟@example.cn"),
    # Two spellings a person reads alike are one key: NFD and NFC, punycode and Unicode,
    # a fullwidth domain (IDNA maps it).
    ("zo\u0065\u0308@example.de", "zo\u00eb@example.de"),
    ("kim@xn--bcher-kva.de", "kim@bücher.de"),
    ("kim@\uff45xample.com", "kim@example.com"),
])
def test_valid_addresses_have_one_key_per_reading(email: str, key: str) -> None:
    assert email_problem(email) is None
    assert normalize_email(email) == key
    assert normalize_email(key) == key and is_valid_email(key)
