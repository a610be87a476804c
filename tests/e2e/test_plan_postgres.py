# fixtures: postgres
"""cqlshift plan on Chinook in PostgreSQL: the plan validates against
docs/plan.schema.json (jsonschema, after PyYAML), has version 1, maps every
table, proposes the query tables of the foreign keys, and cqlshift's own
reader (tests/tools/plan_check.c) takes it back against the same database."""

import json
import subprocess

import jsonschema
import pytest
import yaml

from test_migrate_postgres import load_chinook, pg_db  # noqa: F401 (fixture)


def test_chinook_postgres_plan(build_dir, source_dir, pg_uri, pg_db, tool, tmp_path):  # noqa: F811
    uri, con = pg_db
    load_chinook(source_dir, pg_uri, uri.rsplit("/", 1)[1].split("?")[0])
    out = tmp_path / "plan.yaml"
    r = subprocess.run([str(build_dir / "cqlshift"), "plan", uri, "-k", "chinook", "-o", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    doc = yaml.safe_load(out.read_text())
    schema = json.loads((source_dir / "docs/plan.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(doc)
    assert doc["version"] == 1
    tables = [t for (t,) in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
        "AND table_type = 'BASE TABLE'")]
    enabled = {n for n, t in doc["tables"].items() if t.get("enabled", True)}
    assert enabled == {t.lower() for t in tables}
    assert {m["from"] for m in doc["mappings"]} == set(tables)
    # one query table per foreign key, but none for a key that leads its table's primary
    # key (playlist_track.playlist_id: the table is partitioned by it)
    nfk = con.execute("""
        SELECT count(*) FROM pg_constraint f JOIN pg_namespace n ON n.oid = f.connamespace
        WHERE f.contype = 'f' AND n.nspname = 'public' AND NOT EXISTS (
            SELECT 1 FROM pg_constraint p WHERE p.conrelid = f.conrelid AND p.contype = 'p'
            AND p.conkey[1:array_length(f.conkey, 1)] = f.conkey)""").fetchone()[0]
    assert nfk == 10
    proposed = {n: t for n, t in doc["tables"].items() if t.get("enabled") is False}
    if proposed or (build_dir / "tests" / "catalog_dump").exists():
        assert len(proposed) == nfk
        assert proposed["track_by_album"]["partition_key"] == ["album_id"] or \
            proposed["track_by_album"]["partition_key"] == ["albumid"]
        assert "invoice_by_customer" in proposed
    r = subprocess.run([str(tool("plan_check")), str(out), uri], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("CREATE TABLE IF NOT EXISTS chinook.") == len(tables)
    # and with the query tables enabled
    text = out.read_text().replace("enabled: false", "enabled: true")
    (tmp_path / "all.yaml").write_text(text)
    jsonschema.Draft202012Validator(schema).validate(yaml.safe_load(text))
    r = subprocess.run([str(tool("plan_check")), str(tmp_path / "all.yaml"), uri],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("CREATE TABLE IF NOT EXISTS chinook.") == len(tables) + len(proposed)
