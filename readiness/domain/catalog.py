"""Backstage catalog entities -> the teams and services they describe, or
`source:line: message` errors (docs/catalog.md has the mapping).

Pure: no Flask, no database. Descriptor files are read through PyYAML's node tree, so
each error names the line of the field it is about, and duplicate keys are found
(PyYAML's loaders silently keep the last one). Every error of a run is collected; the
caller stores nothing when there is one.
"""

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import astuple, dataclass, field
from pathlib import Path

from . import inputs, services, yamlfile
from .inputs import InvalidInput
from .services import check_description, check_link, check_name, check_slug, check_tier

SERVICE_TYPES = ("service", "website")
DEFAULT_TIER = 3
TIER_ANNOTATION = "readiness/tier"
GITHUB_ANNOTATION = "github.com/project-slug"
# Which of a service's links a catalog link is: by its `type`, else by words in its title
# or icon. The first link of each kind counts.
LINK_KINDS = {
    "repo_url": ("repo", "repository", "source", "code", "github", "gitlab"),
    "runbook_url": ("runbook", "playbook"),
    "dashboard_url": ("dashboard", "grafana", "metrics"),
}
_SLUG_SEPARATORS = re.compile(r"[_.]")
# What a file maps to depends on its text and on the code that maps it: a Reading kept
# from an earlier run is used again only under the same code (see file_key).
_MAPPING_CODE = hashlib.sha256(b"\0".join(
    Path(module).read_bytes()
    for module in (__file__, services.__file__, inputs.__file__, yamlfile.__file__)
)).hexdigest()


@dataclass(frozen=True, order=True)
class CatalogError:
    source: str
    line: int | None
    message: str

    def __str__(self):
        return (f"{self.source}:{self.line}: {self.message}" if self.line is not None
                else f"{self.source}: {self.message}")


@dataclass(frozen=True)
class Group:
    slug: str
    name: str
    source: str
    line: int | None


@dataclass(frozen=True)
class Component:
    """A service as the catalog describes it."""

    slug: str
    name: str
    owner: str  # the team's slug
    tier: int
    description: str
    lifecycle: str | None
    repo_url: str | None
    runbook_url: str | None
    dashboard_url: str | None
    source: str
    line: int | None


@dataclass(frozen=True)
class Reading:
    """What one descriptor file mapped to, when it had no error, without where it was
    read: an unchanged file imported again is taken from here instead of parsed again."""

    groups: tuple[Group, ...]
    components: tuple[Component, ...]
    skipped: int

    def to_json(self):
        def fields(entity):
            return [value for name, value in zip(entity.__dataclass_fields__,
                                                 astuple(entity), strict=True)
                    if name != "source"]
        return {"groups": [fields(g) for g in self.groups],
                "components": [fields(c) for c in self.components], "skipped": self.skipped}

    @classmethod
    def from_json(cls, data, source):
        def entity(kind, values):
            return kind(*values[:-1], source, values[-1])  # source sits before line
        return cls(tuple(entity(Group, g) for g in data["groups"]),
                   tuple(entity(Component, c) for c in data["components"]), data["skipped"])


def file_key(text: str) -> str:
    """The key of a file's Reading: its text under this version of the mapping code."""
    return hashlib.sha256(f"{_MAPPING_CODE}\0{text}".encode()).hexdigest()


