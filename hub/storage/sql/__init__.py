"""The SQL system of record for history (SQLite embedded, PostgreSQL in
production): one small async layer, the same schema and queries on both."""

from hub.storage.sql.db import Database, Tx, open_database
from hub.storage.sql.migrate import latest_version, migrate

__all__ = ["Database", "Tx", "latest_version", "migrate", "open_database"]
