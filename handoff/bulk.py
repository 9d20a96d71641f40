"""A batch's new rows written in one statement, instead of through the unit of work.

The ORM's flush spends more on its bookkeeping (sorting the objects, collecting each one's
parameters, marking it persistent) than on the INSERTs themselves: for the rows a new complaint
writes (citizen, identity, conversation, messages in and out, ticket, its first event, outbox
entries) that was about a third of the intake's CPU at a burst's batch sizes. The intake's new
objects are plain rows tied together by ids known before the flush (no relationship to sync), so
`insert_new_rows` writes them itself and takes them out of the session; the commit's flush is
left with the updates of rows that existed before.

On PostgreSQL all of them go in one statement, one round trip: a table's rows are one JSON
parameter, `INSERT … SELECT … FROM json_to_recordset(%s)`, and the tables are chained as
data-modifying CTEs (foreign keys are checked at the end of the statement). Its text depends only
on the tables and columns, not on the number of rows, so the server prepares it once, and the
client's work is one `json_text` (orjson, which writes UUIDs and times itself) a table. psycopg's
executemany went through its pipeline machinery row by row (a few system calls a row, a round trip
a table: 6 ms of CPU for a batch of four complaints), and its array parameters escape every
element in Python. Elsewhere (SQLite, in
process) each table's rows are one Core executemany.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any

from sqlalchemy import JSON, Connection, Table, TypeDecorator, inspect, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapper, Session
from sqlalchemy.orm.state import InstanceState
from sqlalchemy.sql.elements import NamedColumn

from handoff.events import CHANGES, Change, changes_of_dirty, changes_of_new
from handoff.models import Base
from handoff.store import json_text

_MISSING = object()
# Computed once: the tables in the order their foreign keys need.
_TABLE_ORDER = {table: position for position, table in enumerate(Base.metadata.sorted_tables)}


def insert_new_rows(session: Session) -> bool:
    """Write the session's pending new objects with Core; False (and nothing done) if one of them
    needs the unit of work: a relationship set on it, which only a flush turns into its ids."""
    plan = _plan_inserts(session)
    if plan is None:
        return False
    if session.get_bind().dialect.name == "postgresql":
        _write_in_one_statement(session, plan)
        return True
    connection = session.connection()
    for table, rows in plan.runs:
        connection.execute(insert(table), rows)
    plan.done(session)
    return True


def write_pending(session: Session) -> bool:
    """PostgreSQL: the session's new and changed rows in ONE statement (the inserts and the updates
    chained), so a connection in autocommit writes them atomically without BEGIN and COMMIT round
    trips. False, and nothing done, elsewhere or if the flush is needed for some of them (see the
    two above)."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    inserts, updates = _plan_inserts(session), _plan_updates(session)
    if inserts is None or updates is None:
        return False
    _write_in_one_statement(session, inserts, updates)
    return True


def _write_in_one_statement(session: Session, *plans: _Plan) -> None:
    """PostgreSQL: the plans' statements chained as one, then the written objects let go."""
    parts = [part for plan in plans for part in plan.parts]
    if parts:
        _execute_chained(session.connection(), parts, [value for plan in plans for value in plan.parameters])
    for plan in plans:
        plan.done(session)


@dataclass
class _Plan:
    """Rows to write: the SQL parts (PostgreSQL), the rows by table (elsewhere), and what to do after."""

    objects: list[object]
    changes: list[Change]
    parts: list[str]
    parameters: list[str]
    runs: list[tuple[Table, list[dict[str, Any]]]]

    def done(self, session: Session) -> None:
        """Written: out of the session, and their changes told at the commit."""
        for obj in self.objects:
            session.expunge(obj)
        session.info.setdefault(CHANGES, []).extend(self.changes)


