"""`open_read_only`: reads what `open_store` wrote, writes nothing, upgrades nothing."""

import hashlib
import re
import sqlite3

import pytest
import sqlalchemy as sa

from lawloop.storage import NotFoundError, StorageError, open_read_only, open_store

CAMPAIGN = dict(
    name="c",
    backend_id="core/Pendulum-v0",
    planner="offline",
    seed=1,
    config={},
    code_version="test",
    environment={},
)


def _written(url: str) -> None:
    with open_store(url) as store:
        store.add_campaign("c1", **CAMPAIGN)


@pytest.fixture(params=["sqlite", "postgresql"], ids=["sqlite", "postgresql"])
def written_url(request, tmp_path) -> str:
    """A database holding one campaign."""
    if request.param == "postgresql":  # skips without LAWLOOP_TEST_POSTGRES_URL
        url = request.getfixturevalue("postgres_url")
    else:
        url = f"sqlite:///{tmp_path / 'lawloop.db'}"
    _written(url)
    return url


def test_reads_what_open_store_wrote_and_refuses_writes(written_url):
    with open_read_only(written_url) as store:
        assert [c.id for c in store.list_campaigns()] == ["c1"]
        with pytest.raises(sa.exc.DBAPIError, match=r"read-only|readonly"):
            store.add_campaign("c2", **dict(CAMPAIGN, name="d"))
    with open_read_only(written_url) as store:
        assert [c.id for c in store.list_campaigns()] == ["c1"]


def test_sqlite_file_is_left_byte_for_byte(tmp_path):
    path = tmp_path / "lawloop.db"
    _written(f"sqlite:///{path}")
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with open_read_only(f"sqlite:///{path}") as store:
        store.get_campaign("c1")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_missing_file_is_not_created(tmp_path):
    path = tmp_path / "none.db"
    with pytest.raises(NotFoundError, match=re.escape(str(path))):
        open_read_only(f"sqlite:///{path}")
    assert not path.exists()


def test_database_without_schema_is_refused(tmp_path):
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()
    with pytest.raises(StorageError, match="no lawloop database"):
        open_read_only(f"sqlite:///{path}")


def test_older_schema_is_refused_with_the_upgrade_command(tmp_path):
    path = tmp_path / "old.db"
    _written(f"sqlite:///{path}")
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0001'")
    connection.close()
    with pytest.raises(StorageError, match=r"revision `0001`.*campaign list"):
        open_read_only(f"sqlite:///{path}")