@dataclass
class Catalog:
    """What a run read: groups and components by slug, how many entities it skipped (other
    kinds and component types), and every error."""

    groups: dict[str, Group] = field(default_factory=dict)
    components: dict[str, Component] = field(default_factory=dict)
    skipped: int = 0
    errors: list[CatalogError] = field(default_factory=list)

    def add_entity(self, entity: Mapping, source: str, lines: Mapping | None = None):
        """Map one entity (a decoded descriptor or an API item) and keep it; `lines`
        maps a key path to its line, for files."""
        lines = lines or {}
        if not isinstance(entity, dict):
            self.errors.append(CatalogError(source, lines.get(()), "expected an entity "
                                            "(apiVersion, kind, metadata, spec)"))
            return
        found = _Entity(entity, source, lines)
        mapped = found.map()
        self.errors.extend(found.errors)
        if mapped is None:
            if not found.errors:
                self.skipped += 1
            return None
        return mapped if self._keep(mapped) else None

    def _keep(self, mapped):
        """Keep a mapped Group or Component, unless one of its kind has its slug (an
        error at its name's line)."""
        kept = self.groups if isinstance(mapped, Group) else self.components
        first = kept.get(mapped.slug)
        if first is not None:
            where = f"{first.source}:{first.line}" if first.line else first.source
            kind = "group" if isinstance(mapped, Group) else "component"
            self.errors.append(CatalogError(mapped.source, mapped.line,
                                            f"a second {kind} named '{mapped.slug}' after "
                                            f"mapping (the first is at {where})"))
            return False
        kept[mapped.slug] = mapped
        return True

    def read_text(self, text: str, source: str, known: Reading | None = None):
        """Add every document of a descriptor file's `text`, or what `known` (the Reading
        of the same text by an earlier run, for this `source`: see file_key) says they
        map to. Returns the file's Reading when it added no error, else None."""
        errors = len(self.errors)
        if known is not None:
            self.skipped += known.skipped
            for mapped in (*known.groups, *known.components):
                self._keep(mapped)
            return known if len(self.errors) == errors else None
        skipped, mapped = self.skipped, []
        def report(line, message):
            self.errors.append(CatalogError(source, line, message))

        for data, lines in yamlfile.documents(text, report):
            if data is None:
                continue
            if not isinstance(data, dict):
                self.errors.append(CatalogError(source, lines.get(()), "expected an entity "
                                                "(apiVersion, kind, metadata, spec)"))
                continue
            mapped.append(self.add_entity(data, source, lines))
        if len(self.errors) != errors:
            return None
        return Reading(tuple(m for m in mapped if isinstance(m, Group)),
                       tuple(m for m in mapped if isinstance(m, Component)),
                       self.skipped - skipped)

    def read_file(self, path: str | Path) -> str | None:
        """The text of a descriptor file, or None with an error."""
        try:
            return Path(path).read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            self.errors.append(CatalogError(str(path), 1, f"not UTF-8 text: {exc.reason}"))
        except OSError as exc:
            self.errors.append(CatalogError(str(path), None, f"cannot read: {exc.strerror}"))
        return None


def discover(paths: Iterable[str | Path]) -> list[Path]:
    """The descriptor files named, and the *.yaml and *.yml files under folders named."""
    found = []
    for path in map(Path, paths):
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml")
                            and p.is_file())
        else:
            found.append(path)
    return found


def entity_ref(entity) -> str:
    """`kind:namespace/name` of an entity, as Backstage names it (for messages)."""
    metadata = entity.get("metadata") if isinstance(entity, dict) else None
    metadata = metadata if isinstance(metadata, dict) else {}
    kind = str(entity.get("kind", "?")).lower() if isinstance(entity, dict) else "?"
    return f"{kind}:{metadata.get('namespace') or 'default'}/{metadata.get('name', '?')}"


def slug_of(name: str) -> str:
    """A catalog name as a slug: lowercased, `_` and `.` as `-`."""
    return _SLUG_SEPARATORS.sub("-", name.strip().lower())


def owner_slug(owner: str) -> str | None:
    """The team slug of an owner reference (`group:default/x`, `group:x`, `x`), or None
    for a reference to another kind (`user:jane`)."""
    kind, _, rest = owner.strip().rpartition(":")
    if kind and kind.lower() != "group":
        return None
    return slug_of(rest.rpartition("/")[2])


