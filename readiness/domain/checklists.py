"""Checklist files: YAML -> frozen, validated models, or `file:line: message` errors.

Pure: no Flask, no database. What the database already holds comes in as a
mapping of checklist id -> `SyncedVersion`, so the rules "the version may not go
down" and "changed content needs a new version" are checked here too.

How: `yaml.compose` keeps every node's line; duplicate keys are found on that
node tree (PyYAML's loaders silently keep the last one); the constructed data
is validated by strict pydantic models; each error's location is mapped back
to the line of its node. Every error of a file is reported, not only the first.
"""

import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from .hashing import content_hash
from .yamlfile import FACT_PATTERN, SLUG_PATTERN, describe, message_of

STAGES = ("launch", "handoff", "handback")
EVIDENCE_KINDS = ("none", "text", "link")
OPERATORS = ("<", "<=", "==", ">=", ">", "!=")
MAX_VERSION = 2**31 - 1  # what the databases store
MAX_DAYS = 36_500  # a hundred years

Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, max_length=64)]
FactName = Annotated[str, StringConstraints(pattern=FACT_PATTERN, max_length=64)]
Title = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class Check(_Strict):
    """An automated check: the latest `fact` compared with `value` by `op`."""

    fact: FactName
    op: Literal["<", "<=", "==", ">=", ">", "!="]
    value: Annotated[float, Field(allow_inf_nan=False, ge=-1e15, le=1e15)]
    max_age_days: Annotated[int, Field(ge=1, le=MAX_DAYS)] | None = None


class Item(_Strict):
    id: Slug
    title: Title
    guidance: str = ""
    required: bool = True
    evidence: Literal["none", "text", "link"] = "text"
    check: Check | None = None


class Section(_Strict):
    id: Slug
    title: Title
    description: str = ""
    items: Annotated[list[Item], Field(min_length=1)]


class AppliesTo(_Strict):
    """Which services a checklist is for; every key given must match."""

    tiers: Annotated[list[Annotated[int, Field(ge=1, le=3)]], Field(min_length=1)]


class Checklist(_Strict):
    id: Slug
    title: Title
    stage: Literal["launch", "handoff", "handback"]
    version: Annotated[int, Field(ge=1, le=MAX_VERSION)]
    valid_for_days: Annotated[int, Field(ge=1, le=MAX_DAYS)] | None = None
    applies_to: AppliesTo | None = None
    requires_rereview: bool = False
    max_waiver_days: Annotated[int, Field(ge=1, le=MAX_DAYS)] | None = None
    description: str = ""
    sections: Annotated[list[Section], Field(min_length=1)]

    @property
    def items(self) -> tuple[Item, ...]:
        return tuple(item for section in self.sections for item in section.items)

    def content(self) -> dict:
        """The checklist as plain JSON-able data (what is stored and hashed). A key added
        after checklists were first stored is left out while unset, so the content (and
        hash) of a checklist that does not use it stays what it was."""
        content = self.model_dump(mode="json")
        if content["applies_to"] is None:
            del content["applies_to"]
        if not content["requires_rereview"]:
            del content["requires_rereview"]
        if content["max_waiver_days"] is None:
            del content["max_waiver_days"]
        return content

    def content_hash(self) -> str:
        return content_hash(self.content())


# Which model a mapping under a given key holds, to suggest the keys it allows.
_MODEL_UNDER = {"sections": Section, "items": Item, "check": Check, "applies_to": AppliesTo}


@dataclass(frozen=True, order=True)
class ChecklistError:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass(frozen=True)
class SyncedVersion:
    """The latest version of a checklist already in the database."""

    version: int
    content_hash: str
    stage: str


@dataclass
class LoadedFile:
    path: str
    checklist: Checklist | None = None
    errors: list[ChecklistError] = field(default_factory=list)
    lines: dict[tuple, int] = field(default_factory=dict)

    @property
    def is_valid(self) -> bool:
        return self.checklist is not None and not self.errors

    def line_of(self, *path) -> int:
        """The line of the node at `path`, or of its nearest ancestor that exists."""
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)

    def error(self, path, message) -> None:
        self.errors.append(ChecklistError(self.path, self.line_of(*path), message))


def discover(paths: Iterable[str | Path]) -> list[Path]:
    """The checklist files named by `paths`: files as given, folders' *.yaml/*.yml sorted.

    :raise FileNotFoundError: for a path that does not exist.
    """
    found = []
    for path in map(Path, paths):
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml")))
        elif path.exists():
            found.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")
    return found


