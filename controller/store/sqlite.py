"""The embedded store: one SQLite file in the state directory, for a single task and local runs.

Calls are synchronous: each is one small indexed statement in WAL mode, well under a millisecond,
cheaper than a thread hop. The DynamoDB backend is where awaiting matters.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from controller.store.base import Identity, InventoryEntry, Store, identity_key

SCHEMA = """
CREATE TABLE IF NOT EXISTS inventory (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    identity_key TEXT NOT NULL,
    identity TEXT NOT NULL,
    deletion_policy TEXT NOT NULL,
    recorded_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS inventory_identity ON inventory(identity_key);
CREATE TABLE IF NOT EXISTS create_pending (
    identity_key TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    started_at REAL NOT NULL
);
"""
DATABASE_NAME = "trimtab.sqlite3"


class SqliteStore(Store):
    def __init__(self, state_dir: Path) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self.path = state_dir / DATABASE_NAME
        self._db = sqlite3.connect(self.path, isolation_level=None)  # autocommit: every write is durable
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    async def owner_of(self, kind: str, identity: Identity) -> str | None:
        row = self._db.execute(
            "SELECT key FROM inventory WHERE identity_key = ?", (identity_key(kind, identity),)
        ).fetchone()
        return None if row is None else str(row[0])

    async def record_owned(self, entry: InventoryEntry) -> None:
        # One owner per AWS resource: an adopting spec replaces the record of a removed one,
        # so pruning the removed spec can never delete what the new one now manages.
        self._db.execute(
            "DELETE FROM inventory WHERE identity_key = ? AND key != ?",
            (identity_key(entry.kind, entry.identity), entry.key),
        )
        self._db.execute(
            "INSERT OR REPLACE INTO inventory VALUES (?, ?, ?, ?, ?, ?)",
            (entry.key, entry.kind, identity_key(entry.kind, entry.identity),
             json.dumps(entry.identity, sort_keys=True), entry.deletion_policy, entry.recorded_at),
        )

    async def mark_create_pending(self, key: str, kind: str, identity: Identity) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO create_pending VALUES (?, ?, ?)",
            (identity_key(kind, identity), key, time.time()),
        )

    async def pending_create(self, kind: str, identity: Identity) -> str | None:
        row = self._db.execute(
            "SELECT key FROM create_pending WHERE identity_key = ?", (identity_key(kind, identity),)
        ).fetchone()
        return None if row is None else str(row[0])

    async def clear_create_pending(self, kind: str, identity: Identity) -> None:
        self._db.execute("DELETE FROM create_pending WHERE identity_key = ?", (identity_key(kind, identity),))

    def close(self) -> None:
        self._db.close()
