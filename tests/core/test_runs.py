"""Run directory: provenance and stage skipping (rediscovery.core.runs)."""

from __future__ import annotations

import json

import pytest
import yaml

from rediscovery.core.errors import InputError
from rediscovery.core.files import atomic_path, write_json
from rediscovery.core.runs import Run


def test_manifest_records_config_seed_versions(tmp_path):
    run = Run.create(tmp_path / "r", config={"seed": 3, "events": 10}, seed=3)
    cfg = yaml.safe_load((tmp_path / "r" / "config.yaml").read_text())
    assert cfg == {"seed": 3, "events": 10}
    mf = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert mf["seed"] == 3
    assert {"python", "rediscovery", "numpy"} <= set(mf["versions"])
    assert run.path == tmp_path / "r"


def test_stage_skipped_unless_inputs_or_config_change(tmp_path):
    inp = tmp_path / "in.txt"
    inp.write_text("a")
    calls = []

    def do(run, cfg, force=False):
        with run.stage("s", inputs=[inp], config=cfg, outputs=["out.txt"], force=force) as st:
            if not st.skipped:
                calls.append(1)
                (st.dir / "out.txt").write_text("x")
                st.results["n"] = len(calls)

    run = Run.create(tmp_path / "r", config={}, seed=0)
    do(run, {"k": 1})
    do(run, {"k": 1})
    assert len(calls) == 1
    mf = json.loads((tmp_path / "r" / "manifest.json").read_text())
    st = mf["stages"]["s"]
    assert st["status"] == "done" and str(inp) in st["inputs"] and st["seconds"] >= 0
    do(run, {"k": 2})  # config changed
    assert len(calls) == 2
    inp.write_text("b")  # input changed
    do(Run.create(tmp_path / "r", config={}, seed=0), {"k": 2})
    assert len(calls) == 3
    do(run, {"k": 2}, force=True)
    assert len(calls) == 4
    (run.path / "s" / "out.txt").unlink()  # output lost -> re-run
    do(run, {"k": 2})
    assert len(calls) == 5


def test_failed_stage_is_recorded_and_rerun(tmp_path):
    run = Run.create(tmp_path / "r", config={}, seed=0)
    with pytest.raises(RuntimeError), run.stage("bad", config={}):
        raise RuntimeError("boom")
    assert run.manifest["stages"]["bad"]["status"] == "failed"
    assert "boom" in run.manifest["stages"]["bad"]["error"]
    with run.stage("bad", config={}) as st:
        assert not st.skipped


def test_missing_input_is_an_input_error(tmp_path):
    run = Run.create(tmp_path / "r", config={}, seed=0)
    with pytest.raises(InputError, match="does not exist"), run.stage(
        "s", inputs=[tmp_path / "missing.parquet"]
    ):
        pass
    with pytest.raises(InputError, match="not a run directory"):
        Run.open(tmp_path / "nowhere")


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "results.json"
    write_json(target, {"a": 1})
    with pytest.raises(ZeroDivisionError), atomic_path(target) as tmp:
        tmp.write_text("partial")
        _ = 1 / 0
    assert json.loads(target.read_text()) == {"a": 1}
    assert list(tmp_path.iterdir()) == [target]


def test_atomic_write_uses_normal_file_permissions(tmp_path):
    import os
    import stat

    umask = os.umask(0o022)
    try:
        path = write_json(tmp_path / "r.json", {"a": 1})
    finally:
        os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_finished_stage_records_its_output_fingerprints(tmp_path):
    from rediscovery.core.files import file_sha256

    run = Run.create(tmp_path / "r", config={}, seed=0)
    with run.stage("s", outputs=["out.txt"]) as st:
        (st.dir / "out.txt").write_text("hello")
        (st.dir / "sub").mkdir()
        write_json(st.dir / "sub" / "x.json", {"a": 1})
    outs = run.manifest["stages"]["s"]["outputs"]
    assert outs["out.txt"] == {"size": 5, "sha256": file_sha256(run.path / "s" / "out.txt")}
    assert set(outs) == {"out.txt", "sub/x.json"}


def test_skip_needs_recorded_and_matching_output_fingerprints(tmp_path, caplog):
    import logging

    calls = []

    def do(run):
        with run.stage("s", config={}, outputs=["out.txt"]) as st:
            if not st.skipped:
                calls.append(1)
                (st.dir / "out.txt").write_text("abcdefghij")

    run = Run.create(tmp_path / "r", config={}, seed=0)
    do(run)
    do(run)
    assert len(calls) == 1
    (run.path / "s" / "out.txt").write_text("ABCDEFGHIJ")  # same size, other bytes
    with caplog.at_level(logging.WARNING):
        do(run)
    assert len(calls) == 2 and "SHA-256 differs" in caplog.text
    del run.manifest["stages"]["s"]["outputs"]  # a manifest without output fingerprints
    do(run)
    assert len(calls) == 3


def test_rerun_removes_temporary_files_of_a_killed_write(tmp_path):
    run = Run.create(tmp_path / "r", config={}, seed=0)
    left = run.path / "s" / ".out.parquet.abc123.tmp"
    left.parent.mkdir()
    left.write_text("half")
    keep = run.path / "s" / "notes.tmp"  # not one of atomic_path's files
    keep.write_text("mine")
    with run.stage("s") as st:
        assert not st.skipped
    assert not left.exists() and keep.exists()


def test_stage_left_running_is_recorded_interrupted(tmp_path, caplog):
    import logging

    run = Run.create(tmp_path / "r", config={}, seed=0)
    run.manifest["stages"]["s"] = {"status": "running", "started": "2026-01-01T00:00:00"}
    run.save()  # as a killed process leaves it (no lock file)
    assert Run.open(run.path).manifest["stages"]["s"]["status"] == "interrupted"
    on_disk = json.loads((run.path / "manifest.json").read_text())
    assert on_disk["stages"]["s"]["status"] == "running"  # readers do not write
    with caplog.at_level(logging.WARNING):
        again = Run.create(run.path, config={}, seed=0)
    assert "stage s was interrupted" in caplog.text
    on_disk = json.loads((run.path / "manifest.json").read_text())
    assert on_disk["stages"]["s"]["status"] == again.manifest["stages"]["s"]["status"] \
        == "interrupted"
    with again.stage("s") as st:
        assert not st.skipped


def test_corrupted_manifest_is_an_input_error(tmp_path):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "manifest.json").write_text('{"stages": {')
    with pytest.raises(InputError, match=r"manifest\.json: not valid JSON"):
        Run.create(tmp_path / "r", config={}, seed=0)
    with pytest.raises(InputError, match="not valid JSON"):
        Run.open(tmp_path / "r")
