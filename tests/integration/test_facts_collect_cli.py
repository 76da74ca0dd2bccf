"""`flask facts collect` before any query: its files and options (the queries against a
real Prometheus are in test_prometheus.py)."""

import pytest


def test_a_malformed_source_file_is_file_line_errors_and_exit_1(runner, tmp_path):
    source = tmp_path / "bad.yaml"
    source.write_text("source: prometheus\nurl: http://127.0.0.1:9\nfacts:\n"
                      "  - name: Pages\n    query: up\n")
    result = runner.invoke(args=["facts", "collect", "--config", str(source)])
    assert result.exit_code == 1
    assert f"{source}:4: 'name' must be a fact name" in result.output


@pytest.mark.config(TELEMETRY_DIR="tests/data/no-such-folder")
def test_without_a_source_file_it_says_where_it_looked(runner):
    result = runner.invoke(args=["facts", "collect"])
    assert result.exit_code == 1
    assert "No fact source in tests/data/no-such-folder" in result.output


def test_the_shipped_folder_holds_only_the_example_which_is_not_run(app, runner):
    result = runner.invoke(args=["facts", "collect"])
    assert result.exit_code == 1
    assert f"No fact source in {app.config['TELEMETRY_DIR']}" in result.output


def test_a_moment_that_is_not_rfc_3339_is_refused(runner, tmp_path):
    result = runner.invoke(args=["facts", "collect", "--at", "yesterday"])
    assert result.exit_code == 2
    assert "'yesterday' is not an RFC 3339 date-time" in result.output
