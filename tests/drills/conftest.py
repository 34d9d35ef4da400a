"""Fixtures of the fault drills: one stack of real servers for the session (PostgreSQL, Redis,
moto behind its proxy; migrated once), and per drill the platform's roles (gunicorn, a worker
with two processes, beat), stopped after the drill whatever happened."""

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.drills.stack import Stack, base_env


@pytest.fixture(scope="session")
def drill_servers() -> Iterator[Stack]:
    if os.geteuid() != 0:
        pytest.fail("The drills run as root: PostgreSQL runs as the postgres user, tmpfs mounts.")
    # Not under pytest's own tmp folder: that one is private to root, and postgres must enter.
    tmp = Path(tempfile.mkdtemp(prefix="metagen-drills-"))
    tmp.chmod(0o755)
    stack = Stack(tmp=tmp)
    atexit.register(stack.close)  # even if the session dies before its finalizers run
    try:
        stack.postgres_init()
        stack.redis_start()
        stack.moto_start()
        stack.manage("migrate", "--noinput")
        yield stack
    finally:
        stack.close()
        if not os.environ.get("DRILL_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def stack(drill_servers: Stack, request: pytest.FixtureRequest) -> Iterator[Stack]:
    """The servers up and an empty broker; the test starts the roles it needs. Everything the
    test started is stopped afterwards, mounts included; on failure the logs are printed."""
    stack = drill_servers
    stack.logs = stack.tmp / "logs" / request.node.name
    stack.logs.mkdir(parents=True, exist_ok=True)
    stack.servers_up()
    stack.redis_flush()
    stack.env = base_env()  # a drill may have changed it
    (stack.tmp / "worker-tmp").mkdir(exist_ok=True)
    stack.env["TMPDIR"] = str(stack.tmp / "worker-tmp")
    try:
        yield stack
    finally:
        stack.roles_stop()
        stack.kill_strays()
        stack.unmount_all()
        stack.servers_up()
        for name in ("worker", "beat", "web"):
            print(f"--- {name} log (tail) ---\n{stack.log(name)[-6000:]}")
