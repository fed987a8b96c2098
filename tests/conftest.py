"""Fixtures of the cross-plugin and end-to-end tests (tests/).

- `meltano_installed`: Meltano in .tools/meltano and every plugin in .meltano/, installed by
  scripts/meltano.sh when missing or changed (a failure, never a skip, when that fails).
- `pg_server`: a PostgreSQL server. ABMATIC_TEST_PG_URL (postgresql://user@host:port, e.g. the
  one scripts/test.sh starts) or, when unset, a throw-away server started here with
  scripts/postgres.sh and stopped at the end of the session.
- `pg_database`: a fresh database on that server (SQLAlchemy URL, postgresql+psycopg://).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # e2e_helpers (pytest runs importlib mode)
from e2e_helpers import PG_PY, ROOT, install_meltano_and_plugins


@pytest.fixture(scope="session")
def meltano_installed() -> None:
    install_meltano_and_plugins()


@pytest.fixture(scope="session")
def pg_server(meltano_installed: None) -> Iterator[str]:
    given = os.environ.get("ABMATIC_TEST_PG_URL")
    if given:
        yield re.sub(r"/[^/@]*$", "", given.replace("postgresql+psycopg://", "postgresql://"))
        return
    script = ROOT / "scripts" / "postgres.sh"
    try:
        proc = subprocess.run(
            ["bash", str(script), "start"], capture_output=True, text=True, timeout=120
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.fail(
            f"PostgreSQL could not be started with scripts/postgres.sh: {exc}", pytrace=False
        )
    if proc.returncode != 0:
        pytest.fail(
            "PostgreSQL is needed by the `postgres` tests and could not be started "
            "(scripts/postgres.sh start; install the server: apt-get install postgresql, "
            "or set ABMATIC_TEST_PG_URL=postgresql://user@host:port):\n"
            f"{proc.stdout}{proc.stderr}",
            pytrace=False,
        )
    found = dict(re.findall(r"export (ABMATIC_PG_\w+)=(\S+)", proc.stdout))
    try:
        yield f"postgresql://postgres@127.0.0.1:{found['ABMATIC_PG_PORT']}"
    finally:
        subprocess.run(
            ["bash", str(script), "stop", found["ABMATIC_PG_DIR"]], capture_output=True, timeout=120
        )


@pytest.fixture(scope="module")
def pg_database(pg_server: str) -> str:
    name = f"e2e_{uuid.uuid4().hex[:10]}"
    script = (
        "import sys, psycopg\n"
        "with psycopg.connect(sys.argv[1] + '/postgres', autocommit=True) as con:\n"
        "    con.execute('CREATE DATABASE ' + sys.argv[2])\n"
    )
    proc = subprocess.run(
        [str(PG_PY), "-c", script, pg_server, name], capture_output=True, text=True, timeout=60
    )
    if proc.returncode != 0:
        pytest.fail(
            f"could not create database {name} on {pg_server}:\n{proc.stderr[-2000:]}",
            pytrace=False,
        )
    return pg_server.replace("postgresql://", "postgresql+psycopg://") + "/" + name
