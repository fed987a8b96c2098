"""What Abmatic matches on: registrable domains (tldextract) and valid emails (email-validator)."""

from __future__ import annotations

import random
import socket
from typing import Any

import pytest
from email_validator import EmailNotValidError, validate_email

from activecampaign_client.normalize import is_valid_email, normalize_domain


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
    ("a" * 65 + "@acme.com", True),  # over 64 before the @: refused only in strict mode
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
