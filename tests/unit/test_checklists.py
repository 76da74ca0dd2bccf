"""Checklist files: every kind of mistake is reported as file:line: message."""

from pathlib import Path

import pytest

from readiness.domain import checklists
from readiness.domain.checklists import SyncedVersion, load_all, parse, parse_file

ROOT = Path(__file__).resolve().parents[2]
BAD = ROOT / "tests" / "data" / "bad_checklists"

# file -> every (line, part of the message) it must report, and nothing else.
CORPUS = {
    "yaml_syntax.yaml": [(7, "YAML syntax error")],
    "duplicate_key.yaml": [(11, "duplicate key 'title' (first at line 10)")],
    "unknown_key.yaml": [(11, "unknown key 'guidence'")],
    "missing_field.yaml": [(1, "missing field 'title'")],
    "string_for_integer.yaml": [(4, "'version' must be a whole number, not the text '2'")],
    "string_for_boolean.yaml": [(11, "'required' must be true or false, not the text 'yes'")],
    "boolean_for_string.yaml": [(10, "'title' must be text, not the boolean false")],
    "bad_slug.yaml": [(1, "'id' must be a slug")],
    "bad_item_slug.yaml": [(11, "'id' must be a slug")],
    "bad_stage.yaml": [(3, "'stage' must be one of 'launch', 'handoff' or 'handback'")],
    "bad_evidence.yaml": [(11, "'evidence' must be one of 'none', 'text' or 'link'")],
    "bad_operator.yaml": [(13, "'op' must be one of")],
    "check_without_fact.yaml": [(13, "missing field 'fact'")],
    "empty_sections.yaml": [(6, "'sections' must not be empty")],
    "empty_items.yaml": [(13, "'items' must not be empty")],
    "duplicate_section_id.yaml": [(11, "duplicate section id 'one' (first at line 6)")],
    "duplicate_item_id.yaml": [(16, "duplicate item id 'a' (first at line 9)")],
    "not_a_finite_number.yaml": [(14, "'value' must be a finite number")],
    "bad_fact_name.yaml": [(12, "'fact' must be a fact name")],
    "zero_version.yaml": [(4, "'version' must be at least 1")],
    "not_a_mapping.yaml": [(1, "expected a mapping")],
    "empty_file.yaml": [(1, "the file is empty")],
    "yaml_alias.yaml": [(12, "YAML aliases (*name) are not supported")],
    "number_too_large.yaml": [(4, "'version' must be at most 2147483647"),
                              (5, "'valid_for_days' must be at most 36500")],
    "many_errors.yaml": [
        (3, "'stage' must be one of"),
        (11, "'evidence' must be one of"),
        (12, "duplicate item id 'a'"),
        (14, "'required' must be true or false"),
    ],
}


def test_the_corpus_covers_every_file():
    assert sorted(p.name for p in BAD.iterdir()) == sorted(CORPUS)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_each_bad_file_reports_its_errors_at_the_right_line(name):
    loaded = parse_file(BAD / name)
    assert not loaded.is_valid
    assert loaded.checklist is None
    got = [(error.line, error.message) for error in loaded.errors]
    assert len(got) == len(CORPUS[name]), got
    for (line, message), (want_line, fragment) in zip(got, CORPUS[name], strict=True):
        assert line == want_line, got
        assert fragment in message, got
    assert all(str(error).startswith(f"{BAD / name}:") for error in loaded.errors)


def test_unknown_key_suggests_the_key_meant():
    (error,) = parse_file(BAD / "unknown_key.yaml").errors
    assert "did you mean 'guidance'?" in error.message


def test_yaml_booleans_in_text_get_a_hint_to_quote():
    (error,) = parse_file(BAD / "boolean_for_string.yaml").errors
    assert "quote the text" in error.message


@pytest.mark.parametrize("path", sorted((ROOT / "checklists").glob("*.yaml")))
def test_shipped_checklists_are_valid(path):
    loaded = parse_file(path)
    assert loaded.errors == []
    assert loaded.checklist.id == path.stem


def test_shipped_checklists_cover_each_stage_with_checks():
    files = load_all(checklists.discover([ROOT / "checklists"]))
    loaded = {f.checklist.id: f.checklist for f in files}
    assert {c.stage for c in loaded.values()} == {"launch", "handoff", "handback"}
    launch = loaded["launch-readiness"]
    assert len(launch.sections) >= 6
    assert all(item.guidance.strip() for item in launch.items)
    facts = {item.check.fact for item in launch.items if item.check}
    assert {"pages_per_week", "open_sev1_defects", "monitoring_coverage_pct"} <= facts
    assert all(item.check for item in loaded["handback-criteria"].items)


GOOD = """\
id: good
title: Good
stage: launch
version: 2
sections:
  - id: one
    title: One
    items:
      - id: a
        title: A
        check: {fact: pages_per_week, op: "<=", value: 2, max_age_days: 7}
"""


def test_a_valid_file_gives_a_frozen_checklist_with_defaults():
    loaded = parse(GOOD, "good.yaml")
    assert loaded.is_valid
    (item,) = loaded.checklist.items
    assert item.required is True and item.evidence == "text"
    assert item.check.value == 2.0
    with pytest.raises(ValueError):
        item.title = "changed"


