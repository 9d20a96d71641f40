"""`hotline nlu bench`: throughput and latency of `analyze` on a fixed set of real messages, one process."""

from __future__ import annotations

import random
import resource
import statistics
import time
from pathlib import Path

from .datasets import read_csv, request_type_examples
from .pipeline import DATA_DIR, Nlu, load


def messages(shared: Path, count: int = 2000, max_length: int = 200) -> list[str]:
    """Real messages cut to chat length (titles and openings of dev posts, written chat, FAQ queries)."""
    pool = [r["text_desegmented"][:max_length] for r in read_csv(shared / "complaints" / "dev.csv")]
    pool += [e.text[:max_length] for e in request_type_examples()]
    pool += [r["query"] for r in read_csv(DATA_DIR / "faq" / "queries.tsv", "\t")]
    pool += [r["text"] for r in read_csv(DATA_DIR / "category_chat.tsv", "\t")]
    rng = random.Random(7)
    return [rng.choice(pool) for _ in range(count)]


def run(shared: Path, *, model_dir: Path | None, count: int, sentence_encoder: bool) -> list[str]:
    started = time.perf_counter()
    nlu: Nlu = load(model_dir, sentence_encoder=sentence_encoder)
    load_seconds = time.perf_counter() - started
    texts = messages(shared, count)
    for text in texts[:50]:  # warm-up
        nlu.analyze(text)
    latencies = []
    started = time.perf_counter()
    for text in texts:
        t0 = time.perf_counter()
        nlu.analyze(text)
        latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return [
        f"messages: {len(texts)} (≤200 chars, mean {statistics.mean(len(t) for t in texts):.0f}), sentence encoder: {sentence_encoder}",
        f"load: {load_seconds:.2f} s   peak memory: {rss_mb:.0f} MB",
        f"throughput: {len(texts) / elapsed:.0f} messages/s",
        f"latency ms: p50 {pct(0.5):.2f}  p95 {pct(0.95):.2f}  p99 {pct(0.99):.2f}  max {latencies[-1] * 1000:.2f}",
    ]