def _plan_inserts(session: Session) -> _Plan | None:
    states: list[InstanceState[Any]] = sorted((inspect(obj) for obj in session.new), key=_insert_order)
    by_table: dict[Table, list[InstanceState[Any]]] = defaultdict(list)
    for state in states:
        mapper = state.mapper
        if any(key in state.dict for key in mapper.relationships.keys()):
            return None
        by_table[mapper.local_table].append(state)  # type: ignore[index]
    # In the order added, as a flush: a reply after the message it answers.
    runs = [(table, rows) for table in sorted(by_table, key=_TABLE_ORDER.__getitem__)
            for rows in _rows_by_columns(by_table[table])]
    parts, parameters = [], []
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        for table, rows in runs:
            recordset = _recordset(table, tuple(rows[0]), dialect)
            parts.append(f"INSERT INTO {recordset.table} ({', '.join(recordset.names)}) "
                         f"SELECT {', '.join(recordset.values)} FROM {recordset.source}")
            parameters.append(recordset.encode(rows))
    objects = [state.obj() for state in states]
    return _Plan(objects, changes_of_new(objects), parts, parameters, runs)


def _insert_order(state: InstanceState[Any]) -> int:
    return state.insert_order or 0


def _rows_by_columns(states: list[InstanceState[Any]]) -> list[list[dict[str, Any]]]:
    """Each object's column values, its defaults filled in as a flush would (on the object too);
    consecutive rows that give the same columns go in one executemany (the order is kept: a reply
    refers to the message it answers)."""
    runs: list[list[dict[str, Any]]] = []
    for state in states:
        values = state.dict
        row: dict[str, Any] = {}
        for attribute, key, none_is_default, fill in _fillers(state.mapper):
            value = values.get(attribute, _MISSING)
            if value is _MISSING or (value is None and none_is_default):
                if fill is None:
                    continue  # left out, as a flush leaves it: the server's default, or SQL NULL (not JSON null)
                value = values[attribute] = fill()
            row[key] = value
        if runs and runs[-1][0].keys() == row.keys():
            runs[-1].append(row)
        else:
            runs.append([row])
    return runs


Filler = tuple[str, str, bool, Callable[[], Any] | None]  # attribute, column key, None means the default, the default


@lru_cache(maxsize=64)
def _fillers(mapper: Mapper[Any]) -> tuple[Filler, ...]:
    """How a flush fills each column of a mapped class, worked out once a class, not once a row:
    None given means the default unless the type stores None (JSON null); a missing value takes
    the column's default, or is left out for the server's default (or SQL NULL), or is None."""
    fillers: list[Filler] = []
    for prop in mapper.column_attrs:
        column = prop.columns[0]
        default, keeps_none = column.default, column.type.should_evaluate_none
        fill: Callable[[], Any] | None
        if default is not None and default.is_scalar:
            fill = partial(_constant, default.arg)
        elif default is not None and default.is_callable:
            fill = partial(default.arg, None)
        elif column.server_default is not None or keeps_none:
            fill = None
        else:
            fill = partial(_constant, None)
        fillers.append((prop.key, column.key, not keeps_none, fill))
    return tuple(fillers)


def _constant(value: Any) -> Any:
    return value


