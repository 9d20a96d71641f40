"""`hotline nlu ...`: build the data files, train, evaluate and benchmark the NLU."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .build import DEFAULT_SHARED_DATA, write_build
from .pipeline import DATA_DIR, DEFAULT_MODEL_DIR

app = typer.Typer(help="Build, train, evaluate and benchmark the NLU.", no_args_is_help=True)

Shared = Annotated[Path, typer.Option(help="The shared data directory (complaints, divisions, addresses).")]
Model = Annotated[Path, typer.Option(help="The NLU model directory.")]


@app.command()
def build(
    shared: Shared = DEFAULT_SHARED_DATA,
    jurisdiction: Annotated[
        str, typer.Option(help="Division code of the jurisdiction, e.g. 110000 (Beijing).")
    ] = "110000",
    out: Annotated[Path, typer.Option(help="Where the data files go.")] = DATA_DIR,
) -> None:
    """Gazetteer, Traditional→Simplified table and taxonomy from the division and complaint files."""
    for path in write_build(shared, out, jurisdiction):
        typer.echo(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")


@app.command()
def train(
    shared: Shared = DEFAULT_SHARED_DATA,
    out: Model = DEFAULT_MODEL_DIR,
    extra: Annotated[
        list[Path] | None,
        typer.Option(
            help="Extra labelled CSV files (columns text,label), e.g. operators' corrections; repeatable."
        ),
    ] = None,
) -> None:
    """Train the category and request-type models and save the pipeline (fixed seeds: same inputs, same model)."""
    from .train import train_all

    for line in train_all(shared, out, extra or []):
        typer.echo(line)


@app.command("eval")
def evaluate(
    shared: Shared = DEFAULT_SHARED_DATA,
    model: Model = DEFAULT_MODEL_DIR,
    task: Annotated[
        list[str] | None, typer.Option(help="category, request-type, faq, location; repeatable.")
    ] = None,
    location_limit: Annotated[int, typer.Option(help="Evaluate only the first N CCKS rows (0: all).")] = 0,
    baselines: Annotated[
        bool, typer.Option(help="Also run the baselines (category SVM; jionlp, cpca).")
    ] = True,
) -> None:
    """Per-class precision/recall/F1, macro-F1, confusion matrices and baselines, task by task."""
    from . import evaluate as ev
    from .pipeline import load

    tasks = task or ["category", "request-type", "urgency", "faq", "location"]
    nlu = load(model)
    if "category" in tasks:
        for block in ev.category_report(nlu, shared, baseline=baselines):
            typer.echo(block + "\n")
    if "request-type" in tasks:
        for block in ev.request_type_report(nlu):
            typer.echo(block + "\n")
    if "urgency" in tasks:
        for block in ev.urgency_report(nlu):
            typer.echo(block + "\n")
    if "faq" in tasks:
        for block in ev.faq_report(nlu):
            typer.echo(block)
        typer.echo("")
    if "location" in tasks:
        for block in ev.beijing_location_cases(nlu):
            typer.echo(block)
        for block in ev.location_report(shared, limit=location_limit or None, baselines=baselines):
            typer.echo(block)


@app.command()
def bench(
    shared: Shared = DEFAULT_SHARED_DATA,
    model: Model = DEFAULT_MODEL_DIR,
    count: Annotated[int, typer.Option(help="Messages to analyze.")] = 5000,
    sentence_encoder: Annotated[bool, typer.Option(help="Load the FAQ paraphrase encoder.")] = True,
) -> None:
    """Messages per second and p50/p95/p99 latency of `analyze`, load time and peak memory."""
    from .bench import run

    for line in run(shared, model_dir=model, count=count, sentence_encoder=sentence_encoder):
        typer.echo(line)


if __name__ == "__main__":
    app()
