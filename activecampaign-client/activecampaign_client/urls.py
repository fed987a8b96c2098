"""Checks of the two connection settings: the API URL and the API key.

The URL is parsed once; the request base is built from the parsed parts, so the host that was
checked is the host contacted. Messages show at most ``scheme://host:port``: never a path,
query, fragment or user part (a key may have been pasted there), and never the key.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import SplitResult, urlsplit

from urllib3.util import parse_url

from activecampaign_client.errors import FIND_KEY_HINT, URL_HINT, ConfigError
from activecampaign_client.redact import remember_secret

LOOPBACK_NAMES = {"localhost"}
# Names of cloud metadata services (AWS, GCP, Azure, Alibaba, Tencent, OpenStack).
METADATA_NAMES = {"metadata", "metadata.google.internal", "metadata.goog", "instance-data",
                  "instance-data.ec2.internal", "metadata.tencentyun.com",
                  "metadata.platformequinix.com"}
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_net = ipaddress.ip_network
LINK_LOCAL = (_net("169.254.0.0/16"), _net("fe80::/10"))
# fd00::/8 holds AWS's IPv6 metadata address (fd00:ec2::254); 100.100.100.200 is Alibaba's,
# 168.63.129.16 Azure's wire server, 169.254.170.2 the ECS task metadata.
METADATA_NETWORKS = (_net("fd00::/8"), _net("100.100.100.200/32"), _net("168.63.129.16/32"),
                     _net("169.254.169.254/32"), _net("169.254.170.2/32"))
PRIVATE_NETWORKS = (_net("10.0.0.0/8"), _net("172.16.0.0/12"), _net("192.168.0.0/16"),
                    _net("100.64.0.0/10"), _net("fc00::/7"))
NAT64 = _net("64:ff9b::/96")
ALLOW_PRIVATE_HINT = (
    "ActiveCampaign's API is on the public internet; if your network really reaches it "
    "through a private address (your own gateway or proxy), set allow_private_network to true"
)
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
# Letters, digits, hyphens and dots only; the last label starts with a letter, so that
# "2852039166" or "0251.0376.0251.0376" (other spellings of 169.254.169.254) are no host names.
_HOSTNAME = re.compile(rf"^(?:{_LABEL}\.)*[a-z](?:[a-z0-9-]{{0,61}}[a-z0-9])?$")
_HOSTLIKE = re.compile(r"^[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+/?$")


def _ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (mapped, 6to4, NAT64), if any."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped or ip.sixtofour:
        return ip.ipv4_mapped or ip.sixtofour
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_problem(address: str | IPAddress, *, allow_private_network: bool = False
                    ) -> str | None:
    """Why an address must not be contacted, or None. Loopback (the local sandbox) is fine;
    link-local and cloud-metadata addresses never are; private ranges only when allowed.
    The reason reads after "<host>" and has no final period."""
    ip = address if not isinstance(address, str) else _ip(address.split("%", 1)[0])
    if ip is None:
        return "is not an IP address"
    ip = _embedded_ipv4(ip) or ip
    if ip.is_loopback:
        return None
    if any(ip in net for net in METADATA_NETWORKS):
        return "is a cloud metadata address, never ActiveCampaign's"
    if any(ip in net for net in LINK_LOCAL):
        return "is a link-local address (169.254.0.0/16, fe80::/10: where cloud metadata lives)"
    if any(ip in net for net in PRIVATE_NETWORKS):
        if allow_private_network:
            return None
        return ("is a private network address (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, "
                f"100.64.0.0/10, fc00::/7): {ALLOW_PRIVATE_HINT}")
    if not ip.is_global:
        return "is not a public internet address (unspecified, multicast or reserved)"
    return None


def _shown(parts: SplitResult | None, raw: str) -> str:
    """The URL as messages may echo it: ``scheme://host:port`` at most (see module doc)."""
    if parts is None or not parts.scheme:
        # Show a bare host name ("acme.api-us1.com"); hide anything else (it may be the key
        # pasted into the wrong setting).
        if _HOSTLIKE.match(raw):
            return repr(raw)
        return "(value hidden: it does not look like a URL)"
    host = (parts.hostname or "").lower()
    if not (_HOSTNAME.match(host) or _ip(host)):
        return f"{parts.scheme}://(host hidden)" if parts.scheme in ("http", "https") else \
            "(value hidden: it does not look like a URL)"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return repr(f"{parts.scheme}://{f'[{host}]' if ':' in host else host}{port}")


