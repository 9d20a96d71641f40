"""A PostgreSQL database of a benchmark's own on the server at 127.0.0.1:5432, dropped at the end
(kept, to look into, when HOTLINE_BENCH_KEEP_DATABASE is set)."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import psycopg

ADMIN_URL = os.environ.get("HOTLINE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@contextlib.contextmanager
def scratch_database() -> Iterator[tuple[str, str]]:
    """Its name and its SQLAlchemy URL; dropped however the block ends (sessions still open too)."""
    name = f"hotline_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name, ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        if os.environ.get("HOTLINE_BENCH_KEEP_DATABASE"):  # to look into it afterwards
            print(f"kept database {name}")
            return
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
