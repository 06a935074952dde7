"""Connecting to the store's database and bringing its schema up to date (Alembic)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event

from taskagent.settings import DEFAULT_DATABASE_URL

MIGRATIONS = Path(__file__).parent / "migrations"


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory SQLite)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url == prefix or url.endswith(":memory:"):
        return None
    return Path(url[len(prefix) :])


class Database:
    """An engine on `url` (`sqlite:///data/taskagent.db`, `postgresql+psycopg://...`)."""

    def __init__(self, url: str = DEFAULT_DATABASE_URL) -> None:
        path = sqlite_path(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self.url = url
        self.engine: Engine = create_engine(url, pool_pre_ping=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)

    def __repr__(self) -> str:
        return f"Database({self.engine.url.render_as_string(hide_password=True)!r})"

    def close(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(connection: object, _: object) -> None:
    cursor = connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def migrate(database: Database, revision: str = "head") -> None:
    """Create or upgrade the schema to `revision` (idempotent: an up-to-date schema is kept)."""
    # Alembic is imported here, where it is used: about 0.2 s that a process reading or writing
    # the store without migrating it (starter.py run, a test) does not pay.
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
