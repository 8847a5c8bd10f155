"""The gateway's store of responses: a private SQLite file with a versioned schema."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from ails.gateway.responses_store import (
    APPLICATION_ID,
    MIGRATIONS,
    ResponsesStore,
    ResponsesStoreError,
    default_path,
)

RESPONSE = {"id": "resp_1", "object": "response", "output": [{"type": "message", "id": "m"}]}
CONTEXT = [{"type": "message", "role": "user", "content": "hi"}]


def encoded(response: dict[str, object]) -> bytes:
    return json.dumps(response).encode()


class TestDefaultPath:
    def test_under_ails_home(self, tmp_path: Path) -> None:
        assert default_path({"AILS_HOME": str(tmp_path)}) == tmp_path / "responses.db"

    def test_xdg_data_home_when_absolute(self, tmp_path: Path) -> None:
        path = default_path({"XDG_DATA_HOME": str(tmp_path)})
        assert path == tmp_path / "ails" / "responses.db"

    def test_a_relative_xdg_data_home_is_ignored(self) -> None:
        assert default_path({"XDG_DATA_HOME": "rel"}).parts[-3:] == (
            "share",
            "ails",
            "responses.db",
        )


class TestStore:
    async def test_save_load_delete(self, tmp_path: Path) -> None:
        store = ResponsesStore(tmp_path / "r.db")
        try:
            await store.save("resp_1", encoded(RESPONSE), CONTEXT)
            found = await store.load("resp_1")
            assert found is not None
            assert found.response == RESPONSE
            assert found.conversation == [*CONTEXT, *RESPONSE["output"]]  # type: ignore[list-item]
            assert await store.delete("resp_1") is True
            assert await store.load("resp_1") is None
            assert await store.delete("resp_1") is False
        finally:
            await store.close()

    async def test_the_own_input_is_kept_apart_from_the_context(self, tmp_path: Path) -> None:
        own = [{"type": "message", "role": "user", "content": "and then?"}]
        store = ResponsesStore(tmp_path / "r.db")
        try:
            await store.save("resp_2", encoded(RESPONSE), [*CONTEXT, *own], input=own)
            await store.save("resp_1", encoded(RESPONSE), CONTEXT)
            assert await store.input_items("resp_2") == own
            # Saved without its own input: the context is all of it.
            assert await store.input_items("resp_1") == CONTEXT
            assert await store.input_items("resp_x") is None
            await store.delete("resp_2")
            assert await store.input_items("resp_2") is None
        finally:
            await store.close()

    async def test_reading_never_creates_the_file(self, tmp_path: Path) -> None:
        path = tmp_path / "r.db"
        store = ResponsesStore(path)
        try:
            assert await store.load("resp_x") is None
            assert await store.input_items("resp_x") is None
            assert await store.delete("resp_x") is False
        finally:
            await store.close()
        assert not path.exists()

    async def test_the_file_is_private_and_versioned(self, tmp_path: Path) -> None:
        path = tmp_path / "new" / "r.db"
        store = ResponsesStore(path)
        try:
            await store.save("resp_1", encoded(RESPONSE), CONTEXT)
        finally:
            await store.close()
        assert path.stat().st_mode & 0o777 == 0o600
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)

    async def test_a_foreign_database_is_refused(self, tmp_path: Path) -> None:
        path = tmp_path / "other.db"
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE t (x)")
        store = ResponsesStore(path)
        try:
            with pytest.raises(ResponsesStoreError, match="not an ails responses store"):
                await store.save("resp_1", encoded(RESPONSE), CONTEXT)
        finally:
            await store.close()

    async def test_a_newer_schema_is_refused(self, tmp_path: Path) -> None:
        path = tmp_path / "r.db"
        store = ResponsesStore(path)
        try:
            await store.save("resp_1", encoded(RESPONSE), CONTEXT)
        finally:
            await store.close()
        with sqlite3.connect(path) as conn:
            conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
        again = ResponsesStore(path)
        try:
            with pytest.raises(ResponsesStoreError, match="newer ails"):
                await again.load("resp_1")
        finally:
            await again.close()


async def test_a_first_version_store_is_migrated_and_its_context_listed(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    with sqlite3.connect(path) as conn:
        for statement in MIGRATIONS[0]:
            conn.execute(statement)
        conn.execute(
            "INSERT INTO responses VALUES (?, ?, ?, ?)",
            ("resp_old", 0.0, encoded(RESPONSE), json.dumps(CONTEXT)),
        )
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute("PRAGMA user_version = 1")
    store = ResponsesStore(path)
    try:
        assert await store.input_items("resp_old") == CONTEXT
        found = await store.load("resp_old")
        assert found is not None
        assert found.context == CONTEXT
    finally:
        await store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) == 2
