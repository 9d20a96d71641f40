"""merge channels and console

Revision ID: 0004merge
Revises: 0002ch_channels, 0003con_console
Create Date: 2026-11-23 03:24:34.421784
"""

from __future__ import annotations

from collections.abc import Sequence



revision: str = '0004merge'
down_revision: str | tuple[str, ...] | None = ('0002ch_channels', '0003con_console')
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
