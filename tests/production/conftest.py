"""Production mode for real: `hotline serve` and `hotline worker delivery` as separate processes on
this run's PostgreSQL database and on Redis, with the fake Telegram and WeChat APIs.

Redis is the machine's (127.0.0.1:6379) with a namespace of the test's own. The tests that restart
Redis or PostgreSQL get a private `redis-server` or PostgreSQL cluster on a free port instead, so
nobody else's tests on the machine notice.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import Engine, text

from bench.cluster import Cluster, free_port
from handoff import schema
from handoff.models import Base
from handoff.store import make_engine
from tests.bots.platforms import TELEGRAM_TOKEN, FakeTelegram, fake_telegram  # noqa: F401
from tests.conftest import _REFERENCE, _require, _seed

REDIS_URL = "redis://127.0.0.1:6379/0"
TELEGRAM_SECRET = "production-test-secret"
WECHAT_TOKEN = "production-test-token"


@pytest.fixture
def pg_url(postgres_url: str) -> Iterator[str]:
    yield postgres_url
    engine = make_engine(postgres_url)
    volatile = [t.name for t in Base.metadata.sorted_tables if t.name not in _REFERENCE]
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {', '.join(volatile)} CASCADE"))
    engine.dispose()


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_url)
    yield engine
    engine.dispose()


@pytest.fixture
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        _require("Redis", str(exc))
    return REDIS_URL


class PrivateRedis:
    """A `redis-server` of the test's own, so restarting it disturbs nobody else."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.popen: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            _require("redis-server", "not installed")
        args = [str(binary), "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
                "--dir", str(self.directory)]
        self.popen = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis(port=self.port, socket_connect_timeout=0.5).ping()
                return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            self.popen.wait(10)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own (initdb in a temporary folder, run as the postgres
    user), so stopping it disturbs nobody else's tests on this machine."""

    def __init__(self) -> None:
        versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        if not versions or shutil.which("runuser") is None:
            _require("PostgreSQL server binaries", "initdb not found under /usr/lib/postgresql")
        self.bin = versions[-1].parent
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="hotline-pg-"))
        shutil.chown(self.directory, "postgres", "postgres")
        self.data = self.directory / "data"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        self._as_postgres(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                          "--no-sync", "-E", "UTF8", "--locale", "C")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-w", "-l",
                          str(self.directory / "log"), "start")

    def stop(self) -> None:
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    try:
        server.init()
        server.start()
        engine = make_engine(server.url)
        schema.upgrade(engine)
        _seed(engine)
        engine.dispose()
        yield server
    finally:
        server.remove()


def cluster_env(pg_url: str, redis_url: str, telegram: FakeTelegram, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": pg_url,
        "HOTLINE_REDIS_URL": redis_url,
        "HOTLINE_REDIS_NAMESPACE": f"test-{uuid.uuid4().hex[:8]}",
        "HOTLINE_TELEGRAM_TOKEN": TELEGRAM_TOKEN,
        "HOTLINE_TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
        "HOTLINE_TELEGRAM_API_URL": telegram.url,
        "HOTLINE_TELEGRAM_RATE_OVERALL": "0",
        "HOTLINE_TELEGRAM_RATE_PER_CHAT": "0",
        "HOTLINE_CHANNEL_TIMEOUT": "5",
        "HOTLINE_DELIVERY_LEASE_SECONDS": "3",
        **extra,
    }


@pytest.fixture
def cluster(
    pg_url: str, redis_url: str, fake_telegram: FakeTelegram, tmp_path: Path  # noqa: F811
) -> Iterator[Cluster]:
    processes = Cluster(cluster_env(pg_url, redis_url, fake_telegram), tmp_path)
    yield processes
    processes.stop()