def _fail(shown: str, problem: str) -> ConfigError:
    return ConfigError(f"api_url {shown} {problem} {URL_HINT}")


def normalize_api_url(url: str, *, allow_private_network: bool = False) -> str:
    """The API base ``scheme://host[:port]/api/3``, built from the parsed URL.

    Accepts the URL from Settings -> Developer with or without a trailing ``/`` or ``/api/3``.
    HTTPS is required, except for loopback hosts (the local sandbox). Link-local and cloud
    metadata hosts are refused; private addresses too unless ``allow_private_network``.
    """
    if not isinstance(url, str) or not url.strip():
        raise ConfigError(f"api_url is empty. {URL_HINT}")
    raw = url.strip()
    if any(c.isspace() or not c.isprintable() for c in raw):  # urlsplit would drop some
        raise ConfigError("api_url contains spaces, line breaks or control characters: paste "
                          f"the bare account URL again. {URL_HINT}")
    try:
        parts: SplitResult | None = urlsplit(raw)
    except ValueError:
        parts = None
    shown = _shown(parts, raw)
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise _fail(shown, "is not a valid URL.")
    if parts.username is not None or parts.password is not None:
        raise _fail(shown, "must not contain a user name or password (the key goes in "
                           "api_key).")
    host = parts.hostname.lower()
    ip = _ip(host)
    if ip is None and not _HOSTNAME.match(host):
        raise _fail(shown, "does not have a valid host name: only letters, digits, hyphens "
                           "and dots (or an IP address) are allowed, since any other character "
                           "(such as a backslash) can make the request go to another host.")
    try:
        port = parts.port
    except ValueError:
        raise _fail(shown, "has a port that is not a number from 1 to 65535.") from None
    if parts.scheme != "https" and not (host in LOOPBACK_NAMES or (ip and ip.is_loopback)):
        raise _fail(shown, "must use https:// (plain http is allowed only for a local "
                           "sandbox on 127.0.0.1 or localhost).")
    if parts.query or parts.fragment or raw.endswith(("?", "#")):
        raise _fail(shown, "must not contain a query or fragment (hidden here: a key may "
                           "have been pasted there).")
    path = parts.path.rstrip("/")
    if path.endswith("/api/3"):
        path = path[: -len("/api/3")]
    if path:
        raise _fail(shown, "has an unexpected path (hidden here: a key may have been pasted "
                           "there); use the bare account URL.")
    if host in METADATA_NAMES:
        raise _fail(shown, "is a cloud metadata service, not ActiveCampaign.")
    if ip is not None and (problem := address_problem(
            ip, allow_private_network=allow_private_network)):
        raise _fail(shown, f"{problem}.")
    netloc = f"[{host}]" if ip is not None and ip.version == 6 else host
    if port and port != {"http": 80, "https": 443}[parts.scheme]:
        netloc = f"{netloc}:{port}"
    base = f"{parts.scheme}://{netloc}/api/3"
    sent = parse_url(base)  # how requests (urllib3) will read it: it must be the same host
    if (sent.host or "").strip("[]").lower() != host or sent.scheme != parts.scheme:
        raise _fail(shown, "is read differently by the HTTP library; use the bare account URL.")
    return base


def check_api_key(key: str) -> str:
    """The key, or a ConfigError that never echoes the key itself.

    A key that passes is remembered for redaction (``redact.scrub``): from then on it is
    replaced in every message, log record and output line of the process."""
    if not isinstance(key, str) or not key:
        raise ConfigError(f"api_key is empty. {FIND_KEY_HINT}")
    remember_secret(key)
    if key != key.strip() or any(c.isspace() for c in key):
        raise ConfigError(
            "api_key contains whitespace (often a copy-paste slip): remove spaces and line "
            f"breaks. {FIND_KEY_HINT}"
        )
    if not all("!" <= c <= "~" for c in key):  # what an HTTP header carries as is
        raise ConfigError(
            "api_key contains characters that are not valid in an ActiveCampaign API key "
            "(accented or non-Latin letters, symbols outside ASCII or control characters; a "
            "key has only letters, digits and punctuation): copy it again, it may have been "
            f"mixed up with other text. {FIND_KEY_HINT}"
        )
    return key
