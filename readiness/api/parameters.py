"""Query parameters, checked against their definitions in the OpenAPI document (one
source: the handlers accept exactly what the document describes)."""

import re

from ..problems import Problem


def read_query(args, parameters):
    """{name: value} of the query `args` (a MultiDict) by the document's `parameters`:
    defaults filled in, integers as int. A 400 problem for an unknown parameter, one given
    twice, or a value its schema refuses."""
    known = {p["name"]: p["schema"] for p in parameters if p["in"] == "query"}
    unknown = sorted(set(args) - set(known))
    if unknown:
        raise Problem(400, "Bad Request", f"Unknown query parameter {', '.join(unknown)}.")
    values = {}
    for name, schema in known.items():
        given = args.getlist(name)
        if len(given) > 1:
            raise Problem(400, "Bad Request", f"'{name}' is given more than once.")
        if given:
            values[name] = _value(name, given[0], schema)
        elif "default" in schema:
            values[name] = schema["default"]
    return values


def _value(name, raw, schema):
    if schema["type"] == "integer":
        low, high = schema["minimum"], schema["maximum"]
        if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
            raise Problem(400, "Bad Request",
                          f"'{name}' must be a whole number from {low} to {high}.")
        return int(raw)
    if "enum" in schema and raw not in schema["enum"]:
        raise Problem(400, "Bad Request", f"'{name}' is one of {', '.join(schema['enum'])}.")
    if len(raw) > schema.get("maxLength", len(raw)):
        raise Problem(400, "Bad Request",
                      f"'{name}' is at most {schema['maxLength']} characters.")
    if "pattern" in schema and re.search(schema["pattern"], raw) is None:
        raise Problem(400, "Bad Request",
                      f"'{name}' must match {schema['pattern']} (e.g. a team's slug).")
    return raw
