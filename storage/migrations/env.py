"""Alembic environment for the provenance store (online and offline modes)."""

from __future__ import annotations

from typing import Any

from alembic import context

from lawloop.storage._engine import make_engine
from lawloop.storage._models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    """The database URL: `-x url=...` wins over `sqlalchemy.url`."""
    url = context.get_x_argument(as_dictionary=True).get(
        "url"
    ) or config.get_main_option("sqlalchemy.url")
    if not url:
        msg = "No database URL: pass `-x url=sqlite:///lawloop.db` or use `storage.open_store`."
        raise RuntimeError(msg)
    return url


def _configure(**kwargs: Any) -> None:
    # render_as_batch: SQLite cannot ALTER most things; batch mode copies tables.
    context.configure(
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        **kwargs,
    )


def run_migrations_offline() -> None:
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(_url())
    try:
        with engine.begin() as connection:
            _configure(connection=connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
