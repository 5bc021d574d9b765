"""The one YAML reader, and typed dataclasses filled from what it reads.

``read_yaml`` parses with the safe loader, refuses a key given twice in one
mapping, and turns a parse error into one line ``file:line: what``.
``build_dataclass`` fills a frozen dataclass, refusing unknown, missing or
wrongly typed keys with the key path (``criteria.weights.foo: unknown key``).
"""
from __future__ import annotations

import collections.abc
import dataclasses
import types
import typing

import yaml

from pipeline.errors import InputError
from pipeline.inputs.source import Source


class _StrictLoader(yaml.SafeLoader):
    """The safe loader, with a duplicated mapping key as an error."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    seen: dict = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} given twice (first on line {seen[key]})", key_node.start_mark)
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def read_yaml(source: Source):
    """The parsed document of ``source`` (None for an empty file)."""
    try:
        return yaml.load(source.text(), Loader=_StrictLoader)  # noqa: S506 - a subclass of SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"{source.path}:{mark.line + 1}" if mark is not None else str(source.path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(where, f"not valid YAML: {' '.join(str(problem).split())}") from None


def build_dataclass(cls, raw, where: str, keypath: str = ""):
    """Fill the frozen dataclass ``cls`` from ``raw``; unknown, missing or
    wrongly typed keys raise ``InputError`` naming ``where`` and the key path."""
    if not isinstance(raw, dict):
        raise InputError(where, f"{keypath or 'top level'}: expected a mapping, got {type(raw).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields), key=str)
    if unknown:
        raise InputError(where, f"{join_key(keypath, unknown[0])}: unknown key",
                         f"known keys here: {', '.join(sorted(fields))}")
    values = {}
    for name, f in fields.items():
        key = join_key(keypath, name)
        if name not in raw:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise InputError(where, f"{key}: missing key")
            continue
        values[name] = _coerce(hints[name], raw[name], where, key)
    return cls(**values)


def join_key(keypath: str, name) -> str:
    return f"{keypath}.{name}" if keypath else str(name)


def _coerce(tp, value, where: str, key: str):
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _coerce(inner, value, where, key)
    if dataclasses.is_dataclass(tp):
        return build_dataclass(tp, value, where, key)
    if origin is tuple:
        if not isinstance(value, list):
            raise InputError(where, f"{key}: expected a list")
        return tuple(_coerce(args[0], v, where, f"{key}[{i}]") for i, v in enumerate(value))
    if origin in (collections.abc.Mapping, dict):
        if not isinstance(value, dict):
            raise InputError(where, f"{key}: expected a mapping")
        return {str(k): _coerce(args[1], v, where, join_key(key, str(k))) for k, v in value.items()}
    if tp is bool:
        if not isinstance(value, bool):
            raise InputError(where, f"{key}: expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(where, f"{key}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or abs(value) == float("inf"):
            raise InputError(where, f"{key}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise InputError(where, f"{key}: expected text, got {value!r}")
        return str(value)
    raise TypeError(f"unsupported config type {tp!r} at {key}")
