"""Profiles as YAML files people read, edit and diff; the published JSON Schema of a profile.

Writing uses PyYAML's safe dumper (no Python tags) with the model's field order, so the same
profile always gives the same bytes. Tag names and values, endpoint names and notes come from the
account and are untrusted: the dumper quotes and escapes them (invisible and bidi characters
included, so a file shown in a terminal reads as it is), and nothing untrusted is written into a
YAML comment. Reading turns every mistake into one line naming the file and the field, and bounds
what a hostile file can cost: its size, its nesting, what its anchors and aliases expand to, the
digits of a number. Dates stay text until the profile model reads them (an impossible date is then
a field error, not a crash in the YAML library).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from ground.atomic import write_atomic
from ground.untrusted import UNSAFE, shown
from profiles.errors import ProfileError, describe_profile_validation, validation_lines
from profiles.model import MLProfile, characteristic_names

# A profile is a few kilobytes; these bounds are far above any real one and far below harm.
MAX_PROFILE_BYTES = 1_000_000
MAX_NESTING = 64  # a profile nests four levels deep
MAX_VALUES = 100_000  # values after anchors and aliases are expanded
MAX_NUMBER_DIGITS = 30

SCHEMA_FILE = Path(__file__).with_name("ml-profile.schema.json")
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

PROFILE_HEADER = (
    "# ML profile (AWS Well-Architected Machine Learning Lens, MLOE-05), written by sagetop.\n"
    "# Schema: ml-profile.schema.json. Each characteristic has a value (null = unknown), its\n"
    "# origin (observed | configured | inferred | required) and unit.\n"
)

# Metadata of a characteristic left out of the file when empty: a file of `note: ''` lines is
# harder to read. Reading puts back the same defaults, so round trips are exact.
_OPTIONAL_METADATA = ("unit", "bound", "source", "note", "rationale", "change")


class _Dumper(yaml.SafeDumper):
    """Safe dumper that never writes anchors: each profile section stands on its own, and
    escapes invisible characters (`\\u202e`) that PyYAML would write as they are."""

    def ignore_aliases(self, data: Any) -> bool:
        return True

    def analyze_scalar(self, scalar: str) -> Any:
        if not UNSAFE.search(scalar):
            return super().analyze_scalar(scalar)
        # Analysed as if only ASCII were allowed: the scalar is then double-quoted and every
        # character outside ASCII escaped, which round-trips exactly.
        self.allow_unicode = False
        try:
            return super().analyze_scalar(scalar)
        finally:
            self.allow_unicode = True

    def process_scalar(self) -> None:
        if self.analysis is None or not UNSAFE.search(self.analysis.scalar):
            super().process_scalar()
            return
        self.allow_unicode = False
        try:
            super().process_scalar()
        finally:
            self.allow_unicode = True


def _error(problem: str, node: yaml.Node) -> yaml.MarkedYAMLError:
    return yaml.constructor.ConstructorError(None, None, problem, node.start_mark)


class _BoundedLoader(yaml.SafeLoader):
    """Safe loader that refuses a key written twice (PyYAML would keep the last silently), keys
    that are not plain values, nesting past `MAX_NESTING`, documents whose anchors and aliases
    expand past `MAX_VALUES`, numbers past `MAX_NUMBER_DIGITS` digits and inf/nan."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_NESTING:
                raise yaml.composer.ComposerError(
                    None, None, f"nested more than {MAX_NESTING} levels deep",
                    self.peek_event().start_mark)  # type: ignore[no-untyped-call]
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_document(self) -> yaml.Node | None:
        node = super().compose_document()
        if node is not None and _expanded_size(node, {}) > MAX_VALUES:
            raise yaml.composer.ComposerError(
                None, None, f"expands to more than {MAX_VALUES:,} values (anchors and aliases)",
                node.start_mark)
        return node


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """Values `node` stands for once every alias is expanded (aliases share their nodes)."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    total = 1
    if isinstance(node, yaml.SequenceNode):
        total += sum(_expanded_size(item, sizes) for item in node.value)
    elif isinstance(node, yaml.MappingNode):
        total += sum(_expanded_size(k, sizes) + _expanded_size(v, sizes) for k, v in node.value)
    sizes[id(node)] = total = min(total, MAX_VALUES + 1)
    return total


def _construct_unique_mapping(loader: _BoundedLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise _error("a key must be a plain name, not a list or a mapping", key_node)
        key = loader.construct_object(key_node)
        if key in seen:
            raise _error(f"key {shown(key)} appears twice", key_node)
        seen.add(key)
    return loader.construct_mapping(node)


def _construct_bounded_int(loader: _BoundedLoader, node: yaml.ScalarNode) -> int:
    if sum(c.isdigit() for c in str(node.value)) > MAX_NUMBER_DIGITS:
        raise _error(f"a number of more than {MAX_NUMBER_DIGITS} digits", node)
    return int(loader.construct_yaml_int(node))


def _construct_finite_float(loader: _BoundedLoader, node: yaml.ScalarNode) -> float:
    value = float(loader.construct_yaml_float(node))
    if not math.isfinite(value):
        raise _error("not a finite number (inf and nan are not values)", node)
    return value


def _construct_checked_timestamp(loader: _BoundedLoader, node: yaml.ScalarNode) -> Any:
    # Only an explicit !!timestamp gets here (the implicit resolver is removed below).
    try:
        return loader.construct_yaml_timestamp(node)
    except (ValueError, OverflowError):
        raise _error(f"{shown(node.value)} is not a real date and time", node) from None


_TAGS = yaml.resolver.BaseResolver
_BoundedLoader.add_constructor(_TAGS.DEFAULT_MAPPING_TAG, _construct_unique_mapping)
_BoundedLoader.add_constructor("tag:yaml.org,2002:int", _construct_bounded_int)
_BoundedLoader.add_constructor("tag:yaml.org,2002:float", _construct_finite_float)
_BoundedLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_checked_timestamp)
# Dates and times stay text: the profile model parses them, and says which field is wrong.
_BoundedLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers
            if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _compact(data: Any) -> Any:
    if isinstance(data, dict):
        is_characteristic = "origin" in data and "value" in data
        return {key: _compact(value) for key, value in data.items()
                if not (is_characteristic and key in _OPTIONAL_METADATA and value in (None, ""))}
    if isinstance(data, list):
        return [_compact(item) for item in data]
    return data


def dump_yaml(data: Any) -> str:
    """Plain data as block-style YAML, keys in the given order, every string safely quoted."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                     default_flow_style=False, width=100)


