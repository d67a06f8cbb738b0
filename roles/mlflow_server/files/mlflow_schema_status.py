#!/usr/bin/env python
"""Report an MLflow tracking database's schema revision next to the one the installed MLflow expects.

Prints one JSON object: {"current": <revision or null>, "head": <revision>, "known": <bool>}. "current" is null for
an empty database; "known" is false when the database carries a revision this MLflow does not know (written by a
newer MLflow), which no upgrade can fix. The mlflow_server role runs `mlflow db upgrade` only when current != head.

With --upgrade it runs `mlflow db upgrade` itself, one at a time per database: it holds a PostgreSQL advisory lock
for the whole migration, reads the revision again once it has the lock, and migrates only if the schema is still
behind. A second run (say, a re-run of a deploy whose controller was killed while the first migration still runs on
the host) so waits for the first one instead of migrating the same tables at the same time. The JSON object then
also has "upgraded" (whether this run migrated) and "before" (the revision it found once it held the lock).

The database URI comes from MLFLOW_SCHEMA_DB_URI and carries no password: libpq reads it from PGPASSFILE or
PGPASSWORD, so nothing secret is ever a process argument.
"""
import contextlib
import importlib.util
import json
import os
import sys
import zlib
from pathlib import Path

import sqlalchemy
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError


# One key for every MLflow schema migration the role runs, whatever the database: the lock is per database anyway.
UPGRADE_LOCK_KEY = zlib.crc32(b"computenest.mlflow schema upgrade")
# How long a run waits for another run's migration before it gives up (a big database can take long to migrate).
UPGRADE_LOCK_WAIT = "30min"


def schema_status(uri):
    config = Config()
    # Located without importing mlflow, whose import takes seconds.
    package_dir = Path(importlib.util.find_spec("mlflow").submodule_search_locations[0])
    config.set_main_option("script_location", str(package_dir / "store" / "db_migrations"))
    script = ScriptDirectory.from_config(config)
    heads = script.get_heads()
    if len(heads) != 1:
        sys.exit(f"expected one head revision in MLflow's migrations, found {heads}")
    engine = sqlalchemy.create_engine(uri, poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
    known = True
    if current is not None:
        try:
            known = script.get_revision(current) is not None
        except CommandError:
            known = False
    return {"current": current, "head": heads[0], "known": known}


def upgrade(uri):
    """Migrate to head under the advisory lock; returns the status after, with "before" and "upgraded"."""
    engine = sqlalchemy.create_engine(uri, poolclass=sqlalchemy.pool.NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as lock_connection:
            lock_connection.execute(sqlalchemy.text("SET lock_timeout = '%s'" % UPGRADE_LOCK_WAIT))
            try:
                lock_connection.execute(sqlalchemy.text("SELECT pg_advisory_lock(:key)"), {"key": UPGRADE_LOCK_KEY})
            except sqlalchemy.exc.OperationalError as error:
                sys.exit("another MLflow schema migration of this database held its lock for more than %s: %s"
                         % (UPGRADE_LOCK_WAIT, error.orig))
            # Released when this connection closes, also when the process dies.
            before = schema_status(uri)
            if before["known"] and before["current"] != before["head"]:
                # `mlflow db upgrade` in this process, so the lock lives exactly as long as the migration. Its
                # output goes to stderr: this program's own stdout is the JSON answer.
                from mlflow.cli import cli  # pylint: disable=import-outside-toplevel
                with contextlib.redirect_stdout(sys.stderr):
                    cli.main(["db", "upgrade", uri], prog_name="mlflow", standalone_mode=False)
            after = schema_status(uri)
    finally:
        engine.dispose()
    after.update(before=before["current"], upgraded=after["current"] != before["current"])
    return after


def main():
    uri = os.environ.get("MLFLOW_SCHEMA_DB_URI")
    if not uri:
        sys.exit("MLFLOW_SCHEMA_DB_URI is not set")
    if sys.argv[1:] not in ([], ["--upgrade"]):
        sys.exit("usage: mlflow-schema-status [--upgrade]")
    status = upgrade(uri) if sys.argv[1:] == ["--upgrade"] else schema_status(uri)
    json.dump(status, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
