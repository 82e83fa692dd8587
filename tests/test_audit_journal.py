"""The audit journal: audit rows of reads reach disk before the call returns, reach the audit
log in the background, and are never lost or doubled (killed processes, torn lines)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import catalog
from catalog import audit, audit_journal
from catalog.store.database import DATABASE_FILE

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def slow_mover(monkeypatch: pytest.MonkeyPatch) -> None:
    """The background mover waits an hour: rows stay in the journal until a reader needs them."""
    monkeypatch.setattr(audit_journal, "MOVE_INTERVAL_S", 3600.0)


def audit_rows(cat: catalog.Catalog, action: str) -> pd.DataFrame:
    return cat.sql(
        "SELECT user_identity.email AS who, response.status_code AS status, request_params FROM system.access.audit "
        f"WHERE action_name = '{action}' ORDER BY event_time"
    )


def make_table(cat: catalog.Catalog, name: str) -> None:
    cat.sql("CREATE CATALOG IF NOT EXISTS main")
    cat.sql(f"CREATE TABLE main.default.{name} AS SELECT 1 AS x")


def rows_in_database(cat: catalog.Catalog, action: str) -> int:
    """Rows of ``action`` already in meta.audit_log, read past the catalog (no flush first)."""
    db = cat.session.engine.db
    return db.execute(f"SELECT count(*) FROM {audit.TABLE} WHERE action_name = ?", [action]).fetchone()[0]


def run_script(script: str, home: Path) -> str:
    """Run ``script`` on ``home`` in a new Python process; its output (it must exit 0)."""
    done = subprocess.run(
        [sys.executable, "-c", script, str(home)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def journal_files(home: Path) -> list[Path]:
    return sorted((home / audit_journal.JOURNAL_DIR).glob(f"*{audit_journal.SUFFIX}"))


def test_a_read_is_on_disk_in_the_journal_when_it_returns(home, slow_mover):
    with catalog.connect(home, user="admin") as cat:
        make_table(cat, "t")
        cat.read_table("main.default.t")
        assert rows_in_database(cat, "readTable") == 0
        (segment,) = journal_files(home)
        assert '"readTable"' in segment.read_text()


def test_an_audit_query_sees_every_read_before_it(home, slow_mover):
    with catalog.connect(home, user="admin") as cat:
        make_table(cat, "t")
        for _ in range(3):
            cat.read_table("main.default.t")
        assert rows_in_database(cat, "readTable") == 0
        (segment,) = journal_files(home)
        rows = audit_rows(cat, "readTable")
        assert list(rows["who"]) == ["admin"] * 3 and set(rows["status"]) == {200}
        assert rows_in_database(cat, "readTable") == 3
        assert segment not in journal_files(home)  # moved, then removed


def test_a_view_over_the_audit_log_sees_the_journaled_rows_too(home, slow_mover):
    with catalog.connect(home, user="admin") as cat:
        cat.sql("CREATE CATALOG main")
        cat.sql("CREATE VIEW main.default.reads AS SELECT action_name FROM system.access.audit")
        cat.sql("SELECT 1")
        seen = cat.sql("SELECT count(*) AS n FROM main.default.reads WHERE action_name = 'executeQuery'")
        assert seen["n"][0] >= 1


def test_denials_of_reads_go_through_the_journal_and_are_kept(home, slow_mover):
    with catalog.connect(home, user="admin") as admin:
        admin.sql("CREATE USER bob")
        make_table(admin, "secret")
        with catalog.connect(home, user="bob") as bob, pytest.raises(catalog.PermissionDenied):
            bob.read_table("main.default.secret")
        assert rows_in_database(admin, "readTable") == 0
        rows = audit_rows(admin, "readTable")
        assert list(zip(rows["who"], rows["status"], strict=True)) == [("bob", 403)]


def test_the_mover_takes_rows_into_the_database_without_a_reader(home, monkeypatch):
    monkeypatch.setattr(audit_journal, "MOVE_INTERVAL_S", 0.05)
    with catalog.connect(home, user="admin") as cat:
        make_table(cat, "t")
        cat.read_table("main.default.t")
        deadline = time.monotonic() + 10
        while (rows_in_database(cat, "readTable") == 0 or journal_files(home)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert rows_in_database(cat, "readTable") == 1
        assert journal_files(home) == []  # moved, then removed


def test_closing_moves_every_row_and_leaves_no_journal(home, slow_mover):
    with catalog.connect(home, user="admin") as cat:
        cat.sql("SELECT 1")
    assert journal_files(home) == []
    db = duckdb.connect(str(home / DATABASE_FILE), read_only=True)
    try:
        assert db.execute(f"SELECT count(*) FROM {audit.TABLE} WHERE action_name = 'executeQuery'").fetchone()[0] == 1
    finally:
        db.close()


def test_journal_files_are_private_to_the_owner(home, slow_mover):
    with catalog.connect(home, user="admin") as cat:
        cat.sql("SELECT 1")
        directory = home / audit_journal.JOURNAL_DIR
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
        (segment,) = journal_files(home)
        assert stat.S_IMODE(segment.stat().st_mode) == 0o600


KILLED_READER = textwrap.dedent(
    """
    import os, sys
    import catalog
    from catalog import audit_journal

    audit_journal.MOVE_INTERVAL_S = 3600.0
    cat = catalog.connect(sys.argv[1], user="admin")
    cat.sql("CREATE CATALOG main")
    cat.sql("CREATE TABLE main.default.t AS SELECT 1 AS x")
    for _ in range(5):
        cat.read_table("main.default.t")
    os._exit(0)  # dies at once: no close, no exit handlers, the rows only in the journal
    """
)


def test_reads_acknowledged_before_the_process_died_are_in_the_audit_log(tmp_path):
    home = tmp_path / "home"
    run_script(KILLED_READER, home)
    assert len(journal_files(home)) == 1
    with catalog.connect(home, user="admin") as cat:
        assert journal_files(home) == []
        assert len(audit_rows(cat, "readTable")) == 5
    with catalog.connect(home, user="admin") as cat:  # moved once: opening again adds nothing
        assert len(audit_rows(cat, "readTable")) == 5


def journal_line(event: audit.AuditEvent) -> str:
    return audit.journal_entry("ws", event)[1]


def test_a_row_already_in_the_database_is_not_moved_twice(home):
    with catalog.connect(home, user="admin"):
        pass
    stored = journal_line(audit.AuditEvent("admin", "movedBeforeTheCrash"))
    fresh = journal_line(audit.AuditEvent("admin", "onlyInTheJournal"))
    db = duckdb.connect(str(home / DATABASE_FILE))
    try:
        db.appender(audit.TABLE).append_row(*audit.row_of_entry(stored))
    finally:
        db.close()
    (home / audit_journal.JOURNAL_DIR / f"left-00000001{audit_journal.SUFFIX}").write_text(stored + "\n" + fresh + "\n")
    with catalog.connect(home, user="admin") as cat:
        found = cat.sql(
            "SELECT action_name, count(*) AS n FROM system.access.audit "
            "WHERE action_name IN ('movedBeforeTheCrash', 'onlyInTheJournal') GROUP BY ALL ORDER BY 1"
        )
    assert list(zip(found["action_name"], found["n"], strict=True)) == [
        ("movedBeforeTheCrash", 1),
        ("onlyInTheJournal", 1),
    ]


def test_a_torn_last_line_is_skipped_and_the_rest_moved(home, caplog):
    with catalog.connect(home, user="admin"):
        pass
    whole = journal_line(audit.AuditEvent("bob", "wholeLine", {"table": "main.default.t"}, status_code=403))
    torn = journal_line(audit.AuditEvent("bob", "tornLine"))
    (home / audit_journal.JOURNAL_DIR / f"left-00000001{audit_journal.SUFFIX}").write_text(whole + "\n" + torn[:40])
    with catalog.connect(home, user="admin") as cat:
        rows = audit_rows(cat, "wholeLine")
        assert list(zip(rows["who"], rows["status"], strict=True)) == [("bob", 403)]
        assert dict(rows["request_params"][0]) == {"table": "main.default.t"}
        assert audit_rows(cat, "tornLine").empty
    assert "incomplete" in caplog.text


def test_journal_entries_keep_every_column_of_the_row():
    event = audit.AuditEvent(
        "alice",
        "readTable",
        {"full_name_arg": "main.default.t", "odd": "\ud800"},
        status_code=403,
        error_message="no",
        session_id="s1",
        source_ip_address="127.0.0.1",
        user_agent="tests",
    )
    row, line = audit.journal_entry("ws", event)
    assert audit.row_of_entry(line) == row
    assert len(row) == len(audit.COLUMNS)
    with pytest.raises(ValueError, match="not an audit journal entry"):
        audit.row_of_entry('["too", "short"]')


FULL_DISK_READER = textwrap.dedent(
    """
    import resource, signal, sys
    import catalog
    from catalog import audit_journal

    audit_journal.MOVE_INTERVAL_S = 3600.0
    cat = catalog.connect(sys.argv[1], user="admin")
    cat.sql("CREATE CATALOG main")
    cat.sql("CREATE TABLE main.default.t AS SELECT 1 AS x")
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (64, resource.RLIM_INFINITY))
    try:
        frame = cat.read_table("main.default.t")
    except OSError as error:
        print("refused:", error.strerror)
    else:
        print("returned", len(frame), "rows")
    """
)


def test_a_read_whose_audit_row_cannot_be_kept_returns_nothing(tmp_path):
    output = run_script(FULL_DISK_READER, tmp_path / "home")
    assert "refused: File too large" in output
    assert "returned" not in output


def test_reads_from_many_threads_each_leave_exactly_one_row(home, monkeypatch):
    monkeypatch.setattr(audit_journal, "MOVE_INTERVAL_S", 0.01)  # the mover runs between the reads
    with catalog.connect(home, user="admin") as admin:
        make_table(admin, "t")

        def reader(_: int) -> int:
            with catalog.connect(home, user="admin") as cat:
                for _ in range(25):
                    cat.read_table("main.default.t")
            return 25

        with ThreadPoolExecutor(4) as pool:
            assert sum(pool.map(reader, range(4))) == 100
        rows = admin.sql(
            "SELECT count(*) AS n, count(DISTINCT event_id) AS ids FROM system.access.audit "
            "WHERE action_name = 'readTable'"
        )
        assert (rows["n"][0], rows["ids"][0]) == (100, 100)


def test_the_journal_row_layout_is_the_audit_tables(home):
    with catalog.connect(home, user="admin") as cat:
        columns = cat.session.engine.db.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'meta' AND table_name = 'audit_log' ORDER BY ordinal_position"
        ).fetchall()
    assert tuple(name for (name,) in columns) == audit.COLUMNS


def test_a_write_that_reads_the_audit_log_copies_the_journaled_rows_too(home, slow_mover):
    with catalog.connect(home, user="admin") as cat:
        make_table(cat, "t")
        cat.read_table("main.default.t")
        cat.sql(
            "CREATE TABLE main.default.reads AS "
            "SELECT event_id FROM system.access.audit WHERE action_name = 'readTable'"
        )
        assert len(cat.read_table("main.default.reads")) == 1
        upstream = cat.sql(
            "SELECT source_table_full_name FROM system.access.table_lineage "
            "WHERE target_table_full_name = 'main.default.reads'"
        )
        assert list(upstream["source_table_full_name"]) == ["system.access.audit"]


DISK_FULL_THEN_KILLED = textwrap.dedent(
    """
    import os, resource, signal, sys
    import catalog
    from catalog import audit_journal

    audit_journal.MOVE_INTERVAL_S = 3600.0
    cat = catalog.connect(sys.argv[1], user="admin")
    cat.sql("CREATE CATALOG main")
    cat.sql("CREATE TABLE main.default.t AS SELECT 1 AS x")
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64, resource.RLIM_INFINITY))
    try:
        cat.read_table("main.default.t")  # its line is cut off at 64 bytes
    except OSError:
        pass
    resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    cat.read_table("main.default.t")
    cat.read_table("main.default.t")
    os._exit(0)
    """
)


def test_rows_written_after_a_torn_line_survive_a_crash(tmp_path):
    home = tmp_path / "home"
    run_script(DISK_FULL_THEN_KILLED, home)
    with catalog.connect(home, user="admin") as cat:
        rows = audit_rows(cat, "readTable")
    assert list(zip(rows["who"], rows["status"], strict=True)) == [("admin", 200), ("admin", 200)]
