"""outbox vacuumed as a queue

Revision ID: 0007out_outbox
Revises: 0006ent_lanes
Create Date: 2026-12-05 06:00:00

Every entry is updated twice (sending, then sent), and its status is indexed, so each delivery
leaves two dead entries in the status index that the delivery workers' claims read until a vacuum
removes them. PostgreSQL's default vacuums a table once a fifth of it is dead: for an outbox of a
million entries, a claim would wade through 200,000 of them. The outbox is vacuumed (and analysed)
after a fixed number of changes instead, whatever its size. PostgreSQL only; SQLite has no vacuum
of this kind.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007out_outbox"
down_revision: str | None = "0006ent_lanes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUEUE_AUTOVACUUM = {
    "autovacuum_vacuum_scale_factor": "0",
    "autovacuum_vacuum_threshold": "5000",
    "autovacuum_vacuum_insert_scale_factor": "0",
    "autovacuum_vacuum_insert_threshold": "5000",
    "autovacuum_analyze_scale_factor": "0",
    "autovacuum_analyze_threshold": "5000",
}


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        settings = ", ".join(f"{name} = {value}" for name, value in QUEUE_AUTOVACUUM.items())
        op.execute(f"ALTER TABLE outbox SET ({settings})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE outbox RESET ({', '.join(QUEUE_AUTOVACUUM)})")
