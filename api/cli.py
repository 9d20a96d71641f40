"""The `hotline` command: run the server, prepare the database, load units, act on tickets."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Engine, select

from api.cli_channels import citizen_app, telegram_app
from api.cli_workers import worker_app
from api.config import Settings
from handoff import schema
from handoff.clock import local_text
from handoff.models import Operator, Role, TicketStatus
from handoff.store import UnitOfWork, make_engine, make_session_factory

app = typer.Typer(help="Hotline: 12345 citizen hotline intake (web chat, WeChat, Telegram → tickets).", no_args_is_help=True)
data_app = typer.Typer(help="Rebuild the data files shipped with Hotline from ../shared/data.", no_args_is_help=True)
ticket_app = typer.Typer(help="Look at and move tickets from the command line.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(ticket_app, name="ticket")
app.add_typer(telegram_app, name="telegram")
app.add_typer(citizen_app, name="citizen")
app.add_typer(worker_app, name="worker")

try:  # the NLU's own commands: train, eval, bench
    from nlu.cli import app as nlu_app

    app.add_typer(nlu_app, name="nlu", help="Train, evaluate and benchmark the NLU.")

    @nlu_app.command("export-feedback")
    def export_feedback_command(
        out: Annotated[Path, typer.Option(help="JSON Lines file to write.")] = Path("nlu-feedback.jsonl"),
    ) -> None:
        """Write what operators confirmed or corrected on tickets, as labelled data for retraining."""
        import json

        from handoff.corrections import export_feedback

        with _uow(Settings()) as uow, out.open("w", encoding="utf-8") as handle:
            count = 0
            for row in export_feedback(uow.session):
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
                count += 1
        typer.echo(f"wrote {count} labelled examples to {out}")
except ImportError:  # pragma: no cover - the NLU package ships its CLI
    pass


def _uow(settings: Settings) -> UnitOfWork:
    return UnitOfWork(make_session_factory(make_engine(settings.db_url)))


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (HOTLINE_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (HOTLINE_PORT).")] = None,
    processes: Annotated[
        int, typer.Option(help="Web processes sharing the port (production: with HOTLINE_RUN_WORKERS=false).")
    ] = 1,
) -> None:
    """Run the web server, the delivery of outbound messages and the timers in one process."""
    import uvicorn

    from api.logs import configure_logging
    from api.main import create_app

    settings = Settings()
    configure_logging(settings)
    host, port = host or settings.host, port or settings.port
    typer.echo(f"Hotline: open http://{host}:{port}/ in a browser to chat (database: {_safe_url(settings.db_url)})")
    typer.echo(f"  operators: http://{host}:{port}/console  ·  supervisors: http://{host}:{port}/dashboard"
               "  ·  accounts and demo data: .venv/bin/hotline seed --demo")
    if processes > 1:  # each process builds its own app from the environment
        from api.metrics import shared_between_processes

        with shared_between_processes():
            uvicorn.run("api.production:serve_app", factory=True, workers=processes, host=host, port=port,
                        log_config=None, ws="websockets-sansio", timeout_keep_alive=settings.keep_alive_seconds)
        return
    uvicorn.run(create_app(settings, own_process=True), host=host, port=port, log_config=None, ws="websockets-sansio",
                timeout_keep_alive=settings.keep_alive_seconds)


@app.command()
def migrate() -> None:
    """Bring the database (DATABASE_URL, or the embedded SQLite file) to the latest schema."""
    settings = Settings()
    engine = make_engine(settings.db_url)
    schema.upgrade(engine)
    typer.echo(f"schema at {', '.join(sorted(schema.current_revisions(engine)))} ({_safe_url(settings.db_url)})")


@app.command()
def seed(
    jurisdiction: Annotated[str | None, typer.Option(help="Division code, 110000 for Beijing.")] = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="Also create one demo account of each role and a few months of tickets.")
    ] = False,
) -> None:
    """Load units (districts, streets/towns, departments), routing and SLA rules, canned replies. Idempotent."""
    from api.main import seed_reference_data

    settings = Settings()
    engine = make_engine(settings.db_url)
    schema.upgrade(engine)
    with UnitOfWork(make_session_factory(engine)) as uow:
        typer.echo(seed_reference_data(uow.session, jurisdiction=jurisdiction or settings.jurisdiction))
        uow.commit()
    if demo:
        _demo_accounts(engine)
        from handoff.demo import load_demo_tickets

        with UnitOfWork(make_session_factory(engine)) as uow:
            made = load_demo_tickets(uow.session, now=datetime.now(UTC), tz=settings.tz)
            uow.commit()
        typer.echo(f"demo tickets: {made} created" if made else "demo tickets already loaded")


def _demo_accounts(engine: Engine) -> None:
    from handoff.accounts import create_operator, new_password

    accounts = [
        ("operator", "话务员 王芳", Role.OPERATOR, None),
        ("business", "企业服务专席 赵敏", Role.OPERATOR, None),
        ("wangjing", "望京街道 接诉即办专班", Role.UNIT_HANDLER, "110105026"),
        ("supervisor", "督办科 李强", Role.SUPERVISOR, None),
        ("admin", "系统管理员", Role.ADMIN, None),
    ]
    with UnitOfWork(make_session_factory(engine)) as uow:
        created = []
        for username, name, role, unit in accounts:
            if uow.session.scalar(select(Operator).where(Operator.username == username)) is not None:
                continue
            password = new_password()
            create_operator(uow.session, username=username, display_name=name, password=password, role=role,
                            unit_code=unit, lanes="enterprise" if username == "business" else "citizen",
                            now=datetime.now(UTC))
            created.append((username, role, password))
        uow.commit()
    if not created:
        typer.echo("demo accounts already exist (passwords were shown when they were created)")
    for username, role, password in created:
        typer.echo(f"  {username:<11} {role:<13} password: {password}")
    if created:
        typer.echo("These passwords are shown once. Console: http://127.0.0.1:8000/console")


report_app = typer.Typer(help="Assessment reports (三率, 四类排名).", no_args_is_help=True)
app.add_typer(report_app, name="report")


@report_app.command("month")
def report_month(
    month: Annotated[str, typer.Argument(help="YYYY-MM, e.g. 2026-10.")],
    out: Annotated[Path, typer.Option(help="Folder for the CSV and XLSX files.")] = Path("reports"),
    top: Annotated[int, typer.Option(help="Streets listed in each category.")] = 10,
    min_answered: Annotated[int, typer.Option(help="Fewest answered callbacks to be scored.")] = 5,
) -> None:
    """Print the month's four-category ranking of streets/towns; write it as CSV and XLSX."""
    from handoff.models import Unit, UnitKind
    from handoff.ranking import RankingPolicy, monthly_ranking
    from handoff.reports import as_text, write_csv, write_xlsx

    settings = Settings()
    policy = RankingPolicy(score=settings.score_weights, rates=settings.rate_weights, top=top, min_answered=min_answered)
    with _uow(settings) as uow:
        ranking = monthly_ranking(uow.session, month=month, tz=settings.tz, policy=policy)
        districts = {u.code: u.name for u in uow.session.scalars(select(Unit).where(Unit.kind == UnitKind.DISTRICT))}
    typer.echo(as_text(ranking, districts))
    out.mkdir(parents=True, exist_ok=True)
    csv_path, xlsx_path = out / f"ranking-{month}.csv", out / f"ranking-{month}.xlsx"
    write_csv(ranking, districts, csv_path)
    write_xlsx(ranking, districts, xlsx_path)
    typer.echo(f"\nwritten: {csv_path}, {xlsx_path}")


