"""Property-test your own operator with ``lionrx.testing``.

``paragraphs()`` is a custom operator that re-chunks a text stream into paragraphs (split after
each blank line). The stream laws check it under hypothesis — random texts, random chunkings —
for being lossless, keeping order, never emitting empty chunks, flushing on completion and on
error, and keeping exactly one outcome. A variant with the classic bug (it forgets to flush the
last paragraph when the stream ends) is caught by the same laws.
"""

from __future__ import annotations

from collections.abc import Callable

from reactivex import Observable, abc

from lionrx.testing import assert_stream_laws


def paragraphs(flush_at_end: bool = True) -> Callable[[Observable[str]], Observable[str]]:
    """Re-chunk ``str`` chunks into paragraphs; the remainder is emitted when the stream ends."""

    def operator(source: Observable[str]) -> Observable[str]:
        def subscribe(
            observer: abc.ObserverBase[str], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            pending: list[str] = []

            def on_next(chunk: str) -> None:
                pending.append(chunk)
                text = "".join(pending)
                cut = text.rfind("\n\n")
                if cut >= 0:
                    pending[:] = [text[cut + 2 :]] if text[cut + 2 :] else []
                    observer.on_next(text[: cut + 2])

            def flush() -> None:
                rest = "".join(pending)
                pending.clear()
                if rest and flush_at_end:
                    observer.on_next(rest)

            def on_error(error: Exception) -> None:
                flush()
                observer.on_error(error)

            def on_completed() -> None:
                flush()
                observer.on_completed()

            return source.subscribe(on_next, on_error, on_completed, scheduler=scheduler)

        return Observable(subscribe)

    return operator


def main() -> None:
    assert_stream_laws(lambda scheduler: paragraphs(), shapes=("text",), max_examples=60)
    print("paragraphs(): all stream laws hold")
    try:
        assert_stream_laws(
            lambda scheduler: paragraphs(flush_at_end=False), shapes=("text",), max_examples=60
        )
    except AssertionError as e:
        print(f"paragraphs(flush_at_end=False): caught by the laws: {str(e).splitlines()[0][:90]}")
    else:
        raise SystemExit("the broken operator passed the laws, which it must not")


if __name__ == "__main__":
    main()
