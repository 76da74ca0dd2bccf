"""Fact sources: YAML files saying where telemetry comes from (a Prometheus server) and
which query gives each fact; and what a query's answer means as readings.

Pure: no Flask, no database, no network. Files are validated like checklists: every
error `file:line: message`, all of them. docs/telemetry.md has the format.
"""

import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from .facts import MAX_ABS_VALUE
from .inputs import is_http_link
from .yamlfile import FACT_PATTERN, LABEL_PATTERN, describe, documents, line_of, message_of

DEFAULT_FOLDER = "telemetry"
# Files in the folder that are examples to copy, not sources to run.
EXAMPLE_SUFFIX = ".example.yaml"
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
SOURCE_NAME = "prometheus"  # the `source` of the readings a collect stores


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class SourceFact(_Strict):
    name: Annotated[str, StringConstraints(pattern=FACT_PATTERN, max_length=64)]
    query: Annotated[str, StringConstraints(min_length=1, max_length=10_000)]


class SourceFile(_Strict):
    source: Literal["prometheus"]
    url: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    service_label: Annotated[str, StringConstraints(pattern=LABEL_PATTERN,
                                                    max_length=200)] = "service"
    interval_minutes: Annotated[int, Field(ge=1, le=10_080)] = 15
    timeout_seconds: Annotated[int, Field(ge=1, le=300)] = 30
    facts: Annotated[list[SourceFact], Field(min_length=1)]


_MODEL_UNDER = {"facts": SourceFact}


@dataclass(frozen=True, order=True)
class SourceError:
    file: str
    line: int
    message: str

    def __str__(self):
        return f"{self.file}:{self.line}: {self.message}"


@dataclass(frozen=True)
class FactSource:
    """One validated source file, its `${VAR}`s expanded."""

    path: str
    url: str
    service_label: str
    interval_minutes: int
    timeout_seconds: int
    facts: tuple[SourceFact, ...]


def discover(paths: Iterable[str | Path]) -> list[Path]:
    """The files named, and the *.yaml / *.yml files of folders named, but examples
    (`*.example.yaml`) in folders."""
    found = []
    for path in map(Path, paths):
        if path.is_dir():
            found += sorted(p for p in path.iterdir() if p.is_file()
                            and p.suffix in (".yaml", ".yml")
                            and not p.name.endswith(EXAMPLE_SUFFIX))
        else:
            found.append(path)
    return found


def load(paths: Iterable[str | Path], environ: Mapping[str, str] = os.environ):
    """(FactSources, errors) of the files: a source is kept only when its file has no
    error."""
    sources, errors = [], []
    for path in paths:
        source, problems = parse_file(path, environ)
        errors += problems
        if source is not None:
            sources.append(source)
    return sources, sorted(errors)


def parse_file(path, environ=os.environ):
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return None, [SourceError(name, 1, f"not UTF-8 text: {exc.reason}")]
    except OSError as exc:
        return None, [SourceError(name, 1, f"cannot read: {exc.strerror}")]
    return parse(text, name, environ)


def parse(text, name, environ=os.environ):
    """(FactSource or None, errors) of one file's `text`."""
    errors = []

    def report(line, message):
        errors.append(SourceError(name, line, message))

    found = list(documents(text, report))
    if errors:
        return None, errors
    if len(found) != 1:
        report(1, "the file is empty: expected a fact source (source, url, facts)" if not found
               else "one fact source a file: found several YAML documents")
        return None, errors
    data, lines = found[0]
    if not isinstance(data, dict):
        report(1, f"expected a mapping of keys (source, url, facts), not {describe(data)}")
        return None, errors
    try:
        model = SourceFile.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            report(line_of(lines, error["loc"]), message_of(error, SourceFile, _MODEL_UNDER))
        return None, sorted(errors)
    seen = {}
    for index, fact in enumerate(model.facts):
        line = line_of(lines, ("facts", index, "name"))
        if fact.name in seen:
            report(line, f"fact '{fact.name}' is named twice (first at line {seen[fact.name]})")
        seen.setdefault(fact.name, line)
    url = _expand(model.url, environ, lambda message: report(line_of(lines, ("url",)), message))
    if url is not None and not is_http_link(url):
        report(line_of(lines, ("url",)), f"'url' must be an http:// or https:// address, "
                                         f"not {url!r}")
    if errors:
        return None, sorted(errors)
    return FactSource(name, url.rstrip("/"), model.service_label, model.interval_minutes,
                      model.timeout_seconds, tuple(model.facts)), []


def _expand(text, environ, report):
    """`text` with each ${NAME} replaced by the environment's value, or None (reported)
    when one is not set."""
    missing = [m.group(1) for m in _VARIABLE.finditer(text) if m.group(1) not in environ]
    if missing:
        report(f"'url' uses ${{{missing[0]}}}, which is not set in the environment")
        return None
    return _VARIABLE.sub(lambda m: environ[m.group(1)], text)


# --- a query's answer as readings --------------------------------------------------


@dataclass
class Answer:
    """What one fact's instant query gave: a reading per service slug, and what could
    not be used, each named."""

    readings: dict[str, tuple[float, datetime]] = field(default_factory=dict)
    unlabelled: int = 0  # series without the service label
    ambiguous: list[str] = field(default_factory=list)  # services with several series
    not_finite: list[str] = field(default_factory=list)  # NaN / ±Inf, by service
    out_of_range: list[str] = field(default_factory=list)


class NotAVector(ValueError):
    """The query's result is not an instant vector (a scalar, a string, a range)."""


def readings_of(data: Mapping, label: str) -> Answer:
    """The readings in the `data` of a Prometheus instant-query response
    (`{"resultType": "vector", "result": [{"metric": {…}, "value": [t, "v"]}]}`).

    :raise NotAVector: for another result type.
    """
    kind = data.get("resultType")
    if kind != "vector":
        raise NotAVector(f"the query gives a {kind}, not an instant vector by "
                         f"'{label}' (e.g. sum by ({label}) (…))")
    answer, counts = Answer(), {}
    for series in data.get("result", []):
        slug = series.get("metric", {}).get(label)
        if not slug:
            answer.unlabelled += 1
            continue
        counts[slug] = counts.get(slug, 0) + 1
        at, text = series["value"]
        value = float(text)  # Prometheus writes NaN, +Inf, -Inf as such
        if not math.isfinite(value):
            answer.not_finite.append(slug)
            continue
        if abs(value) > MAX_ABS_VALUE:
            answer.out_of_range.append(slug)
            continue
        answer.readings[slug] = (value, datetime.fromtimestamp(float(at), UTC))
    for slug, count in counts.items():
        if count > 1:
            answer.ambiguous.append(slug)
            answer.readings.pop(slug, None)
            for named in (answer.not_finite, answer.out_of_range):
                if slug in named:
                    named.remove(slug)
    answer.ambiguous.sort()
    answer.not_finite.sort()
    answer.out_of_range.sort()
    return answer