def load_all(paths: Iterable[str | Path], synced: Mapping[str, SyncedVersion] = {}):
    """Load and validate every file, including the rules across files and versions."""
    loaded = [parse_file(path) for path in paths]
    first_seen: dict[str, LoadedFile] = {}
    for file in loaded:
        if file.checklist is None:
            continue
        checklist = file.checklist
        if checklist.id in first_seen:
            other = first_seen[checklist.id]
            file.error(
                ("id",),
                f"checklist id '{checklist.id}' is already used by "
                f"{other.path}:{other.line_of('id')}",
            )
        else:
            first_seen[checklist.id] = file
        _check_against_synced(file, synced.get(checklist.id))
    for file in loaded:
        file.errors.sort()
    return loaded


def _check_against_synced(file: LoadedFile, known: SyncedVersion | None) -> None:
    checklist = file.checklist
    if known is None:
        return
    if checklist.version < known.version:
        file.error(
            ("version",),
            f"version {checklist.version} is lower than version {known.version} "
            "already synced: versions only go up",
        )
    elif checklist.version == known.version and checklist.content_hash() != known.content_hash:
        file.error(
            ("version",),
            f"the content changed but the version is still {checklist.version}: "
            f"bump it to {known.version + 1}",
        )
    if checklist.stage != known.stage:
        file.error(
            ("stage",),
            f"stage changed from '{known.stage}' to '{checklist.stage}': a checklist keeps "
            "its stage; give the new one its own id",
        )


def parse_file(path: str | Path) -> LoadedFile:
    """Read and validate one file on its own."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return LoadedFile(name, errors=[ChecklistError(name, 1, f"not UTF-8 text: {exc.reason}")])
    except OSError as exc:
        return LoadedFile(name, errors=[ChecklistError(name, 1, f"cannot read: {exc.strerror}")])
    return parse(text, name)


def parse(text: str, filename: str) -> LoadedFile:
    """Validate the YAML `text` of a checklist file named `filename`."""
    file = LoadedFile(filename)
    try:
        aliases = [event.start_mark.line + 1 for event in yaml.parse(text, yaml.SafeLoader)
                   if isinstance(event, yaml.AliasEvent)]
    except yaml.MarkedYAMLError:
        aliases = []  # composing below reports the syntax error with its line
    if aliases:
        # A few nested aliases expand into billions of nodes: refuse them all.
        file.errors.extend(ChecklistError(filename, line, "YAML aliases (*name) are not "
                                          "supported: write the content out where it is used")
                           for line in aliases)
        return file
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            file.error((), "the file is empty: expected a checklist (id, title, stage, …)")
            return file
        _record_lines(node, (), file)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if exc.context_mark and (mark.index >= len(text.rstrip()) or mark.line > text.count("\n")):
            # "found end of stream": point at where the unfinished thing began.
            mark = exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = " ".join(filter(None, (exc.context, exc.problem)))
        file.errors.append(ChecklistError(filename, line, f"YAML syntax error: {problem}"))
        return file
    except yaml.YAMLError as exc:
        file.errors.append(ChecklistError(filename, 1, f"YAML error: {exc}"))
        return file
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        file.error((), f"expected a mapping of keys (id, title, stage, …), not {describe(data)}")
        return file
    _check_unique_ids(data, file)
    try:
        checklist = Checklist.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            file.error(error["loc"], message_of(error, Checklist, _MODEL_UNDER))
    else:
        if not file.errors:
            file.checklist = checklist
    file.errors.sort()
    return file


def _record_lines(node, path, file: LoadedFile) -> None:
    """Note every node's line under its path; report duplicate and non-string keys."""
    file.lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            line = key.start_mark.line + 1
            if key.tag == "tag:yaml.org,2002:merge":
                continue
            if not isinstance(key, yaml.ScalarNode):
                file.errors.append(ChecklistError(file.path, line, "keys must be plain words"))
                continue
            if key.value in seen:
                file.errors.append(ChecklistError(
                    file.path, line,
                    f"duplicate key '{key.value}' (first at line {seen[key.value]})",
                ))
                continue
            seen[key.value] = line
            file.lines[(*path, key.value)] = line
            _record_lines(value, (*path, key.value), file)
            file.lines[(*path, key.value)] = line
    elif isinstance(node, yaml.SequenceNode):
        for index, child in enumerate(node.value):
            _record_lines(child, (*path, index), file)


def _check_unique_ids(data: dict, file: LoadedFile) -> None:
    """Section ids unique in the checklist, item ids unique across all its sections.

    Works on the raw data, so these errors are reported beside any others.
    """
    sections: dict[str, int] = {}
    items: dict[str, int] = {}
    for s, section in _mappings(data.get("sections")):
        path = ("sections", s, "id")
        if _is_hashable(section.get("id")):
            if section["id"] in sections:
                file.error(path, f"duplicate section id '{section['id']}' "
                                 f"(first at line {sections[section['id']]})")
            else:
                sections[section["id"]] = file.line_of(*path)
        for i, item in _mappings(section.get("items")):
            path = ("sections", s, "items", i, "id")
            if not _is_hashable(item.get("id")):
                continue
            if item["id"] in items:
                file.error(path, f"duplicate item id '{item['id']}' (first at line "
                                 f"{items[item['id']]}): item ids are unique across all sections")
            else:
                items[item["id"]] = file.line_of(*path)


