"""Bad-input catalogue: the connection settings. A URL whose host would be read two ways, a
link-local, metadata or private address, a key pasted into the URL path, a key no HTTP header
can carry: each is refused before any request, by the tap (its run and ``--test``) and by the
target, with one line naming the setting and what to do, never the key and no traceback.
Imported by test_bad_input.py; each case runs on both accounts (the settings are checked
before the account is asked anything, so both answer alike)."""

from __future__ import annotations

from bad_input_helpers import KEY, Env, case, failed_cleanly, lines, record, run_plugin, schema

PASTED = "sk-PASTED-0a1b2c3d4e"


def _both(env: Env, *fragments: str, absent: tuple[str, ...] = (), **config: object) -> None:
    """The tap's run, its --test and the target's run all fail cleanly with ``fragments``,
    none of them showing any of ``absent``, and nothing reaches the account."""
    cfg = {"api_url": env.base_url, "api_key": KEY, **config}
    runs = [
        run_plugin("tap-activecampaign", cfg, env.workdir / "tap"),
        run_plugin("tap-activecampaign", cfg, env.workdir / "tap-test", args=("--test",)),
        run_plugin("target-activecampaign", cfg, env.workdir / "target",
                   lines(schema("contacts"), record("contacts", {"email": "c1@x.io"}))),
    ]
    for run in runs:
        failed_cleanly(run, *fragments, "Config validation failed")
        assert len(run.stderr.splitlines()) < 12, run.stderr  # a reason, not a traceback
        for text in absent:
            assert text not in run.everything(), text
        assert not run.records("users")
    assert "c1@x.io" not in env.emails()


@case("tap-target-api-url-backslash-host")
def _(env: Env) -> None:
    """requests would connect to evil.example, the check would have seen *.api-us1.com."""
    _both(env, "api_url https://(host hidden) does not have a valid host name",
          api_url="https://evil.example\\.api-us1.com")


@case("tap-target-api-url-number-spelling-of-metadata-address")
def _(env: Env) -> None:
    _both(env, "does not have a valid host name", api_url="https://2852039166")


@case("tap-target-api-url-cloud-metadata-address")
def _(env: Env) -> None:
    """Refused even where private networks are allowed."""
    _both(env, "api_url 'https://169.254.169.254' is a cloud metadata address",
          api_url="https://169.254.169.254", allow_private_network=True)


@case("tap-target-api-url-ipv6-metadata-address")
def _(env: Env) -> None:
    _both(env, "api_url 'https://[fd00:ec2::254]' is a cloud metadata address",
          api_url="https://[fd00:ec2::254]/api/3")


@case("tap-target-api-url-link-local-address")
def _(env: Env) -> None:
    _both(env, "is a link-local address", api_url="https://169.254.7.7")


@case("tap-target-api-url-metadata-host-name")
def _(env: Env) -> None:
    _both(env, "'https://metadata.google.internal' is a cloud metadata service",
          api_url="https://metadata.google.internal")


@case("tap-target-api-url-private-address")
def _(env: Env) -> None:
    _both(env, "api_url 'https://10.20.30.40' is a private network address",
          "set allow_private_network to true", api_url="https://10.20.30.40")


@case("tap-target-api-url-key-pasted-into-path")
def _(env: Env) -> None:
    _both(env, "has an unexpected path (hidden here: a key may have been pasted there)",
          absent=(PASTED,), api_url=f"{env.base_url}/api/3/{PASTED}")


@case("tap-target-api-key-non-latin-characters")
def _(env: Env) -> None:
    """Sent as is, it crashed requests with a UnicodeEncodeError traceback."""
    key = "ключ-доступа-1234"
    _both(env, "api_key contains characters that are not valid in an ActiveCampaign API key",
          absent=(key, "UnicodeEncodeError"), api_key=key)


@case("tap-target-api-key-control-character")
def _(env: Env) -> None:
    key = "abc\x01def-5678"
    _both(env, "api_key contains characters that are not valid", absent=(key,), api_key=key)


@case("tap-test-with-an-invalid-setting-gives-the-run-reason")
def _(env: Env) -> None:
    """--test used to end in a 30-line traceback; now the same line as a normal run."""
    cfg = {"api_url": "http://acme.api-us1.com", "api_key": KEY}
    run = run_plugin("tap-activecampaign", cfg, env.workdir / "run")
    test = run_plugin("tap-activecampaign", cfg, env.workdir / "test", args=("--test",))
    reason = "api_url 'http://acme.api-us1.com' must use https://"
    failed_cleanly(run, reason)
    failed_cleanly(test, reason, "Config validation failed")
    assert "Connection" not in test.stderr  # nothing was tried


@case("tap-api-url-localhost-name-still-works")
def _(env: Env) -> None:
    """Loopback stays allowed (the local sandbox), by name too: the connect-time address
    check resolves localhost and lets it through."""
    port = env.base_url.rsplit(":", 1)[1]
    cfg = {"api_url": f"http://localhost:{port}", "api_key": KEY}
    run = run_plugin("tap-activecampaign", cfg, env.workdir, args=("--test",))
    assert run.returncode == 0, run.stderr[-2000:]
    assert f"Connection OK: http://localhost:{port}/api/3 accepted the API key" in \
        run.stdout + run.stderr