class _Entity:
    """One entity being mapped, with the lines of its fields and its errors."""

    def __init__(self, data, source, lines):
        self.data, self.source, self.lines, self.errors = data, source, lines, []

    def line(self, path):
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path)

    def error(self, path, message):
        self.errors.append(CatalogError(self.source, self.line(path), message))

    def get(self, *path, kind=str, required=False):
        """The value at `path` if it has the type `kind`; None when absent (an error when
        `required`) or of another type (always an error)."""
        value = self.data
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if value is None:
            if required:
                self.error(path, f"{_dotted(path)} is missing")
            return None
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            self.error(path, f"{_dotted(path)} must be {_KIND_WORDS.get(kind, kind)}, "
                             f"not {_describe(value)}")
            return None
        return value

    def check(self, path, check, value, *args):
        """`check`(…, value) of domain.services, or None with its message as an error."""
        try:
            return check(*args, value)
        except InvalidInput as exc:
            self.error(path, f"{_dotted(path)}: {exc}")
            return None

    def map(self):
        kind = self.get("kind", required=True)
        name = self.get("metadata", "name", required=True)
        if kind is None or name is None:
            return None
        for path in (("metadata",), ("spec",)):
            self.get(*path, kind=dict)
        if kind.lower() == "group":
            return self._group(name)
        if kind.lower() == "component":
            return self._component(name)
        return None  # another kind: skipped

    def _slug(self, name):
        return self.check(("metadata", "name"), check_slug, slug_of(name))

    def _group(self, name):
        slug = self._slug(name)
        title = (self.get("spec", "profile", "displayName") or self.get("metadata", "title")
                 or name)
        title = self.check(("metadata", "title"), check_name, title)
        if slug is None or title is None:
            return None
        return Group(slug, title, self.source, self.line(("metadata", "name")))

    def _component(self, name):
        component_type = self.get("spec", "type", required=True)
        if component_type is None or component_type.lower() not in SERVICE_TYPES:
            return None  # a library, documentation …: skipped
        slug = self._slug(name)
        title = self.check(("metadata", "title"), check_name,
                           self.get("metadata", "title") or name)
        description = self.check(("metadata", "description"), check_description,
                                 self.get("metadata", "description") or "")
        owner_ref = self.get("spec", "owner", required=True)
        owner = None
        if owner_ref is not None:
            owner = owner_slug(owner_ref)
            if owner is None:
                self.error(("spec", "owner"), f"spec.owner '{owner_ref}' is not a group: "
                                              "a service belongs to a team")
            else:
                owner = self.check(("spec", "owner"), check_slug, owner)
        tier = self._tier()
        links = self._links()
        lifecycle = self.get("spec", "lifecycle")
        if None in (slug, title, description, owner, tier) or links is None:
            return None
        return Component(slug, title, owner, tier, description, lifecycle,
                         links.get("repo_url"), links.get("runbook_url"),
                         links.get("dashboard_url"), self.source,
                         self.line(("metadata", "name")))

    def _tier(self):
        path = ("metadata", "annotations", TIER_ANNOTATION)
        annotations = self.data.get("metadata", {}).get("annotations")
        if not isinstance(annotations, dict) or annotations.get(TIER_ANNOTATION) is None:
            return DEFAULT_TIER
        raw = self.get(*path, kind=(str, int))
        if raw is None:
            return None
        text = str(raw).strip()
        return self.check(path, check_tier, int(text) if text.isdigit() else text)

    def _links(self):
        """{field: url} of the service's links, or None after an error."""
        found, ok = {}, True
        links = self.get("metadata", "links", kind=list) or []
        for index, link in enumerate(links):
            path = ("metadata", "links", index)
            if not isinstance(link, dict) or not isinstance(link.get("url"), str):
                self.error(path, "each of metadata.links needs a url")
                ok = False
                continue
            words = " ".join(str(link.get(key) or "") for key in ("type", "title", "icon"))
            kind = _link_kind(link.get("type"), words.lower())
            if kind is None or kind in found:
                continue
            url = self.check((*path, "url"), check_link, link["url"], kind)
            ok = ok and url is not None
            found[kind] = url
        project = self.get("metadata", "annotations", GITHUB_ANNOTATION)
        if project and "repo_url" not in found:
            url = self.check(("metadata", "annotations", GITHUB_ANNOTATION), check_link,
                             f"https://github.com/{project.strip()}", "repo_url")
            ok = ok and url is not None
            found["repo_url"] = url
        return found if ok else None


def _dotted(path):
    """A key path as people write it: metadata.links[0].url."""
    return "".join(f"[{key}]" if isinstance(key, int) else f".{key}" for key in path).lstrip(".")


def _link_kind(link_type, words):
    for kind, names in LINK_KINDS.items():
        if isinstance(link_type, str) and link_type.lower() in names:
            return kind
    for kind, names in LINK_KINDS.items():
        if any(name in words for name in names):
            return kind
    return None


_KIND_WORDS = {str: "text", dict: "a mapping", list: "a list", (str, int): "a number or text"}


def _describe(value):
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return "text"
