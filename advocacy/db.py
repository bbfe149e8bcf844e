"""Database engine and session handling (plain SQLAlchemy 2.0, no Flask-SQLAlchemy)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, g
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine with settings that suit each backend."""
    # SQLAlchemy puts a failed statement's parameters (names, emails, addresses, letters)
    # into its exception messages, and the app logs tracebacks of unexpected errors.
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        connect_args = {"check_same_thread": False, "timeout": 30}
        if url in {"sqlite://", "sqlite:///:memory:"}:
            kwargs.setdefault("poolclass", StaticPool)
        engine = create_engine(url, connect_args=connect_args, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # WAL lets the web server read while the worker writes; foreign keys are off
            # by default in SQLite and the schema relies on them.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if "poolclass" not in kwargs:
        # Sizes apply only to the default QueuePool (migrations pass NullPool).
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 10)
    return create_engine(url, **kwargs)


class Database:
    """Holds the engine and hands out one session per app context."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.session_factory: sessionmaker[Session] | None = None

    def init_app(self, app: Flask) -> None:
        """Bind to the app's DATABASE_URL and close sessions at teardown."""
        self.configure(app.config["DATABASE_URL"])
        app.extensions["database"] = self
        app.teardown_appcontext(self._teardown)

    def configure(self, url: str) -> None:
        """Create the engine and session factory for a database URL."""
        self.engine = make_engine(url)
        self.session_factory = sessionmaker(self.engine, expire_on_commit=False)

    def new_session(self) -> Session:
        """Open a session not tied to a request (workers, CLI)."""
        if self.session_factory is None:
            raise RuntimeError("database is not configured")
        return self.session_factory()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Yield a fresh session inside one committed-or-rolled-back transaction."""
        with self.new_session() as session, session.begin():
            yield session

    @property
    def session(self) -> Session:
        """The session of the current app context."""
        if "db_session" not in g:
            g.db_session = self.new_session()
        session: Session = g.db_session
        return session

    def _teardown(self, _exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()

    def dispose(self) -> None:
        """Close every pooled connection."""
        if self.engine is not None:
            self.engine.dispose()
