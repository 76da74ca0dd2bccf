"""A file's Reading, kept between imports as JSON, comes back as the same entities."""

import json
from pathlib import Path

from readiness.domain.catalog import Catalog, Reading, file_key

CATALOG = Path(__file__).resolve().parents[1] / "data" / "catalog"


def test_a_reading_kept_as_json_comes_back_the_same():
    for path in sorted(CATALOG.rglob("*.yaml")):
        catalog = Catalog()
        reading = catalog.read_text(path.read_text(), str(path))
        assert reading is not None and catalog.errors == []
        again = Reading.from_json(json.loads(json.dumps(reading.to_json())), str(path))
        assert again == reading
        assert reading.groups or reading.components  # each file maps to something


def test_a_file_with_an_error_has_no_reading():
    catalog = Catalog()
    assert catalog.read_text("kind: Component\nmetadata: {name: Bad Name!}\n", "x.yaml") is None
    assert catalog.errors


def test_the_key_is_of_the_text():
    assert file_key("kind: Group\n") == file_key("kind: Group\n")
    assert file_key("kind: Group\n") != file_key("kind: Group \n")
