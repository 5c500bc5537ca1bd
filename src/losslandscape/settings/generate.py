"""Write the config's JSON schema and the key table of config/README.md from the settings.

    python -m losslandscape.settings            # rewrite both (run in the repository root)
    python -m losslandscape.settings --check    # exit 1, naming the file, if either is stale

The schema carries every key's type, range, allowed names (read from the package's
registries, so this imports torch), default and meaning; keys a config must state
(``required``) carry no default. Snakemake validates a config against it and fills in the
defaults (``workflow/rules/common.smk``).
"""

import argparse
import sys
import types
from dataclasses import MISSING, fields, is_dataclass
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

import yaml

from losslandscape.settings.keys import Registry, as_config
from losslandscape.settings.sections import Settings

SCHEMA_PATH = Path("workflow/schemas/config.schema.yaml")
README_PATH = Path("config/README.md")
# The root of the settings (its sections live beside it, by stage), named in the files
SOURCE = "src/losslandscape/settings/sections.py"
TABLE_START = (
    f"<!-- key table: generated from {SOURCE} by `python -m losslandscape.settings`; "
    "edit the settings there, not this table -->"
)
TABLE_END = "<!-- end of the generated key table -->"
SCHEMA_HEADER = (
    f"# Generated from {SOURCE}\n"
    "# by `python -m losslandscape.settings`: edit the settings there, not this file\n"
    "# (tests/unit/settings/test_settings.py fails when the two differ).\n"
)


def _is_optional(kind: Any) -> bool:
    return get_origin(kind) in (Union, types.UnionType) and type(None) in get_args(kind)


def _doc(kind: type) -> str:
    return " ".join((kind.__doc__ or "").split())


def _object_schema(kind: type, nested: bool) -> dict:
    """Schema of a settings dataclass; ``nested``: a section that may be left out."""
    hints = get_type_hints(kind)
    required = [f.name for f in fields(kind) if f.metadata["required"]]
    schema = {"description": _doc(kind), "type": "object", "additionalProperties": False}
    if required:
        schema["required"] = required
    if nested:
        schema["default"] = {}  # Snakemake then fills in the section's own defaults
    schema["properties"] = {f.name: _key_schema(f, hints[f.name]) for f in fields(kind)}
    return schema


def _value_schema(kind: Any, metadata: dict) -> dict:
    """Schema of a value of type ``kind`` under the key's constraints ``metadata``."""
    if _is_optional(kind):
        (inner,) = (k for k in get_args(kind) if k is not type(None))
        return {"oneOf": [{"type": "null"}, _value_schema(inner, metadata)]}
    if is_dataclass(kind):
        return {k: v for k, v in _object_schema(kind, nested=False).items() if k != "description"}
    origin = get_origin(kind)
    if origin is list:
        (item,) = get_args(kind)
        return {"type": "array", **metadata["items"], "items": _value_schema(item, metadata)}
    if origin is dict:
        _, value = get_args(kind)
        if value is Any:
            return {"type": "object"}
        return {"type": "object", "additionalProperties": _value_schema(value, metadata)}
    names = {bool: "boolean", int: "integer", float: "number", str: "string"}
    schema = {"type": names[kind]}
    choices = metadata["choices"]
    if isinstance(choices, Registry) and choices.pattern:
        schema["anyOf"] = [{"enum": choices.names()}, {"pattern": choices.pattern}]
    elif choices is not None:
        schema["enum"] = choices.names() if isinstance(choices, Registry) else list(choices)
    return schema | metadata["limits"]


def _key_schema(f, kind: Any) -> dict:
    if f.metadata["meaning"] is None:  # a section
        return _object_schema(kind, nested=not f.metadata["required"])
    schema = {"description": f.metadata["meaning"]}
    value = _value_schema(kind, f.metadata)
    if not f.metadata["required"]:
        default = f.default_factory() if f.default is MISSING else f.default
        value["default"] = as_config(default)
    return schema | value


