"""Fact source files: validated like checklists, every error `file:line: message`."""

import pytest

from readiness.domain.telemetry import NotAVector, discover, parse, readings_of

GOOD = """source: prometheus
url: ${PROMETHEUS_URL}/
facts:
  - name: pages_per_week
    query: sum by (service) (increase(pages_total[7d]))
"""


def test_a_good_file_with_its_defaults_and_the_url_from_the_environment():
    source, errors = parse(GOOD, "p.yaml", {"PROMETHEUS_URL": "http://prom:9090"})
    assert errors == []
    assert (source.url, source.service_label, source.interval_minutes,
            source.timeout_seconds) == ("http://prom:9090", "service", 15, 30)
    assert [(f.name, f.query) for f in source.facts] == [
        ("pages_per_week", "sum by (service) (increase(pages_total[7d]))")]


@pytest.mark.parametrize(("text", "expected"), [
    (GOOD, ["p.yaml:2: 'url' uses ${PROMETHEUS_URL}, which is not set in the environment"]),
    (GOOD.replace("${PROMETHEUS_URL}/", "ftp://x"),
     ["p.yaml:2: 'url' must be an http:// or https:// address, not 'ftp://x'"]),
    ("source: graphite\nurl: http://x\nfacts: []\n",
     ["p.yaml:1: 'source' must be one of 'prometheus', not the text 'graphite'",
      "p.yaml:3: 'facts' must not be empty"]),
    ("source: prometheus\nurl: http://x\nservice_label: 1a\nfacts:\n"
     "  - name: Pages\n    query: ''\n  - {name: x, query: up, every: 5}\n",
     ["p.yaml:3: 'service_label' must be a Prometheus label name (letters, digits and '_', "
      "not starting with a digit), not the text '1a'",
      "p.yaml:5: 'name' must be a fact name (lowercase letters, digits and '_', starting "
      "with a letter), not the text 'Pages'",
      "p.yaml:6: 'query' must not be empty",
      "p.yaml:7: unknown key 'every' (allowed: name, query); did you mean 'query'?"]),
    ("source: prometheus\nurl: http://x\nfacts:\n  - {name: x, query: up}\n"
     "  - {name: x, query: down}\n",
     ["p.yaml:5: fact 'x' is named twice (first at line 4)"]),
    ("source: prometheus\nsource: prometheus\n",
     ["p.yaml:2: duplicate key 'source' (first at line 1)"]),
    ("source: [prometheus\n", ["p.yaml:1: YAML syntax error: while parsing a flow sequence "
                               "did not find expected ',' or ']'"]),
    ("", ["p.yaml:1: the file is empty: expected a fact source (source, url, facts)"]),
    ("- a\n", ["p.yaml:1: expected a mapping of keys (source, url, facts), not a list"]),
    ("interval_minutes: 0\nsource: prometheus\nurl: http://x\nfacts: [{name: x, query: up}]\n",
     ["p.yaml:1: 'interval_minutes' must be at least 1, not the number 0"]),
])
def test_each_mistake_is_a_line(text, expected):
    source, errors = parse(text, "p.yaml", {})
    assert source is None
    assert [str(e) for e in errors] == expected


def test_a_folder_leaves_out_the_examples(tmp_path):
    (tmp_path / "prometheus.example.yaml").write_text(GOOD)
    (tmp_path / "team.yaml").write_text(GOOD)
    (tmp_path / "notes.txt").write_text("")
    assert discover([tmp_path]) == [tmp_path / "team.yaml"]


def vector(*series):
    return {"resultType": "vector", "result": [
        {"metric": labels, "value": [1764800000.123, value]} for labels, value in series]}


def test_an_answer_becomes_a_reading_per_service_and_names_what_it_cannot_use():
    answer = readings_of(vector(({"service": "a"}, "2.5"), ({"service": "b"}, "NaN"),
                                ({"service": "c"}, "+Inf"), ({"job": "x"}, "1"),
                                ({"service": "d"}, "1e16"), ({"service": "e", "i": "1"}, "1"),
                                ({"service": "e", "i": "2"}, "2")), "service")
    assert {slug: value for slug, (value, _) in answer.readings.items()} == {"a": 2.5}
    assert answer.readings["a"][1].isoformat() == "2025-12-03T22:13:20.123000+00:00"
    assert (answer.not_finite, answer.out_of_range, answer.ambiguous, answer.unlabelled) == (
        ["b", "c"], ["d"], ["e"], 1)


def test_a_scalar_is_not_a_reading_by_service():
    with pytest.raises(NotAVector, match="gives a scalar, not an instant vector by 'service'"):
        readings_of({"resultType": "scalar", "result": [1, "1"]}, "service")
