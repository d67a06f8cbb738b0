#!/usr/bin/env python
"""Report an MLflow tracking database's schema revision next to the one the installed MLflow expects.

Prints one JSON object: {"current": <revision or null>, "head": <revision>, "known": <bool>}. "current" is null for
an empty database; "known" is false when the database carries a revision this MLflow does not know (written by a
newer MLflow), which no upgrade can fix. The mlflow_server role runs `mlflow db upgrade` only when current != head.

The database URI comes from MLFLOW_SCHEMA_DB_URI and carries no password: libpq reads it from PGPASSFILE or
PGPASSWORD, so nothing secret is ever a process argument.
"""
import importlib.util
import json
import os
import sys
from pathlib import Path

import sqlalchemy
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError


def main():
    uri = os.environ.get("MLFLOW_SCHEMA_DB_URI")
    if not uri:
        sys.exit("MLFLOW_SCHEMA_DB_URI is not set")
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
    json.dump({"current": current, "head": heads[0], "known": known}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