def test_same_id_in_two_files_is_reported_in_the_second(tmp_path):
    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "b.yaml").write_text("# the same checklist again\n" + GOOD)
    first, second = load_all(checklists.discover([tmp_path]))
    assert first.errors == []
    assert [str(e) for e in second.errors] == [
        f"{tmp_path / 'b.yaml'}:2: checklist id 'good' is already used by {tmp_path / 'a.yaml'}:1"
    ]


def synced(version, text=GOOD, stage="launch"):
    return {"good": SyncedVersion(version, parse(text, "x").checklist.content_hash(), stage)}


def test_a_version_lower_than_the_synced_one_is_an_error(tmp_path):
    path = tmp_path / "good.yaml"
    path.write_text(GOOD)
    (loaded,) = load_all([path], synced(3))
    assert [(e.line, e.message) for e in loaded.errors] == [
        (4, "version 2 is lower than version 3 already synced: versions only go up")
    ]


def test_changed_content_without_a_version_bump_is_an_error(tmp_path):
    path = tmp_path / "good.yaml"
    path.write_text(GOOD.replace("title: A", "title: A, reworded"))
    (loaded,) = load_all([path], synced(2))
    assert [(e.line, e.message) for e in loaded.errors] == [
        (4, "the content changed but the version is still 2: bump it to 3")
    ]


def test_comments_and_layout_are_not_content_changes(tmp_path):
    path = tmp_path / "good.yaml"
    path.write_text("# a comment\n" + GOOD.replace("title: One", "title:   One  # same"))
    (loaded,) = load_all([path], synced(2))
    assert loaded.errors == []


def test_a_bumped_version_with_new_content_is_fine(tmp_path):
    path = tmp_path / "good.yaml"
    path.write_text(GOOD.replace("version: 2", "version: 3").replace("title: A", "title: B"))
    (loaded,) = load_all([path], synced(2))
    assert loaded.is_valid


def test_a_stage_change_between_versions_is_an_error(tmp_path):
    path = tmp_path / "good.yaml"
    path.write_text(GOOD.replace("version: 2", "version: 3"))
    (loaded,) = load_all([path], synced(2, stage="handoff"))
    assert [e.line for e in loaded.errors] == [3]
    assert "stage changed from 'handoff' to 'launch'" in loaded.errors[0].message


def test_unsafe_tags_are_refused_with_a_line():
    loaded = parse("id: x\nbad: !!python/object/apply:os.system ['true']\n", "evil.yaml")
    assert [e.line for e in loaded.errors] == [2]
    assert "YAML syntax error" in loaded.errors[0].message


def test_not_utf8_is_reported(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("title: caf\xe9\n".encode("latin-1"))
    assert [str(e) for e in parse_file(path).errors] == [
        f"{path}:1: not UTF-8 text: invalid continuation byte"
    ]


def test_discover_refuses_a_missing_path(tmp_path):
    with pytest.raises(FileNotFoundError):
        checklists.discover([tmp_path / "nope"])


@pytest.mark.parametrize(("applies_to", "tier", "expected"), [
    (None, 1, True), (None, 3, True), ({"tiers": [3]}, 3, True), ({"tiers": [3]}, 1, False),
    ({"tiers": [1, 2]}, 2, True), ({"tiers": [1, 2]}, 3, False), ({}, 2, True)])
def test_applies_to_matches_the_tier(applies_to, tier, expected):
    content = {"id": "x"} if applies_to is None else {"id": "x", "applies_to": applies_to}
    assert checklists.applies(content, tier) is expected


def test_a_checklist_without_applies_to_keeps_its_content_and_hash():
    loaded = checklists.parse(MINIMAL_APPLIES.replace("applies_to:\n  tiers: [3]\n", ""), "x")
    assert "applies_to" not in loaded.checklist.content()
    with_it = checklists.parse(MINIMAL_APPLIES, "x").checklist
    assert with_it.content()["applies_to"] == {"tiers": [3]}
    assert with_it.content_hash() != loaded.checklist.content_hash()


MINIMAL_APPLIES = """id: small
title: Small
stage: launch
version: 1
applies_to:
  tiers: [3]
sections:
  - id: s
    title: S
    items:
      - id: i
        title: I
"""


@pytest.mark.parametrize(("applies_to", "message"), [
    ("  tiers: []\n", "x:6: 'tiers' must not be empty"),
    ("  tiers: [4]\n", "x:6: 'tiers' must be at most 3, not the number 4"),
    ("  teams: [a]\n", "x:6: unknown key 'teams' (allowed: tiers)"),
])
def test_applies_to_mistakes_are_lines(applies_to, message):
    text = MINIMAL_APPLIES.replace("  tiers: [3]\n", applies_to)
    errors = [str(e) for e in checklists.parse(text, "x").errors]
    assert any(e.startswith(message) for e in errors), errors


def test_requires_rereview_is_kept_only_when_set():
    plain = checklists.parse(MINIMAL_APPLIES, "x").checklist
    assert "requires_rereview" not in plain.content()
    asking = checklists.parse(MINIMAL_APPLIES.replace("version: 1\n", "version: 1\n"
                                                      "requires_rereview: true\n"), "x")
    assert asking.checklist.content()["requires_rereview"] is True
    assert asking.checklist.content_hash() != plain.content_hash()