def model_to_yaml(model: BaseModel, header: str = "") -> str:
    return header + dump_yaml(_compact(model.model_dump(mode="json")))


def profile_to_yaml(profile: MLProfile) -> str:
    return model_to_yaml(profile, PROFILE_HEADER)


def _load_yaml(text: str, origin: str) -> Any:
    try:
        return yaml.load(text, Loader=_BoundedLoader)  # a SafeLoader subclass: no Python tags
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = exc.problem or exc.context or "not valid YAML"
        raise ProfileError(f"{origin}: {where}{problem}") from None
    except yaml.YAMLError as exc:
        raise ProfileError(f"{origin}: not valid YAML: {str(exc).splitlines()[0]}") from None
    except (RecursionError, MemoryError, ValueError, OverflowError):
        raise ProfileError(f"{origin}: not a profile: too large or too deeply nested to read"
                           ) from None


def profile_from_yaml(text: str, origin: str) -> MLProfile:
    """Parse and validate a profile; `origin` names the file in error messages."""
    data = _load_yaml(text, origin)
    if not isinstance(data, dict):
        found = "nothing" if data is None else type(data).__name__
        raise ProfileError(f"{origin}: expected a mapping of profile fields, got {found}")
    try:
        return MLProfile.model_validate(data)
    except ValidationError as exc:
        names = characteristic_names()
        raise ProfileError(describe_profile_validation(exc, origin, collapse=names),
                           validation_lines(exc, origin, collapse=names)) from None
    except (RecursionError, MemoryError, ValueError, OverflowError, TypeError):
        raise ProfileError(f"{origin}: not a profile: a value of an unreadable kind") from None


def read_profile(path: Path) -> MLProfile:
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_PROFILE_BYTES + 1)
    except FileNotFoundError:
        raise ProfileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ProfileError(f"{path}: is a directory, not a profile file") from None
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_PROFILE_BYTES:
        raise ProfileError(f"{path}: larger than {MAX_PROFILE_BYTES:,} bytes: not a profile")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ProfileError(f"{path}: not UTF-8 text") from None
    return profile_from_yaml(text, str(path))


def write_profile(path: Path, profile: MLProfile) -> None:
    write_atomic(path, profile_to_yaml(profile))


def profile_json_schema() -> dict[str, Any]:
    """The published JSON Schema of an ML profile file."""
    schema = MLProfile.model_json_schema(mode="validation")
    schema = {"$schema": JSON_SCHEMA_DIALECT, **schema}
    schema["title"] = "sagetop ML profile"
    schema["description"] = (
        "The ML profile of one SageMaker inference endpoint (AWS Well-Architected Machine "
        "Learning Lens, MLOE-05): current or target characteristics, each with value, origin "
        "and unit.")
    return schema


def profile_schema_text() -> str:
    return json.dumps(profile_json_schema(), indent=2, ensure_ascii=False) + "\n"


def write_profile_schema(path: Path = SCHEMA_FILE) -> Path:
    """Write the schema file (the repository keeps `profiles/ml-profile.schema.json` in sync)."""
    write_atomic(path, profile_schema_text())
    return path