apikey_app = typer.Typer(help="API keys for Open311 clients.", no_args_is_help=True)
app.add_typer(apikey_app, name="apikey")


@apikey_app.command("add")
def apikey_add(name: str) -> None:
    """Issue a key for an Open311 client; it is shown once."""
    from handoff.open311 import create_api_key

    settings = Settings()
    with _uow(settings) as uow:
        key = create_api_key(uow.session, name=name)
        uow.commit()
    typer.echo(f"api_key for {name}: {key}")


sla_app = typer.Typer(help="SLA rules: how long units have to sign and to resolve.", no_args_is_help=True)
app.add_typer(sla_app, name="sla")


@sla_app.command("list")
def sla_list() -> None:
    """Show the SLA rules; the most specific (category and urgency) wins."""
    from handoff.models import SlaRule

    with _uow(Settings()) as uow:
        for rule in uow.session.scalars(select(SlaRule).order_by(SlaRule.category, SlaRule.urgent)):
            typer.echo(f"{rule.category or '（全部类别）'}\t{'紧急' if rule.urgent else '一般'}\t"
                       f"签收 {rule.sign_minutes} 分钟\t办结 {rule.resolve_minutes / 60:g} 小时")


@sla_app.command("set")
def sla_set(
    sign_minutes: Annotated[int, typer.Option(min=1, help="Minutes to sign (签收).")],
    resolve_hours: Annotated[float, typer.Option(min=0.1, help="Hours to resolve (办结).")],
    urgent: Annotated[bool, typer.Option("--urgent/--normal", help="For urgent or for ordinary tickets.")] = False,
    category: Annotated[str | None, typer.Option(help="Only this category; omit for all.")] = None,
) -> None:
    """Add or change an SLA rule. New dispatches use it; deadlines already set stay."""
    from handoff.models import SlaRule

    with _uow(Settings()) as uow:
        rule = uow.session.scalar(select(SlaRule).where(SlaRule.category.is_(None) if category is None else SlaRule.category == category,
                                                         SlaRule.urgent.is_(urgent)))
        if rule is None:
            rule = SlaRule(category=category, urgent=urgent, sign_minutes=0, resolve_minutes=0)
            uow.session.add(rule)
        rule.sign_minutes, rule.resolve_minutes = sign_minutes, int(resolve_hours * 60)
        uow.commit()
    typer.echo(f"{category or 'all categories'}, {'urgent' if urgent else 'normal'}: sign {sign_minutes} min, resolve {resolve_hours:g} h")


