"""Load benchmark of the production mode, loopback only, bounded in count and time.

    .venv/bin/python -m bench.load [--messages 4000] [--rate 500] [--web-processes 2] [--seconds 60] [--intake-batch 64]
                                   [--questions 0.3] [--latencies latencies.csv]

Creates a database of its own on the PostgreSQL at 127.0.0.1:5432 (dropped at the end), starts the
fake Telegram and WeChat APIs, `hotline serve --processes N` and one `hotline worker delivery`, then
simulated citizens post Telegram updates and WeChat callbacks (half each) at a fixed offered rate.
Reported: sustained messages a second; webhook → reply committed to the outbox (the webhook's
response time: it answers after the commit); webhook → reply received by the fake Telegram; and the
same load against a bare FastAPI endpoint on the same machine for comparison; the CPU a message
cost each part (web processes, delivery worker, PostgreSQL, Redis, the generator, the fake
platforms: `bench/cpu.py`). Then the audit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import gc
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from tempfile import mkdtemp

import uvloop

from api.main import seed_reference_data
from bench.citizens import (
    Platform, Posted, audit, percentile, question, telegram_request, wait_delivered, wechat_request,
)
from bench.cluster import HOTLINE, Cluster, Process, free_port
from bench.cpu import CpuMeter, Parts, line
from bench.scratch import scratch_database
from handoff import schema
from handoff.store import UnitOfWork, make_engine, make_session_factory
from bench.fake_platforms import FakePlatformsProcess
from tests.bots.platforms import TELEGRAM_TOKEN, WECHAT_APP_ID, WECHAT_SECRET

REDIS_URL = os.environ.get("HOTLINE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
SECRET, WECHAT_TOKEN = "bench-secret", "bench-token"


@dataclass(frozen=True)
class Run:
    label: str
    posted: list[Posted]
    seconds: float

    @property
    def accepted(self) -> list[Posted]:
        return [p for p in self.posted if p.accepted_at is not None]

    def line(self) -> str:
        latencies = [(p.accepted_at - p.started) * 1000 for p in self.accepted]  # type: ignore[operator]
        rate = len(self.accepted) / self.seconds if self.seconds else 0.0
        return (f"{self.label:34} {len(self.accepted):5}/{len(self.posted):<5} {rate:7.1f} msg/s   "
                f"p50 {percentile(latencies, 50):6.1f}  p95 {percentile(latencies, 95):6.1f}  "
                f"p99 {percentile(latencies, 99):6.1f} ms")


async def offer(platform: Platform, count: int, rate: float, first: int, deadline: float, kind: str,
                questions: float = 0.0) -> Run:
    """Post `count` messages at `rate` a second (open loop: the schedule does not wait for answers);
    a `questions` share of them are questions the FAQ answers, the rest complaints.

    The requests are built first: only posting them is timed, as a platform's own machines would."""
    requests = []
    for n in range(first, first + count):
        text = question(n) if is_question(n, questions) else None
        if kind == "bare" or n % 2 == 0:
            requests.append(telegram_request(n, secret=SECRET, text=text))
        else:
            requests.append(wechat_request(n, token=WECHAT_TOKEN, text=text))
    started = time.monotonic()
    tasks = []
    for n, request in enumerate(requests):
        due = started + n / rate
        if due > deadline:
            break
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        tasks.append(asyncio.create_task(platform.send(request)))
    posted = list(await asyncio.gather(*tasks))
    ends = [p.accepted_at for p in posted if p.accepted_at is not None]
    return Run(kind, posted, (max(ends) - started) if ends else 0.0)


