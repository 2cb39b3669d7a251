"""`clone()` is a deep copy: equal to `model_copy(deep=True)`, sharing no mutable value with the original.

Checked on a status with *every* field set (built from the models' own annotations), so a field
added later is covered without touching this test.
"""

from __future__ import annotations

import types
import typing
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel

from tendlc.api import MigrationStatus
from tendlc.api.copying import Cloneable
from tendlc.api.wave import WaveStatus

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def sample(annotation: Any) -> Any:
    """A value of `annotation`, with every optional part present and every container non-empty."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return sample(next(arg for arg in args if arg is not type(None)))
    if origin is typing.Literal:
        return args[0]
    if origin is typing.Annotated:
        return sample(args[0])
    if origin is list:
        return [sample(args[0]), sample(args[0])]
    if origin is dict:
        return {sample(args[0]): sample(args[1])}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation.model_validate(
            {name: sample(field.annotation) for name, field in annotation.model_fields.items()}, by_name=True)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return next(iter(annotation))
    if annotation is datetime:
        return T0
    if annotation is Any:
        return {"any": [1]}
    return {str: "x", int: 1, bool: True, float: 0.5}[annotation]


def every_field_set(model: BaseModel) -> list[str]:
    """Fields (at any depth) left at None or empty: the sample must have none."""
    missing = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        if value is None or value in ([], {}):
            missing.append(name)
        elif isinstance(value, BaseModel):
            missing += [f"{name}.{inner}" for inner in every_field_set(value)]
    return missing


def assert_no_shared_mutable(a: Any, b: Any, path: str = "") -> None:
    if isinstance(a, list | dict | BaseModel):
        assert a is not b, f"{path} is shared"
    if isinstance(a, BaseModel):
        for name in type(a).model_fields:
            assert_no_shared_mutable(getattr(a, name), getattr(b, name), f"{path}.{name}")
    elif isinstance(a, list):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_no_shared_mutable(x, y, f"{path}[{i}]")
    elif isinstance(a, dict):
        for key in a:
            assert_no_shared_mutable(a[key], b[key], f"{path}[{key!r}]")


def test_a_status_with_every_field_set_clones_to_an_equal_independent_copy() -> None:
    for model in (MigrationStatus, WaveStatus):
        original = sample(model)
        assert every_field_set(original) == []
        copy = original.clone()
        assert copy == original.model_copy(deep=True)
        assert copy.model_fields_set == original.model_fields_set
        assert copy.to_dict() == original.to_dict()
        assert_no_shared_mutable(original, copy)


def test_changing_the_clone_leaves_the_original_alone() -> None:
    original = sample(MigrationStatus)
    before = original.to_dict()
    copy = original.clone()
    copy.conditions[0].reason = "Changed"
    copy.conditions.append(copy.conditions[0])
    assert copy.network_statuses is not None
    copy.network_statuses.clear()
    copy.attempts += 1
    assert original.to_dict() == before


def test_an_unknown_mutable_value_is_deep_copied_not_shared() -> None:
    class Holder(Cloneable):
        tags: set[str]

    original = Holder(tags={"a"})
    copy = original.clone()
    copy.tags.add("b")
    assert original.tags == {"a"}