user_app = typer.Typer(help="Console accounts.", no_args_is_help=True)
app.add_typer(user_app, name="user")


@user_app.command("add")
def user_add(
    username: str,
    role: Annotated[Role, typer.Option(help="operator, unit_handler, supervisor or admin.")],
    name: Annotated[str | None, typer.Option(help="Name shown in the console.")] = None,
    unit: Annotated[str | None, typer.Option(help="Unit code, for unit handlers (e.g. 110105026).")] = None,
    password: Annotated[str | None, typer.Option(help="Omit to generate one (printed once).", hide_input=True)] = None,
    lanes: Annotated[str, typer.Option(help="Queues an operator serves: citizen, enterprise or both (citizen,enterprise).")] = "citizen",
) -> None:
    """Create a console account."""
    from handoff.accounts import create_operator, new_password

    settings = Settings()
    chosen = password or new_password()
    with _uow(settings) as uow:
        create_operator(uow.session, username=username, display_name=name or username, password=chosen, role=role,
                        unit_code=unit, lanes=lanes, now=datetime.now(UTC))
        uow.commit()
    typer.echo(f"created {username} ({role})" + ("" if password else f", password: {chosen}"))


@data_app.command("build-units")
def build_units(
    divisions: Annotated[Path, typer.Option(help="Folder with areas.csv and streets.csv.")] = Path(
        "../shared/data/divisions"
    ),
    jurisdiction: Annotated[str, typer.Option(help="Province (110000) or city (330100) code.")] = "110000",
) -> None:
    """Rebuild handoff/data/units_<jurisdiction>.csv from the national division tables."""
    from importlib import resources

    from handoff.units import build_units_file

    out = Path(str(resources.files("handoff") / "data" / f"units_{jurisdiction}.csv"))
    count = build_units_file(divisions, jurisdiction, out)
    typer.echo(f"wrote {count} units to {out}")


@ticket_app.command("show")
def ticket_show(number: str) -> None:
    """Print a ticket and its timeline."""
    from handoff.tickets import find_ticket

    settings = Settings()
    with _uow(settings) as uow:
        ticket = find_ticket(uow.session, number)
        typer.echo(f"{ticket.number}  {ticket.request_type}  {ticket.category or '-'}  {ticket.status}")
        typer.echo(f"  {' '.join(p for p in (ticket.district, ticket.street, ticket.community, ticket.address) if p)}")
        typer.echo(f"  {ticket.description}")
        for event in ticket.events:
            typer.echo(
                f"  {local_text(event.created_at, settings.tz)}  {event.kind:<16} "
                f"{event.from_status or '':>11} → {event.to_status or '':<11} {event.actor_type} {event.note or ''}"
            )


@ticket_app.command("advance")
def ticket_advance(
    number: str,
    status: Annotated[TicketStatus, typer.Argument(help="The new status.")],
    note: Annotated[str | None, typer.Option(help="What the citizen is told with it.")] = None,
) -> None:
    """Move a ticket to a new status; the citizen is told on their channel."""
    from handoff.tickets import Actor, advance_ticket, find_ticket

    settings = Settings()
    with _uow(settings) as uow:
        ticket = find_ticket(uow.session, number)
        advance_ticket(
            uow.session, ticket=ticket, to_status=status, actor=Actor("operator", "cli"), now=datetime.now(UTC), note=note
        )
        uow.commit()
    typer.echo(f"{number} → {status}")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main() -> None:  # pragma: no cover
    logging.basicConfig(level=logging.INFO)
    app()
