"""Real databases for the store's tests: a SQLite file, and a PostgreSQL server the tests start.

PostgreSQL runs from the `postgresql` Debian package's binaries (`.ci/run` installs them) on a
free loopback port, in a temporary folder, as the `postgres` user when the tests run as root
(PostgreSQL refuses root). Without the binaries the PostgreSQL cases are skipped, except in CI
(`CI` set), where a missing server is a failure.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

import pytest


def postgres_bin() -> str | None:
    """The folder of PostgreSQL's server binaries (the newest installed), if any."""
    found = shutil.which("initdb")
    if found:
        return os.path.dirname(found)
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(versions[-1]) if versions else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server of its own; its SQLAlchemy URL. Stopped (by pid) and removed after."""
    bindir = postgres_bin()
    if bindir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL's server binaries are missing (.ci/run installs them)")
        pytest.skip("PostgreSQL's server binaries are not installed (apt install postgresql)")
    folder = tempfile.mkdtemp(prefix="taskagent-pg-")
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data = os.path.join(folder, "data")
    subprocess.run(
        [*as_user, f"{bindir}/initdb", "-D", data, "-U", "taskagent", "--auth=trust", "-E", "UTF8"],
        check=True,
        capture_output=True,
    )
    port = _free_port()
    server = subprocess.Popen(
        [
            *as_user,
            f"{bindir}/postgres",
            "-D",
            data,
            "-p",
            str(port),
            "-h",
            "127.0.0.1",
            "-k",
            folder,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"postgresql+psycopg://taskagent@127.0.0.1:{port}/postgres"
    try:
        _wait_until_accepting(port, server)
        yield url
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(folder, ignore_errors=True)


def _wait_until_accepting(port: int, server: subprocess.Popen[bytes]) -> None:
    import psycopg

    deadline = time.monotonic() + 30
    while True:
        assert server.poll() is None, "the PostgreSQL server exited at start"
        try:
            psycopg.connect(f"host=127.0.0.1 port={port} user=taskagent dbname=postgres").close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
