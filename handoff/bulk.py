"""A batch's new rows written as one executemany a table, instead of through the unit of work.

The ORM's flush spends more on its bookkeeping (sorting the objects, collecting each one's
parameters, marking it persistent) than on the INSERTs themselves: for the rows a new complaint
writes (citizen, identity, conversation, messages in and out, ticket, its first event, outbox
entries) that was about a third of the intake's CPU at a burst's batch sizes. The intake's new
objects are plain rows tied together by ids known before the flush (no relationship to sync), so
`insert_new_rows` writes them with Core, in foreign-key order, and takes them out of the session;
the commit's flush is left with the updates of rows that existed before.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Table, inspect, insert
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
    connection = session.connection()
    for table in sorted(by_table, key=_TABLE_ORDER.__getitem__):
        for rows in _rows_by_columns(by_table[table]):  # in the order added, as a flush: a reply after its message
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