def update_changed_rows(session: Session) -> bool:
    """On PostgreSQL, write the changed columns of the session's loaded rows in one statement (an
    `UPDATE … FROM json_to_recordset(%s)` for each table and set of changed columns) and take the
    rows out of the session. False, and nothing done, elsewhere or when a change is not a plain
    column's (the flush does those)."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    plan = _plan_updates(session)
    if plan is None:
        return False
    _write_in_one_statement(session, plan)
    return True


def _plan_updates(session: Session) -> _Plan | None:
    """PostgreSQL only (the callers check)."""
    dialect = session.get_bind().dialect
    groups: dict[tuple[Table, tuple[str, ...]], list[dict[str, Any]]] = {}
    changed_objects = []
    for obj in session.dirty:
        state: InstanceState[Any] = inspect(obj)
        mapper = state.mapper
        columns = _columns_of(mapper)
        changed = [key for key in state.committed_state if state.attrs[key].history.has_changes()]
        if not changed:
            continue
        if any(key not in columns or columns[key].primary_key for key in changed) or len(mapper.primary_key) != 1:
            return None
        table: Table = mapper.local_table  # type: ignore[assignment]
        key_column = mapper.primary_key[0]
        row: dict[str, Any] = {str(key_column.key): state.dict[mapper.get_property_by_column(key_column).key]}
        row.update((str(columns[key].key), state.dict[key]) for key in sorted(changed))
        groups.setdefault((table, tuple(row)), []).append(row)
        changed_objects.append(obj)
    parts, parameters = [], []
    for (table, keys), rows in groups.items():
        recordset = _recordset(table, keys, dialect)
        key_name, *_ = recordset.names
        assignments = ", ".join(f"{name} = {value}" for name, value in zip(recordset.names[1:], recordset.values[1:], strict=True))
        parts.append(f"UPDATE {recordset.table} AS t SET {assignments} FROM {recordset.source} WHERE t.{key_name} = r.{key_name}")
        parameters.append(recordset.encode(rows))
    return _Plan(changed_objects, changes_of_dirty(changed_objects), parts, parameters, [])


@lru_cache(maxsize=64)
def _columns_of(mapper: Mapper[Any]) -> dict[str, NamedColumn[Any]]:
    """A mapped class's column attributes and their columns, once a class, not once a changed row."""
    return {prop.key: prop.columns[0] for prop in mapper.column_attrs}


def _execute_chained(connection: Connection, parts: list[str], parameters: list[str]) -> None:
    """Data-modifying statements as one: all but the last as CTEs (foreign keys are checked at the end)."""
    *ctes, last = parts
    statement = last if not ctes else "WITH " + ", ".join(f"w{i} AS ({sql})" for i, sql in enumerate(ctes)) + " " + last
    connection.exec_driver_sql(statement, tuple(parameters))


Converter = tuple[str, Callable[[Any], Any], bool]  # column key, to the column's text input, also for None


@dataclass(frozen=True)
class _Recordset:
    """Rows of some columns of a table as one JSON parameter: `json_to_recordset(%s::json) AS r(…)`."""

    table: str  # quoted
    names: tuple[str, ...]  # the columns, quoted
    values: tuple[str, ...]  # each column's value in the recordset `r`
    source: str
    converters: tuple[Converter, ...]

    def encode(self, rows: list[dict[str, Any]]) -> str:
        records = [dict(row) for row in rows] if self.converters else rows
        for key, convert, also_none in self.converters:
            for record in records:
                if also_none or record[key] is not None:
                    record[key] = convert(record[key])
        return json_text(records)


@lru_cache(maxsize=256)
def _recordset(table: Table, columns: tuple[str, ...], dialect: Dialect) -> _Recordset:
    quote = dialect.identifier_preparer
    converters: list[Converter] = []
    names, declared, values = [], [], []
    for column in (table.c[key] for key in columns):
        name, sql_type = quote.quote(column.name), column.type.compile(dialect=dialect)
        names.append(name)
        if isinstance(column.type, JSON):
            # As its own text, cast after: the recordset would make a JSON null (None set on the
            # attribute, as a flush writes it) an SQL NULL. Serialised as the engine does.
            converters.append((column.key, json_text, True))
            declared.append(f"{name} text")
            values.append(f"r.{name}::{sql_type}")
            continue
        if isinstance(column.type, TypeDecorator):  # its checks and conversions, as a flush applies them
            converters.append((column.key, partial(column.type.process_bind_param, dialect=dialect), False))
        declared.append(f"{name} {sql_type}")
        values.append(f"r.{name}")
    source = f"json_to_recordset(%s::json) AS r({', '.join(declared)})"
    return _Recordset(quote.format_table(table), tuple(names), tuple(values), source, tuple(converters))