@contextlib.contextmanager
def uncollected() -> Iterator[None]:
    """No cycle collection in the generator while it posts. A full one, walking what it imported,
    held up its loop 130-140 ms twice a run, and the answers waiting to be read meanwhile counted
    as the server's latency (most of the p99 the earlier sessions reported at 500 a second). Its
    garbage goes by reference count."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def is_question(n: int, share: float) -> bool:
    """Spread evenly: message n is a question when the running count of questions steps up at it."""
    return int((n + 1) * share) > int(n * share)


def parts(web: Process, worker: Process, platforms: FakePlatformsProcess) -> Parts:
    """Where the CPU goes: each Hotline process group is a session of its own (`Process`)."""
    generator = os.getpid()
    return {
        "web": lambda p: web.popen is not None and p.session == web.popen.pid,
        "delivery": lambda p: worker.popen is not None and p.session == worker.popen.pid,
        "PostgreSQL": lambda p: p.command == "postgres",
        "Redis": lambda p: p.command.startswith("redis-server"),
        "generator": lambda p: p.pid == generator,
        "fake platforms": lambda p: p.pid == platforms.pid,
    }


def bare_app_process(log_dir: Path) -> Process:
    port = free_port()
    python = str(Path(HOTLINE).with_name("python"))
    args = [python, "-m", "uvicorn", "bench.bare:app", "--port", str(port), "--workers", "2", "--log-level", "warning"]
    return Process("bare", args, dict(os.environ), log_dir, port).start()


async def main(args: argparse.Namespace) -> None:
    with scratch_database() as (name, url):
        await run(args, name, url)


async def run(args: argparse.Namespace, name: str, url: str) -> None:
    engine = make_engine(url)
    platforms = FakePlatformsProcess()
    log_dir = Path(mkdtemp(prefix="hotline-bench-"))
    cluster = Cluster(
        {
            "DATABASE_URL": url, "HOTLINE_REDIS_URL": REDIS_URL, "HOTLINE_REDIS_NAMESPACE": name,
            "HOTLINE_TELEGRAM_TOKEN": TELEGRAM_TOKEN, "HOTLINE_TELEGRAM_WEBHOOK_SECRET": SECRET,
            "HOTLINE_TELEGRAM_RATE_OVERALL": "0", "HOTLINE_TELEGRAM_RATE_PER_CHAT": "0",
            "HOTLINE_WECHAT_APP_ID": WECHAT_APP_ID, "HOTLINE_WECHAT_APP_SECRET": WECHAT_SECRET,
            "HOTLINE_WECHAT_TOKEN": WECHAT_TOKEN, "HOTLINE_INTAKE_BATCH_SIZE": str(args.intake_batch),
        },
        log_dir,
    )
    bare = None
    try:
        schema.upgrade(engine)
        with UnitOfWork(make_session_factory(engine)) as uow:
            seed_reference_data(uow.session, jurisdiction="110000")
            uow.commit()
        platforms.start()
        cluster.env["HOTLINE_TELEGRAM_API_URL"] = platforms.telegram_url
        cluster.env["HOTLINE_WECHAT_API_URL"] = platforms.wechat_url
        web = cluster.web(processes=args.web_processes)
        worker = cluster.delivery()
        web.wait_ready()
        worker.wait_ready()
        bare = bare_app_process(log_dir).wait_ready()

        platform = Platform([web.url], concurrency=args.concurrency, give_up_after=args.seconds, light=True)
        # A second at the offered rate first, not measured: the web processes' connection pools fill
        # and PostgreSQL plans each statement on each new connection (a cached plan from its sixth use).
        await offer(platform, int(args.rate), args.rate, 9_000_000, time.monotonic() + 10, "warm-up")
        gc.freeze()  # what the generator imported (the app, SQLAlchemy): see `uncollected`
        meter = CpuMeter(parts(web, worker, platforms))
        meter.start()
        deadline = time.monotonic() + args.seconds
        with uncollected():
            hotline = await offer(platform, args.messages, args.rate, 0, deadline, "hotline", args.questions)
        await wait_delivered(engine, timeout=120)  # the replies' sends belong to the messages' cost
        costs = meter.per_message(len(hotline.accepted))
        await platform.aclose()
        bare_platform = Platform([bare.url], concurrency=args.concurrency, give_up_after=args.seconds, light=True)
        with uncollected():
            bare_run = await offer(bare_platform, args.messages, args.rate, 0, time.monotonic() + args.seconds, "bare")
        await bare_platform.aclose()

        await wait_delivered(engine, timeout=120)
        accepted = hotline.accepted
        if args.latencies:
            write_latencies(Path(args.latencies), hotline.posted)
        sends = platforms.telegram_sends()
        first_send: dict[str, float] = {}
        for chat_id, at in sends:
            first_send.setdefault(chat_id, at)
        delivered = [(first_send[p.chat_id] - p.started) * 1000 for p in accepted
                     if p.key.startswith("update:") and p.chat_id in first_send]
        result = audit(engine, accepted)
        print(f"offered {args.rate:.0f} msg/s, {args.web_processes} web processes + 1 delivery worker, "
              f"{os.cpu_count()} CPUs, PostgreSQL + Redis on loopback")
        print(hotline.line().replace("hotline", "Hotline webhook → outbox", 1))
        print(f"{'Hotline webhook → Telegram delivered':34} {len(delivered):5}       "
              f"          p50 {percentile(delivered, 50):6.1f}  p95 {percentile(delivered, 95):6.1f}  "
              f"p99 {percentile(delivered, 99):6.1f} ms")
        print(bare_run.line().replace("bare", "bare FastAPI endpoint (2 workers)", 1))
        print(line(costs))
        asked = sum(is_question(n, args.questions) for n in range(len(hotline.posted)))
        print(f"audit: {result}" + (f" ({asked} of the messages were questions for the FAQ)" if asked else ""))
        refused = Counter(status for p in hotline.posted for status in p.statuses if status != 200)
        print(f"telegram sendMessage calls: {len(sends)}, wechat pushes: {platforms.wechat_pushes()}, "
              f"retries by the platforms: {sum(p.attempts - 1 for p in hotline.posted)} "
              f"(answers that were not 200, 0 = no answer: {dict(refused) or 'none'})")
    finally:
        cluster.stop()
        if bare is not None:
            bare.stop()
        platforms.stop()
        engine.dispose()


def write_latencies(path: Path, posted: list[Posted]) -> None:
    """Each message's moments (seconds from the first post) and latency: where the tail comes from."""
    start = min(p.started for p in posted)
    with path.open("w", newline="") as file:
        out = csv.writer(file)
        out.writerow(["key", "posted_s", "answered_s", "latency_ms", "attempts"])
        for p in posted:
            answered = p.accepted_at - start if p.accepted_at is not None else None
            latency = (p.accepted_at - p.started) * 1000 if p.accepted_at is not None else None
            out.writerow([p.key, f"{p.started - start:.4f}", "" if answered is None else f"{answered:.4f}",
                          "" if latency is None else f"{latency:.1f}", p.attempts])


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=4000, help="messages to offer (bounded)")
    parser.add_argument("--rate", type=float, default=500.0, help="offered messages a second")
    parser.add_argument("--seconds", type=float, default=60.0, help="stop offering after this long")
    parser.add_argument("--web-processes", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=256, help="requests in flight at most")
    parser.add_argument("--questions", type=float, default=0.0, metavar="SHARE",
                        help="share of the messages that are questions the FAQ answers (0 to 1)")
    parser.add_argument("--latencies", metavar="CSV", help="write each message's latency to this file")
    parser.add_argument("--intake-batch", type=int, default=64, help="HOTLINE_INTAKE_BATCH_SIZE of the web processes")
    uvloop.run(main(parser.parse_args()))  # as the delivery worker: the generator's loop costs the server less CPU


if __name__ == "__main__":
    cli()
