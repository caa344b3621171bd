"""Profiles as YAML files people read, edit and diff; the published JSON Schema of a profile.

Writing uses PyYAML's safe dumper (no Python tags) with the model's field order, so the same
profile always gives the same bytes. Tag names and values, endpoint names and notes come from the
account and are untrusted: the dumper quotes and escapes them, and nothing untrusted is written
into a YAML comment. Reading turns every mistake into one line naming the file and the field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from ground.atomic import write_atomic
from ground.validation import describe_validation
from profiles.errors import ProfileError
from profiles.model import MLProfile, characteristic_names

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
    """Safe dumper that never writes anchors: each profile section stands on its own."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


class _UniqueKeyLoader(yaml.SafeLoader):
    """Safe loader that refuses a key written twice (PyYAML would keep the last silently)."""


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} appears twice", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping)


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
        return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass: no Python tags
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = exc.problem or exc.context or "not valid YAML"
        raise ProfileError(f"{origin}: {where}{problem}") from None
    except yaml.YAMLError as exc:
        raise ProfileError(f"{origin}: not valid YAML: {exc}") from None


def profile_from_yaml(text: str, origin: str) -> MLProfile:
    """Parse and validate a profile; `origin` names the file in error messages."""
    data = _load_yaml(text, origin)
    if not isinstance(data, dict):
        found = "nothing" if data is None else type(data).__name__
        raise ProfileError(f"{origin}: expected a mapping of profile fields, got {found}")
    try:
        return MLProfile.model_validate(data)
    except ValidationError as exc:
        raise ProfileError(describe_validation(exc, origin, collapse=characteristic_names())
                           ) from None


def read_profile(path: Path) -> MLProfile:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ProfileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ProfileError(f"{path}: is a directory, not a profile file") from None
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read: {exc.strerror or exc}") from None
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
