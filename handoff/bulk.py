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
client's work is one `json.dumps` a table. psycopg's executemany went through its pipeline
machinery row by row (a few system calls a row, a round trip a table: 6 ms of CPU for a batch of
four complaints), and its array parameters escape every element in Python. Elsewhere (SQLite, in
process) each table's rows are one Core executemany.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, Connection, DateTime, Table, TypeDecorator, Uuid, inspect, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.orm.state import InstanceState

from handoff.events import CHANGES, changes_of_new
from handoff.models import Base

_MISSING = object()
# Computed once: the tables in the order their foreign keys need.
_TABLE_ORDER = {table: position for position, table in enumerate(Base.metadata.sorted_tables)}


def insert_new_rows(session: Session) -> bool:
    """Write the session's pending new objects with Core; False (and nothing done) if one of them
    needs the unit of work: a relationship set on it, which only a flush turns into its ids."""
    states: list[InstanceState[Any]] = sorted((inspect(obj) for obj in session.new), key=_insert_order)
    if not states:
        return True
    by_table: dict[Table, list[InstanceState[Any]]] = defaultdict(list)
    for state in states:
        mapper = state.mapper
        if any(key in state.dict for key in mapper.relationships.keys()):
            return False
        by_table[mapper.local_table].append(state)  # type: ignore[index]
    # In the order added, as a flush: a reply after the message it answers.
    runs = [(table, rows) for table in sorted(by_table, key=_TABLE_ORDER.__getitem__)
            for rows in _rows_by_columns(by_table[table])]
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        _insert_in_one_statement(connection, runs)
    else:
        for table, rows in runs:
            connection.execute(insert(table), rows)
    objects = [state.obj() for state in states]
    for obj in objects:
        session.expunge(obj)
    session.info.setdefault(CHANGES, []).extend(changes_of_new(objects))
    return True


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
        for prop in state.mapper.column_attrs:
            column = prop.columns[0]
            value = values.get(prop.key, _MISSING)
            if value is None and not column.type.should_evaluate_none:
                value = _MISSING  # as a flush does: None on a column with a default means the default
            if value is _MISSING:
                if column.default is not None and column.default.is_scalar:
                    value = column.default.arg
                elif column.default is not None and column.default.is_callable:
                    value = column.default.arg(None)
                elif column.server_default is not None or column.type.should_evaluate_none:
                    continue  # left out, as a flush leaves it: the server's default, or SQL NULL (not JSON null)
                else:
                    value = None
                values[prop.key] = value
            row[column.key] = value
        if runs and runs[-1][0].keys() == row.keys():
            runs[-1].append(row)
        else:
            runs.append([row])
    return runs


def _insert_in_one_statement(connection: Connection, runs: Sequence[tuple[Table, list[dict[str, Any]]]]) -> None:
    parts: list[str] = []
    parameters: list[str] = []
    for table, rows in runs:
        sql, converters = _recordset_insert(table, tuple(rows[0]), connection.dialect)
        parts.append(sql)
        records = [dict(row) for row in rows]
        for key, convert, also_none in converters:
            for record in records:
                if also_none or record[key] is not None:
                    record[key] = convert(record[key])
        parameters.append(json.dumps(records, ensure_ascii=False))
    *ctes, last = parts
    statement = last if not ctes else "WITH " + ", ".join(f"w{i} AS ({sql})" for i, sql in enumerate(ctes)) + " " + last
    connection.exec_driver_sql(statement, tuple(parameters))


@lru_cache(maxsize=256)
def _recordset_insert(
    table: Table, columns: tuple[str, ...], dialect: Dialect
) -> tuple[str, tuple[tuple[str, Callable[[Any], Any], bool], ...]]:
    """`INSERT INTO t (a, b) SELECT a, b FROM json_to_recordset(%s::json) AS r(a type_a, b type_b)`, and
    how a value of each column that JSON does not carry as it is becomes the column's text input
    (and whether None does too)."""
    quote = dialect.identifier_preparer
    converters: list[tuple[str, Callable[[Any], Any], bool]] = []
    declared, selected = [], []
    for column in (table.c[key] for key in columns):
        name, sql_type = quote.quote(column.name), column.type.compile(dialect=dialect)
        if isinstance(column.type, JSON):
            # As its own text, cast after: the recordset would make a JSON null (None set on the
            # attribute, as a flush writes it) an SQL NULL. Serialised as Core does by default.
            converters.append((column.key, json.dumps, True))
            declared.append(f"{name} text")
            selected.append(f"{name}::{sql_type}")
            continue
        if isinstance(column.type, Uuid):
            converters.append((column.key, str, False))
        elif isinstance(column.type, TypeDecorator) and isinstance(column.type.impl_instance, DateTime):
            converters.append((column.key, _aware_time_text(column.type, dialect), False))
        elif isinstance(column.type, DateTime):
            converters.append((column.key, datetime.isoformat, False))
        declared.append(f"{name} {sql_type}")
        selected.append(name)
    names = ", ".join(quote.quote(table.c[key].name) for key in columns)
    sql = (f"INSERT INTO {quote.format_table(table)} ({names}) SELECT {', '.join(selected)} "
           f"FROM json_to_recordset(%s::json) AS r({', '.join(declared)})")
    return sql, tuple(converters)


def _aware_time_text(decorator: TypeDecorator[Any], dialect: Dialect) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        return decorator.process_bind_param(value, dialect).isoformat()

    return convert
