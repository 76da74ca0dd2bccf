"""YAML files people write (catalog descriptors, fact sources, checklists): read through
PyYAML's node tree, so each error names the line of what it is about, and validation
errors said in words their authors use.

Pure: no Flask, no database. PyYAML's loaders silently keep the last of duplicate keys;
the node walk here finds them. YAML aliases are refused (a few nested ones expand into
billions of nodes).
"""

import difflib

import yaml

SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
FACT_PATTERN = r"^[a-z][a-z0-9_]*$"
LABEL_PATTERN = r"^[a-zA-Z_][a-zA-Z0-9_]*$"  # a Prometheus label name
# libyaml's parser when PyYAML has it (wheels do): catalogs run to tens of thousands of
# documents, which the pure-Python parser reads ~20x slower. Both give the same nodes
# and lines.
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def documents(text, report):
    """(data, {key path: line}) of each YAML document of `text`; each problem goes to
    `report(line, message)`. A document with a duplicate key or an alias is not
    yielded; one that cannot be read ends the file (YAML cannot resync after it)."""
    loader = LOADER(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            lines = {}
            ok, data = _read(node, (), lines, report, set(), loader.construct_object)
            loader.constructed_objects, loader.recursive_objects = {}, {}
            if ok:
                yield data, lines
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if exc.context_mark and (mark.index >= len(text.rstrip()) or mark.line > text.count("\n")):
            mark = exc.context_mark  # "found end of stream": where the unfinished thing began
        problem = " ".join(filter(None, (exc.context, exc.problem)))
        report(mark.line + 1 if mark else 1, f"YAML syntax error: {problem}")
    except yaml.YAMLError as exc:
        report(1, f"YAML error: {exc}")
    finally:
        loader.dispose()


def _read(node, path, lines, report, seen_nodes, scalar, line=None):
    """(ok, the node as Python data), noting each node's line under its key path in
    `lines`, in one walk of the node tree; not ok after a duplicate key or an alias (a
    node met twice: walking a few nested aliases would visit billions of nodes). Keys
    stay text; scalars are read by PyYAML's safe constructor (`scalar`)."""
    if id(node) in seen_nodes:
        report(line or node.start_mark.line + 1, "YAML aliases (*name) are not supported")
        return False, None
    seen_nodes.add(id(node))
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        ok, data = True, {}
        seen = {}
        for key, value in node.value:
            line = key.start_mark.line + 1
            if not isinstance(key, yaml.ScalarNode):
                report(line, "keys must be plain words")
                ok = False
                continue
            if key.value in seen:
                report(line, f"duplicate key '{key.value}' (first at line {seen[key.value]})")
                ok = False
                continue
            seen[key.value] = line
            child_ok, data[key.value] = _read(value, (*path, key.value), lines, report,
                                              seen_nodes, scalar, line)
            ok = ok and child_ok
            lines[(*path, key.value)] = line
        return ok, data
    if isinstance(node, yaml.SequenceNode):
        ok, data = True, []
        for index, child in enumerate(node.value):
            child_ok, value = _read(child, (*path, index), lines, report, seen_nodes,
                                    scalar, child.start_mark.line + 1)
            ok = ok and child_ok
            data.append(value)
        return ok, data
    return True, scalar(node)


def line_of(lines, path):
    """The line of the node at `path`, or of its nearest ancestor that has one."""
    path = tuple(path)
    while path and path not in lines:
        path = path[:-1]
    return lines.get(path, 1)


_TYPE_NAMES = {
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "bool_type": "true or false",
    "string_type": "text",
    "tuple_type": "a list",
    "list_type": "a list",
    "model_type": "a mapping of keys",
    "dict_type": "a mapping of keys",
}


def message_of(error, root, under) -> str:
    """A sentence a file's author understands, for one pydantic error of the model
    `root`; `under` maps a key to the model of the mappings under it (to suggest keys)."""
    loc = error["loc"]
    names = [part for part in loc if isinstance(part, str)]
    key = names[-1] if names else "file"
    kind = error["type"]
    value = error.get("input")
    ctx = error.get("ctx", {})
    if kind == "missing":
        return f"missing field '{key}'"
    if kind == "extra_forbidden":
        model = under.get(names[-2], root) if len(names) > 1 else root
        allowed = list(model.model_fields)
        hint = difflib.get_close_matches(key, allowed, n=1)
        suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
        return f"unknown key '{key}' (allowed: {', '.join(allowed)}){suggestion}"
    if kind in _TYPE_NAMES:
        message = f"'{key}' must be {_TYPE_NAMES[kind]}, not {describe(value)}"
        if isinstance(value, bool) and kind == "string_type":
            message += " (YAML reads yes/no/on/off/true/false as booleans: quote the text)"
        return message
    if kind == "literal_error":
        return f"'{key}' must be one of {ctx.get('expected', '')}, not {describe(value)}"
    if kind == "string_pattern_mismatch":
        if ctx.get("pattern") == LABEL_PATTERN:
            return (f"'{key}' must be a Prometheus label name (letters, digits and '_', "
                    f"not starting with a digit), not {describe(value)}")
        if ctx.get("pattern") == FACT_PATTERN:
            return (f"'{key}' must be a fact name (lowercase letters, digits and '_', "
                    f"starting with a letter), not {describe(value)}")
        return (f"'{key}' must be a slug (lowercase letters, digits and '-', starting with "
                f"a letter or digit), not {describe(value)}")
    if kind in ("too_short", "string_too_short"):
        return f"'{key}' must not be empty"
    if kind in ("too_long", "string_too_long"):
        return f"'{key}' is too long (at most {ctx.get('max_length')} characters)"
    if kind in ("greater_than_equal", "greater_than"):
        return f"'{key}' must be at least {ctx.get('ge', ctx.get('gt'))}, not {describe(value)}"
    if kind in ("less_than_equal", "less_than"):
        return f"'{key}' must be at most {ctx.get('le', ctx.get('lt'))}, not {describe(value)}"
    if kind == "finite_number":
        return f"'{key}' must be a finite number, not {describe(value)}"
    return f"'{key}': {error['msg']}"


def describe(value) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


