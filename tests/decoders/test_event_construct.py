"""`_EventBase.model_construct` (the fast, validation-free constructor the per-chunk path uses)
builds exactly what pydantic's own ``model_construct`` builds."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from lionrx._events import (
    Completed,
    Failed,
    Finish,
    KeepAlive,
    ReasoningDelta,
    RefusalDelta,
    Response,
    Start,
    TextDelta,
    ToolCallDelta,
    Usage,
)
from lionrx.errors import ProviderStreamError

_pydantic_construct = BaseModel.model_construct.__func__  # type: ignore[attr-defined]

SAMPLES: dict[type[BaseModel], st.SearchStrategy[dict[str, Any]]] = {
    TextDelta: st.fixed_dictionaries({"text": st.text()}, optional={"source": st.text()}),
    ReasoningDelta: st.fixed_dictionaries(
        {"text": st.text()}, optional={"signature": st.text(), "redacted": st.booleans()}
    ),
    RefusalDelta: st.fixed_dictionaries({"text": st.text()}, optional={"choice": st.integers()}),
    ToolCallDelta: st.fixed_dictionaries(
        {"index": st.integers(0, 5)},
        optional={"id": st.text(), "name": st.text(), "arguments_fragment": st.text()},
    ),
    Usage: st.fixed_dictionaries(
        {}, optional={"input_tokens": st.integers(0), "output_tokens": st.none()}
    ),
    Finish: st.fixed_dictionaries({"reason": st.none() | st.text()}),
    KeepAlive: st.fixed_dictionaries({}, optional={"source": st.none() | st.text()}),
    Start: st.fixed_dictionaries({}, optional={"model": st.text(), "response_id": st.text()}),
    Completed: st.fixed_dictionaries({"response": st.just(Response(texts={0: "hi"}))}),
    Failed: st.fixed_dictionaries(
        {"error": st.just(ProviderStreamError("boom")), "partial": st.just(Response())}
    ),
}


def _same(fast: BaseModel, slow: BaseModel) -> None:
    assert type(fast) is type(slow)
    assert list(fast.__dict__.items()) == list(slow.__dict__.items())
    assert fast.model_fields_set == slow.model_fields_set
    assert fast.__pydantic_extra__ == slow.__pydantic_extra__
    assert fast.__pydantic_private__ == slow.__pydantic_private__
    assert fast == slow
    assert repr(fast) == repr(slow)
    assert fast.model_dump_json() == slow.model_dump_json()


@pytest.mark.parametrize("cls", list(SAMPLES), ids=lambda c: c.__name__)
@given(data=st.data())
def test_fast_construct_equals_pydantic(cls: type[BaseModel], data: st.DataObject) -> None:
    values = data.draw(SAMPLES[cls])
    _same(cls.model_construct(**values), _pydantic_construct(cls, **values))


def test_unknown_and_missing_fields_fall_back_to_pydantic() -> None:
    # pydantic drops unknown fields (extra="forbid" is not checked) and leaves missing ones out.
    _same(
        TextDelta.model_construct(text="a", bogus=1),
        _pydantic_construct(TextDelta, text="a", bogus=1),
    )
    _same(TextDelta.model_construct(source="s"), _pydantic_construct(TextDelta, source="s"))
    _same(
        TextDelta.model_construct({"text"}, text="a"),
        _pydantic_construct(TextDelta, {"text"}, text="a"),
    )


def test_constructed_events_stay_frozen_and_copyable() -> None:
    event = TextDelta.model_construct(text="a", source="s")
    with pytest.raises(ValueError):
        event.text = "b"  # type: ignore[misc]
    copy = event.model_copy(update={"source": "t"})
    assert (copy.text, copy.source, event.source) == ("a", "t", "s")
