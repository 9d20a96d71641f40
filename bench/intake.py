"""The intake engine alone, in one process, on PostgreSQL: what one message costs.

    .venv/bin/python -m bench.intake [--messages 1000] [--threads 1] [--batch 1] [--profile]

Creates a database of its own on the PostgreSQL at 127.0.0.1:5432 (dropped at the end), then sends
`--messages` complaints from as many new citizens through `handle_inbound` with the real NLU, each
opening a ticket, from `--threads` threads, `--batch` messages a transaction (`handle_batch`, as the
webhooks group-commit under load). Prints messages a second, latency percentiles and the
SQL statements one message costs; `--profile` adds the functions where the time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, event

import nlu
from api.main import seed_reference_data
from bench.citizens import complaint, percentile
from bench.scratch import scratch_database
from handoff import schema
from handoff.intake import Submission, handle_batch, handle_inbound
from handoff.messages import InboundMessage
from handoff.store import UnitOfWork, make_engine, make_session_factory


def message(n: int) -> InboundMessage:
    return InboundMessage(
        channel="telegram", channel_user_id=str(20_000_000 + n), chat_id=str(20_000_000 + n),
        platform_msg_id=f"update:{800_000_000 + n}", received_at=datetime.now(UTC), text=complaint(n),
        display_name=f"市民{n}",
    )


def main(args: argparse.Namespace) -> None:
    with scratch_database() as (_, url):
        run(args, make_engine(url))


def run(args: argparse.Namespace, engine: Engine) -> None:
    statements = 0
    lock = threading.Lock()

    def count(*_: Any) -> None:
        nonlocal statements
        with lock:
            statements += 1

    try:
        schema.upgrade(engine)
        factory = make_session_factory(engine)
        with UnitOfWork(factory) as uow:
            seed_reference_data(uow.session, jurisdiction="110000")
            uow.commit()
        model = nlu.load()
        for n in range(20):  # warm the pool, the caches and the NLU
            handle_inbound(UnitOfWork(factory), nlu=model, msg=message(9_000_000 + n))
        event.listen(engine, "before_cursor_execute", count)
        latencies: list[float] = []

        def one(n: int) -> None:
            started = time.perf_counter()
            if args.batch == 1:
                results = [handle_inbound(UnitOfWork(factory), nlu=model, msg=message(n))]
            else:
                batch = [Submission(message(k)) for k in range(n * args.batch, (n + 1) * args.batch)]
                results = handle_batch(lambda: UnitOfWork(factory), nlu=model, submissions=batch)  # type: ignore[assignment]
            assert all(getattr(r, "ticket_number", None) for r in results), results
            latencies.append((time.perf_counter() - started) * 1000)

        profile = cProfile.Profile() if args.profile else None
        started, cpu_started = time.perf_counter(), time.process_time()
        if profile is not None:
            profile.enable()
        if args.threads == 1:  # in this thread, where the profiler can see it
            for n in range(args.messages // args.batch):
                one(n)
        else:
            with ThreadPoolExecutor(args.threads) as pool:
                list(pool.map(one, range(args.messages // args.batch)))
        if profile is not None:
            profile.disable()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        sent = args.messages // args.batch * args.batch  # whole batches only
        print(f"{sent} complaints, each a new citizen and a new ticket, {args.threads} thread(s), "
              f"{args.batch} a transaction, PostgreSQL on loopback, {os.cpu_count()} CPUs (latency: a transaction)")
        print(f"{sent / seconds:7.1f} msg/s   p50 {percentile(latencies, 50):5.1f}  "
              f"p95 {percentile(latencies, 95):5.1f}  p99 {percentile(latencies, 99):5.1f} ms   "
              f"{statements / sent:.1f} SQL statements a message   {cpu / sent * 1000:.2f} ms of this process's CPU a message")
        if profile is not None:
            pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
    finally:
        engine.dispose()


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=1, help="messages a transaction")
    parser.add_argument("--profile", action="store_true")
    main(parser.parse_args())


if __name__ == "__main__":
    cli()
