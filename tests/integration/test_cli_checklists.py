"""`flask checklists validate|sync` against a real database."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from readiness.extensions import db
from readiness.models import AuditEntry, ChecklistVersion

ROOT = Path(__file__).resolve().parents[2]
BAD = ROOT / "tests" / "data" / "bad_checklists"


def test_validate_passes_on_the_shipped_checklists(runner):
    result = runner.invoke(args=["checklists", "validate"])
    assert result.exit_code == 0, result.output
    assert "4 checklist file(s) valid." in result.output


def test_validate_reports_every_error_as_file_line_message(runner):
    result = runner.invoke(args=["checklists", "validate", str(BAD)])
    assert result.exit_code == 1
    lines = [line for line in result.stdout.splitlines() if line]
    assert f"{BAD / 'bad_stage.yaml'}:3: 'stage' must be one of 'launch', 'handoff' or " \
           "'handback', not the text 'lunch'" in lines
    assert f"{BAD / 'duplicate_key.yaml'}:11: duplicate key 'title' (first at line 10)" in lines
    reported = {line.split(":", 1)[0] for line in lines}
    assert reported == {str(path) for path in BAD.iterdir()}
    assert "error(s) in 25 of 25 file(s)" in result.stderr


def test_validate_takes_files_and_folders_and_refuses_missing_paths(runner, tmp_path):
    good = ROOT / "checklists" / "launch-readiness.yaml"
    result = runner.invoke(args=["checklists", "validate", str(good), str(BAD / "bad_slug.yaml")])
    assert result.exit_code == 1
    assert result.stdout.startswith(f"{BAD / 'bad_slug.yaml'}:1: 'id' must be a slug")
    missing = runner.invoke(args=["checklists", "validate", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 1
    assert "no such file or folder" in missing.output


@pytest.mark.slow
def test_the_real_command_line_validates_the_checklists_folder(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite'}",
           "SECRET_KEY": "x"}
    flask = Path(sys.executable).with_name("flask")
    ok = subprocess.run([flask, "--app", "app", "checklists", "validate"], cwd=ROOT, env=env,
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run([flask, "--app", "app", "checklists", "validate",
                          "tests/data/bad_checklists/bad_operator.yaml"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1
    assert bad.stdout.startswith("tests/data/bad_checklists/bad_operator.yaml:13: 'op' must be")


def stored(app):
    return [(v.checklist_id, v.version) for v in db.session.scalars(
        select(ChecklistVersion).order_by(ChecklistVersion.checklist_id, ChecklistVersion.version))]


def test_sync_stores_each_version_once_with_its_hash_and_an_audit_entry(app, runner):
    result = runner.invoke(args=["checklists", "sync"])
    assert result.exit_code == 0, result.output
    assert "launch-readiness: version 1 stored" in result.output
    assert stored(app) == [("handback-criteria", 1), ("handoff-readiness", 1),
                           ("launch-low-risk", 1), ("launch-readiness", 1)]
    version = db.session.scalar(select(ChecklistVersion).where(
        ChecklistVersion.checklist_id == "launch-readiness"))
    assert len(version.content_hash) == 64
    assert version.content["sections"][0]["items"]
    actions = db.session.scalars(select(AuditEntry.action)).all()
    assert actions == ["checklist:sync"] * 4

    again = runner.invoke(args=["checklists", "sync"])
    assert again.exit_code == 0
    assert "launch-readiness: unchanged" in again.output
    assert len(stored(app)) == 4


def test_an_invalid_file_never_replaces_the_last_good_version(app, runner, tmp_path):
    folder = tmp_path / "checklists"
    folder.mkdir()
    path = folder / "launch-readiness.yaml"
    shutil.copy(ROOT / "checklists" / "launch-readiness.yaml", path)
    assert runner.invoke(args=["checklists", "sync", str(folder)]).exit_code == 0
    original = path.read_text()

    path.write_text(original.replace("version: 1", "version: 2").replace("stage: launch",
                                                                         "stage: lunch"))
    broken = runner.invoke(args=["checklists", "sync", str(folder)])
    assert broken.exit_code == 1
    assert f"{path}:3: 'stage' must be one of" in broken.output
    assert stored(app) == [("launch-readiness", 1)]

    path.write_text(original.replace("Launch Readiness Review", "Launch review (reworded)", 1))
    unbumped = runner.invoke(args=["checklists", "sync", str(folder)])
    assert unbumped.exit_code == 1
    assert "the content changed but the version is still 1: bump it to 2" in unbumped.output
    assert runner.invoke(args=["checklists", "validate", str(folder)]).exit_code == 1
    assert stored(app) == [("launch-readiness", 1)]

    path.write_text(original.replace("Launch Readiness Review", "Launch review (reworded)", 1)
                    .replace("version: 1", "version: 2"))
    assert runner.invoke(args=["checklists", "sync", str(folder)]).exit_code == 0
    assert stored(app) == [("launch-readiness", 1), ("launch-readiness", 2)]

    path.write_text(original)
    lowered = runner.invoke(args=["checklists", "validate", str(folder)])
    assert lowered.exit_code == 1
    assert "version 1 is lower than version 2 already synced" in lowered.output


def test_sync_loads_the_valid_files_beside_an_invalid_one(app, runner, tmp_path):
    shutil.copy(ROOT / "checklists" / "handback-criteria.yaml", tmp_path)
    shutil.copy(BAD / "bad_stage.yaml", tmp_path)
    result = runner.invoke(args=["checklists", "sync", str(tmp_path)])
    assert result.exit_code == 1
    assert stored(app) == [("handback-criteria", 1)]
