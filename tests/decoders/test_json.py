"""lionrx._json: the fast JSON helper agrees with the stdlib and raises ValueError."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lionrx import _json

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def test_backend_is_orjson_in_the_dev_environment() -> None:
    assert _json.BACKEND == "orjson"


@given(JSON_VALUES)
def test_roundtrip_matches_stdlib(value: Any) -> None:
    text = json.dumps(value)
    assert _json.loads(text) == json.loads(text)
    assert _json.loads(text.encode()) == json.loads(text)
    assert json.loads(_json.dumps(value)) == value


def test_stdlib_only_documents_fall_back() -> None:
    assert math.isnan(_json.loads(b'{"a": NaN}')["a"])
    assert _json.loads(memoryview(b"[1]")) == [1]


@pytest.mark.parametrize("bad", [b"", b"{", b"[1,]", b"\xff", "nope"])
def test_invalid_raises_value_error(bad: Any) -> None:
    with pytest.raises(ValueError):
        _json.loads(bad)