def _mappings(value):
    """(index, mapping) for each mapping in `value` when it is a list."""
    if isinstance(value, list):
        yield from ((i, v) for i, v in enumerate(value) if isinstance(v, dict))


def _is_hashable(value) -> bool:
    return isinstance(value, str | int | float | bool)


@dataclass(frozen=True)
class CheckResult:
    """An automated check evaluated against the latest fact: pass, fail, stale or missing."""

    status: str
    fact: str
    expected: str
    value: float | None = None
    observed_at: object = None
    age_days: float | None = None

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    def describe(self) -> str:
        if self.status == "missing":
            return f"no {self.fact} fact yet (needs {self.expected})"
        shown = f"{self.fact} = {self.value:g}"
        if self.status == "stale":
            return (f"{shown} is {self.age_days:.0f} days old: too old to count "
                    f"(needs {self.expected})")
        if self.status == "fail":
            return f"{shown}, needs {self.expected}"
        return f"{shown} ({self.expected})"


# The comparison of each operator, as evaluate_check and failing_from apply it.
COMPARE = {
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    ">=": operator.ge,
    ">": operator.gt,
    "!=": operator.ne,
}


def evaluate_check(check: Mapping, value, observed_at, now) -> CheckResult:
    """Evaluate a check (as stored: fact, op, value, max_age_days) against the latest fact.

    `value` and `observed_at` are None when there is no fact; a fact older than
    `max_age_days` counts as missing (stale).
    """
    expected = f"{check['fact']} {check['op']} {check['value']:g}"
    if value is None:
        return CheckResult("missing", check["fact"], expected)
    age = now - observed_at
    age_days = age.total_seconds() / 86400
    max_age = check.get("max_age_days")
    if max_age is not None and age > timedelta(days=max_age):
        status = "stale"
    else:
        status = "pass" if COMPARE[check["op"]](value, check["value"]) else "fail"
    return CheckResult(status, check["fact"], expected, value, observed_at, age_days)


# The first moment of a check that fails whatever the time (no fact, or a failing value).
ALWAYS = datetime(1970, 1, 1, tzinfo=UTC)
_STEP = timedelta(microseconds=1)  # the resolution of the stored times


def failing_from(checks: Iterable[Mapping], latest: Mapping):
    """The first moment at which the latest facts fail one of `checks`, as evaluate_check
    decides at that moment and every moment after: ALWAYS when one fails whatever the
    time (no fact, or a value that does not compare), the moment after the soonest
    `max_age_days` runs out when they only go stale, None when none ever fails.

    `latest` maps fact name to (value, observed_at), as for evaluate_items. A service is
    failing at `now` exactly when the moment is not None and is <= now; pages keep it,
    so their lists of failing services are index ranges.
    """
    first = None
    for check in checks:
        value, observed_at = latest.get(check["fact"], (None, None))
        if value is None or not COMPARE[check["op"]](value, check["value"]):
            return ALWAYS
        if check.get("max_age_days") is not None:
            stale_at = observed_at + timedelta(days=check["max_age_days"]) + _STEP
            first = stale_at if first is None else min(first, stale_at)
    return first


def applies(content: Mapping, tier: int) -> bool:
    """Whether a checklist (its stored content) is for a service of `tier`: one without
    `applies_to` is for every service; otherwise each key given must match."""
    applies_to = content.get("applies_to") or {}
    return "tiers" not in applies_to or tier in applies_to["tiers"]


def items_of(content: Mapping):
    """(section, item) pairs of a stored checklist's content, in order."""
    for section in content["sections"]:
        for item in section["items"]:
            yield section, item


def is_required(item: Mapping) -> bool:
    """Items are required unless their file says `required: false`."""
    return item.get("required", True)


def required_checks(contents: Iterable[Mapping]):
    """The checks of the required items of stored checklists' contents, in order."""
    return [item["check"] for content in contents for _, item in items_of(content)
            if item.get("check") and is_required(item)]


def evaluate_items(content: Mapping, latest: Mapping, now):
    """(item, CheckResult) for each item of a stored checklist that has a check.

    `latest` maps fact name to (value, observed_at) of the latest fact.
    """
    results = []
    for _, item in items_of(content):
        check = item.get("check")
        if check:
            value, observed_at = latest.get(check["fact"], (None, None))
            results.append((item, evaluate_check(check, value, observed_at, now)))
    return results
