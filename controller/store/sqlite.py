"""The embedded store: one SQLite file in the state directory, for a single task and local runs.

Calls are synchronous: each is one small indexed statement in WAL mode, well under a millisecond,
cheaper than a thread hop. The DynamoDB backend is where awaiting matters.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Collection, Sequence
from pathlib import Path

from controller.store.base import (
    Event,
    Identity,
    InventoryEntry,
    ItemStatus,
    Store,
    Suspension,
    decode_events,
    decode_status,
    decode_suspension,
    encode_events,
    encode_status,
    encode_suspension,
    identity_key,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS owned (
    identity_key TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    kind TEXT NOT NULL,
    identity TEXT NOT NULL,
    deletion_policy TEXT NOT NULL,
    recorded_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS owned_key ON owned(key);
CREATE TABLE IF NOT EXISTS status (
    key TEXT PRIMARY KEY,
    document TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS create_pending (
    identity_key TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    started_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    key TEXT PRIMARY KEY,
    document TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS suspensions (
    key TEXT PRIMARY KEY,
    document TEXT NOT NULL
);
"""
# State dirs written before the inventory was keyed by AWS resource (one row per spec): moved over once.
MIGRATE_INVENTORY = """
INSERT OR IGNORE INTO owned
    SELECT identity_key, key, kind, identity, deletion_policy, recorded_at FROM inventory;
DROP TABLE inventory;
"""
DATABASE_NAME = "trimtab.sqlite3"


class SqliteStore(Store):
    def __init__(self, state_dir: Path) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self.path = state_dir / DATABASE_NAME
        # autocommit: every write is durable; a 5 s busy timeout lets `trimtab get` read while the controller writes
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=5.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        if self._db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'inventory'").fetchone():
            self._db.executescript(MIGRATE_INVENTORY)

    async def inventory(self) -> list[InventoryEntry]:
        rows = self._db.execute("SELECT key, kind, identity, deletion_policy, recorded_at FROM owned ORDER BY key")
        return [_entry(*row) for row in rows]

    async def owned(self, kind: str, identity: Identity) -> InventoryEntry | None:
        row = self._db.execute("SELECT key, kind, identity, deletion_policy, recorded_at FROM owned "
                               "WHERE identity_key = ?", (identity_key(kind, identity),)).fetchone()
        return None if row is None else _entry(*row)

    async def owned_by(self, key: str) -> list[InventoryEntry]:
        rows = self._db.execute("SELECT key, kind, identity, deletion_policy, recorded_at FROM owned WHERE key = ?",
                                (key,))
        return [_entry(*row) for row in rows]

    async def forget(self, entry: InventoryEntry) -> None:
        self._db.execute("DELETE FROM owned WHERE identity_key = ?", (identity_key(entry.kind, entry.identity),))

    async def put_status(self, status: ItemStatus) -> None:
        self._db.execute("INSERT OR REPLACE INTO status VALUES (?, ?)", (status.key, encode_status(status)))

    async def statuses(self) -> dict[str, ItemStatus]:
        rows = self._db.execute("SELECT key, document FROM status ORDER BY key")
        return {key: decode_status(document) for key, document in rows}

    async def statuses_of(self, keys: Collection[str]) -> dict[str, ItemStatus]:
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        placeholders = ", ".join("?" * len(wanted))
        rows = self._db.execute(f"SELECT key, document FROM status WHERE key IN ({placeholders}) ORDER BY key", wanted)
        return {key: decode_status(document) for key, document in rows}

    async def delete_status(self, key: str) -> None:
        self._db.execute("DELETE FROM status WHERE key = ?", (key,))

    async def events(self) -> dict[str, tuple[Event, ...]]:
        rows = self._db.execute("SELECT key, document FROM events ORDER BY key")
        return {key: decode_events(document) for key, document in rows}

    async def put_events(self, key: str, events: Sequence[Event]) -> None:
        if events:
            self._db.execute("INSERT OR REPLACE INTO events VALUES (?, ?)", (key, encode_events(events)))
        else:
            self._db.execute("DELETE FROM events WHERE key = ?", (key,))

    async def suspensions(self) -> dict[str, Suspension]:
        rows = self._db.execute("SELECT key, document FROM suspensions ORDER BY key")
        return {key: decode_suspension(document) for key, document in rows}

    async def put_suspension(self, key: str, suspension: Suspension | None) -> None:
        if suspension is None:
            self._db.execute("DELETE FROM suspensions WHERE key = ?", (key,))
        else:
            self._db.execute("INSERT OR REPLACE INTO suspensions VALUES (?, ?)", (key, encode_suspension(suspension)))

    async def get_setting(self, name: str) -> str | None:
        row = self._db.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    async def put_setting(self, name: str, value: str | None) -> None:
        if value is None:
            self._db.execute("DELETE FROM settings WHERE name = ?", (name,))
        else:
            self._db.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", (name, value))

    async def record_owned(self, entry: InventoryEntry) -> None:
        # One row per AWS resource: an adopting spec replaces the record of a removed one, so pruning
        # the removed spec can never delete what the new one now manages.
        self._db.execute(
            "INSERT OR REPLACE INTO owned VALUES (?, ?, ?, ?, ?, ?)",
            (identity_key(entry.kind, entry.identity), entry.key, entry.kind,
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


def _entry(key: str, kind: str, identity: str, policy: str, recorded_at: float) -> InventoryEntry:
    return InventoryEntry(key, kind, json.loads(identity), policy, recorded_at)