def json_schema() -> dict:
    """The config's JSON schema (draft 2020-12), from :class:`Settings`."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **_object_schema(Settings, nested=False),
    }


class _Dumper(yaml.SafeDumper):
    """Lists of scalars on one line; everything else in block style."""


def _represent_list(dumper: yaml.SafeDumper, data: list) -> yaml.Node:
    flow = all(not isinstance(item, list | dict) for item in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _represent_list)


def schema_text() -> str:
    """The schema file's text: a header that says where it comes from, then YAML."""
    body = yaml.dump(json_schema(), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return SCHEMA_HEADER + body


def _leaves(kind: type, prefix: str = ""):
    """(dotted key, field, type) of every key, sections flattened, in the settings' order."""
    hints = get_type_hints(kind)
    for f in fields(kind):
        if f.metadata["meaning"] is None:
            yield from _leaves(hints[f.name], f"{prefix}{f.name}.")
        else:
            yield f"{prefix}{f.name}", f, hints[f.name]


def _number(value: float) -> str:
    return repr(value)


def _flow(value: Any) -> str:
    """A value as it is written in YAML, on one line."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _number(value)
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    return str(value)


def _shown_default(value: Any) -> str:
    """A default as the key table shows it: numbers bare, the rest as YAML code."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _number(value)
    return f"`{_flow(value)}`"


def allowed(schema: dict) -> str:
    """What a schema allows, in words (the key table's ``allowed`` column)."""
    if "oneOf" in schema:
        return " or ".join(allowed(option) for option in schema["oneOf"])
    if "enum" in schema:
        return "one of " + ", ".join(f"`{name}`" for name in schema["enum"])
    if "anyOf" in schema:  # names, or text of a pattern (a model's import path)
        return " or ".join(
            allowed({"type": schema["type"], **option}) for option in schema["anyOf"]
        )
    kind = schema["type"]
    if kind in ("null", "boolean"):
        return "`null`" if kind == "null" else "`true` or `false`"
    if kind in ("integer", "number"):
        bounds = [
            f"{sign} {_number(schema[name])}"
            for name, sign in (
                ("minimum", "≥"),
                ("exclusiveMinimum", ">"),
                ("maximum", "≤"),
                ("exclusiveMaximum", "<"),
            )
            if name in schema
        ]
        return " ".join([kind, ", ".join(bounds)]).strip()
    if kind == "string":
        return f"text matching `{schema['pattern']}`" if "pattern" in schema else "text"
    if kind == "array":
        items = schema["items"]
        if "enum" in items:
            what = "names from " + ", ".join(f"`{name}`" for name in items["enum"])
        else:  # "integer ≥ 0" → "integers ≥ 0"
            word, _, rest = allowed(items).partition(" ")
            what = f"{word}s {rest}".strip()
        size = schema.get("minItems"), schema.get("maxItems")
        exact = size[0] is not None and size[0] == size[1]
        notes = [f"{size[0]} items" if exact else "non-empty" if size[0] else ""]
        notes += ["no repeats" if schema.get("uniqueItems") else ""]
        notes = ", ".join(note for note in notes if note)
        return f"list of {what}" + (f" ({notes})" if notes else "")
    if "properties" in schema:
        parts = [f"{name}: {allowed(s)}" for name, s in schema["properties"].items()]
        return "{" + "; ".join(parts) + "}"
    if "additionalProperties" in schema:
        return f"name → {allowed(schema['additionalProperties'])}"
    return "mapping"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def readme_table() -> str:
    """The key table of config/README.md, between its markers."""
    rows = [
        TABLE_START,
        "",
        "| key | default | allowed | meaning |",
        "|---|---|---|---|",
    ]
    for name, f, kind in _leaves(Settings):
        default = f.default_factory() if f.default is MISSING else f.default
        cells = (
            f"`{name}`",
            _shown_default(as_config(default)),
            allowed(_value_schema(kind, f.metadata)),
            f.metadata["meaning"],
        )
        rows.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join([*rows, "", TABLE_END])


def readme_with_table(readme: str) -> str:
    """``readme`` with the text between the table markers replaced by :func:`readme_table`."""
    start, end = readme.find(TABLE_START), readme.find(TABLE_END)
    if start < 0 or end < start:
        raise ValueError(
            f"config/README.md: expected the markers {TABLE_START!r} and {TABLE_END!r} "
            "around the key table; found them missing or out of order"
        )
    return readme[:start] + readme_table() + readme[end + len(TABLE_END) :]


def generated_files(root: Path) -> dict[Path, str]:
    """Path → the text it should have, for every generated file under ``root``."""
    readme = (root / README_PATH).read_text(encoding="utf-8")
    return {root / SCHEMA_PATH: schema_text(), root / README_PATH: readme_with_table(readme)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m losslandscape.settings", description=__doc__)
    parser.add_argument("--root", type=Path, default=Path("."), help="the repository root")
    parser.add_argument(
        "--check", action="store_true", help="only say whether the files are up to date"
    )
    args = parser.parse_args(argv)
    stale = []
    for path, text in generated_files(args.root).items():
        if path.read_text(encoding="utf-8") != text:
            stale.append(path)
            if not args.check:
                path.write_text(text, encoding="utf-8")
    if args.check and stale:
        sys.exit(f"out of date: {', '.join(map(str, stale))}; run python -m losslandscape.settings")
    for path in stale:
        print(f"wrote {path}")
