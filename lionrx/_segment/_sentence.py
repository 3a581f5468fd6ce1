"""Incremental sentence segmentation: text in any split → whole sentences, as soon as certain.

Pure and I/O-free: `SentenceSegmenter.feed` takes the next piece of text and returns the
sentences it completed; `close` returns the rest. Each character is examined a bounded number
of times, so the cost is linear in the total text however it is split.
"""

from __future__ import annotations

import re

__all__ = ["SentenceSegmenter"]

# Characters that may end a sentence. The CJK ones end it even without a following space.
_WESTERN_TERMS = ".!?\u2026\u0964\u0965\u061f\u06d4\u203c\u2047\u2048\u2049"
_CJK_TERMS = "\u3002\uff01\uff1f\uff61"
_TERMS = frozenset(_WESTERN_TERMS + _CJK_TERMS)
_CJK = frozenset(_CJK_TERMS)
# Closing quotes, brackets and inline markup that stay with the sentence they close.
_CLOSERS = frozenset("\"')]}\u201d\u2019\u00bb\u203a*_`\u300d\u300f\u3011\uff09\u3009\u300b")
_OPENERS = "\"'([{\u201c\u2018\u00ab\u2039*_`"
_SPACE = frozenset(" \t\r\f\v\u00a0\u3000")

# Where the scanner has to look: possible sentence ends and line starts.
_INTERESTING = re.compile("[" + re.escape(_WESTERN_TERMS + _CJK_TERMS) + "\n]")

# Abbreviations that are (almost) never the end of a sentence: titles before names, and Latin
# short forms that introduce what follows.
_NEVER_END = frozenset(
    """dr mr mrs ms mx prof rev hon gen col capt cpt lt sgt maj cmdr adm gov sen rep pres supt
    messrs mmes mme mlle st mt ft fr sr jr e.g i.e cf viz vs v approx ca c al eg ie esp
    dept univ assn bros""".split()
)
# Abbreviations that introduce a number ("No. 5", "Fig. 3"): no end before a digit.
_BEFORE_NUMBER = frozenset("no nos fig figs p pp vol vols ch chap sec eq eqs art op pt ex".split())
# Abbreviations that often end a sentence: an end if an upper-case word follows.
# (Everything not listed above behaves this way too; the set documents the intent.)
_MAY_END = frozenset("etc inc ltd co corp llc plc a.m p.m am pm".split())
# "U.S", "U.K", "e.g": letters separated by periods.
_DOTTED = re.compile(r"^(?:[A-Za-z]\.)+[A-Za-z]$")
# Words that start sentences far more often than they follow an initial or a dotted
# abbreviation inside one: "Plan B. Then", "the U.S. The" end; "J. K. Rowling", "U.S. Army" go on.
_STARTERS = frozenset(
    """the then this that these those there here it its i we he she they you my our his her
    their but and so yet however also now after before when while what why how who where if
    in on at as for from with once today tomorrow yesterday later meanwhile next finally
    still instead otherwise thus therefore hence besides moreover""".split()
)
_STARTER_MAX = max(map(len, _STARTERS))
_MAX_LOOKBACK = 128


class SentenceSegmenter:
    """Splits streamed text into sentences, incrementally.

    ``feed(text)`` returns the sentences completed so far; ``close()`` returns what is left.
    Joining everything returned gives back exactly the text fed. A sentence keeps its closing
    quotes and brackets and the whitespace after it, so each returned piece starts where the
    previous one ended.

    Boundaries: ``. ! ? …`` followed by whitespace and a word that does not start in lower case;
    ``。！？`` (no space needed); blank lines; the start of a markdown block on a new line (list
    item, heading, quote, table row, code fence); the line after a heading or a closing fence.
    Not boundaries: periods inside a token (``3.14``, ``v1.2.3``, ``a.b@c.io``, ``file.py``,
    URLs), abbreviations (``Dr.``, ``e.g.``, ``U.S.``), initials (``J. K.``), list numbers at a
    line start (``1. ``), anything inside a fenced code block.

    ``max_chars`` bounds every piece: an endless sentence is cut at its last space (inside a
    code fence: its last line break) before the bound, or at the bound itself.
    """

    __slots__ = (
        "max_chars",
        "_buf",
        "_i",
        "_emitted",
        "_line_start",
        "_prev",
        "_fence",
        "_blank",
        "_cut_next_line",
    )

    def __init__(self, max_chars: int | None = None) -> None:
        if max_chars is not None and max_chars < 1:
            raise ValueError("max_chars must be at least 1")
        self.max_chars = max_chars
        self._reset()

    def _reset(self) -> None:
        self._buf = ""
        self._i = 0  # scan position in _buf: everything before it is decided
        self._emitted = 0  # _buf[:_emitted] was returned, dropped at the end of feed
        self._line_start = True  # _i is at the start of a line that was not examined yet
        self._prev = "\n"  # the character just before _buf (for "at line start" checks)
        self._fence: tuple[str, int] | None = None  # (char, length) of the open code fence
        self._blank = False  # a blank line was seen since the last content
        self._cut_next_line = False  # the current line ends a block (heading, closing fence)

    def feed(self, text: str) -> list[str]:
        """Add the next piece of text; return the sentences it completed (maybe none)."""
        if not text:
            return []
        # Keep the only reference in a local so that CPython can grow the string in place
        # instead of copying the whole unfinished sentence on every chunk.
        buf = self._buf
        self._buf = ""
        buf += text
        self._buf = buf
        out: list[str] = []
        self._scan(out)
        if self.max_chars is not None:
            self._force_cuts(out)
        self._compact()
        return out

    def close(self) -> list[str]:
        """End of text: return the remainder (if any) and reset."""
        rest = self._buf[self._emitted :]
        self._reset()
        return [rest] if rest else []

    @property
    def pending(self) -> str:
        """Text fed but not yet returned."""
        return self._buf[self._emitted :]

    # -- internals -------------------------------------------------------------------------

    def _cut(self, at: int, out: list[str]) -> None:
        limit = self.max_chars
        if limit is not None:
            while at - self._emitted > limit:
                self._emit(self._bound_cut(limit), out)
        self._emit(at, out)

    def _emit(self, at: int, out: list[str]) -> None:
        if at > self._emitted:
            out.append(self._buf[self._emitted : at])
            self._emitted = at

    def _bound_cut(self, limit: int) -> int:
        """Where to cut an over-long piece: after its last space (or line break) in bounds."""
        buf = self._buf
        start = self._emitted
        end = start + limit
        at = -1
        if self._fence is not None:
            at = buf.rfind("\n", start, end)
        if at < 0:
            at = max(buf.rfind(" ", start, end), buf.rfind("\n", start, end))
        return at + 1 if at >= start else end

    def _compact(self) -> None:
        drop = min(self._emitted, self._i)
        if drop:
            self._prev = self._buf[drop - 1]
            self._buf = self._buf[drop:]
            self._i -= drop
            self._emitted -= drop

    def _scan(self, out: list[str]) -> None:
        buf = self._buf
        n = len(buf)
        while self._i < n:
            if self._line_start:
                if not self._at_line_start(out):
                    return
                continue
            i = self._i
            if self._fence is not None:
                j = buf.find("\n", i)
                if j < 0:
                    self._i = n
                    return
                self._i = j + 1
                self._line_start = True
                continue
            m = _INTERESTING.search(buf, i)
            if m is None:
                self._i = n
                return
            t = m.start()
            if buf[t] == "\n":
                self._i = t + 1
                self._line_start = True
                continue
            if not self._at_terminator(t, out):
                self._i = t
                return

    def _at_line_start(self, out: list[str]) -> bool:
        """Examine the line starting at ``_i``. False: need more text to decide."""
        buf = self._buf
        n = len(buf)
        s = self._i
        k = s
        while k < n and buf[k] in _SPACE:
            k += 1
        if k == n:
            return False
        c = buf[k]
        real_line = s > 0 or self._prev == "\n"
        if c == "\n":
            if self._fence is None:
                self._blank = True
            self._i = k + 1
            return True
        if self._fence is not None:
            fch, flen = self._fence
            if c == fch:
                r = k
                while r < n and buf[r] == fch:
                    r += 1
                if r == n:
                    return False
                if r - k >= flen:
                    e = buf.find("\n", r)
                    if e < 0:
                        return False
                    if not buf[r:e].strip():
                        self._fence = None
                        self._cut_next_line = True
            self._line_start = False
            self._i = k
            return True
        # Flags are only cleared once the line is decided: a wait below re-examines the line.
        cut = self._blank or self._cut_next_line
        heading = False
        if c in "`~" and k - s <= 3:
            r = k
            while r < n and buf[r] == c:
                r += 1
            if r == n:
                return False
            if r - k >= 3:
                self._fence = (c, r - k)
                cut = True
        elif c == "#":
            r = k
            while r < n and buf[r] == "#":
                r += 1
            if r == n:
                return False
            if r - k <= 6 and buf[r] in " \t\n":
                cut = heading = True
        elif c in "-*+":
            if k + 1 == n:
                return False
            if buf[k + 1] in " \t":
                cut = True
        elif c in ">|":
            cut = True
        elif c.isdigit():
            r = k
            while r < n and r - k < 10 and buf[r].isdigit():
                r += 1
            if r == n or (buf[r] in ".)" and r + 1 == n):
                return False
            if buf[r] in ".)" and buf[r + 1] in " \t":
                cut = True
        self._blank = False
        self._cut_next_line = heading
        if cut and real_line:
            self._cut(s, out)
        self._line_start = False
        self._i = k
        return True

    def _at_terminator(self, t: int, out: list[str]) -> bool:
        """Decide at a sentence-ending character. False: need more text to decide."""
        buf = self._buf
        n = len(buf)
        j = t
        while j < n and buf[j] in _TERMS:
            j += 1
        while j < n and buf[j] in _CLOSERS:
            j += 1
        if j == n:
            return False
        run = buf[t:j].rstrip("".join(_CLOSERS))
        cjk = run[-1] in _CJK
        c = buf[j]
        if c not in _SPACE and c != "\n":
            if cjk:
                self._cut(j, out)
            self._i = j
            return True
        w = j
        newline = -1
        while w < n and (buf[w] in _SPACE or buf[w] == "\n"):
            if buf[w] == "\n":
                newline = w
            w += 1
        if w == n:
            return False
        ends = True if cjk else self._ends_sentence(t, run, w)
        if ends is None:
            return False  # the next word decides, and it is not complete yet
        if ends:
            self._cut(newline + 1 if newline >= 0 else w, out)
        # Resume at the first line break (if any) so line starts are still examined.
        self._i = j
        return True

    def _ends_sentence(self, t: int, run: str, w: int) -> bool | None:
        """Does the ``.``/``!``/... at ``t`` end a sentence, the next word starting at ``w``?
        None: it depends on a word that is not complete yet."""
        nxt = self._buf[w]
        if nxt.islower():
            return False
        if run != ".":
            return True  # "?", "!", "...", "?!": an upper-case word after them starts anew
        buf = self._buf
        # The token cannot reach back before the sentence's start (where the buffer may begin).
        lo = max(self._emitted, t - _MAX_LOOKBACK)
        ts = t
        while ts > lo and not buf[ts - 1].isspace():
            ts -= 1
        token = buf[ts:t].lstrip(_OPENERS).rstrip("".join(_CLOSERS))
        if not token:
            return True
        low = token.lower()
        if low in _NEVER_END:
            return False
        if nxt.isdigit() and low in _BEFORE_NUMBER:
            return False
        if len(token) == 1 and token.isalpha():
            # An initial ("J. K. Rowling") or a list letter ("a. "), unless a word that starts
            # sentences follows ("Plan B. Then we go").
            if self._at_line_begin(ts):
                return False
            return self._starter_at(w)
        if _DOTTED.match(token):
            # "U.S. Army" goes on; "5 p.m. Then" and "the U.S. Then" end.
            return True if low in _MAY_END else self._starter_at(w)
        if token.isdigit() and self._at_line_begin(ts):
            return False  # a list number: "1. First"
        return True

    def _starter_at(self, w: int) -> bool | None:
        """Is the word at ``w`` a capitalised sentence starter ("Then", "The", "I")? None: the
        word may still grow. A word followed by ``.`` or ``-`` is an initial or a name part
        ("J. K.", "I-95"), not a starter."""
        buf = self._buf
        n = len(buf)
        e = w
        while e < n and e - w <= _STARTER_MAX and buf[e].isalpha():
            e += 1
        if e - w > _STARTER_MAX or e == w or not buf[w].isupper():
            return False
        if e == n:
            return None
        if buf[e] in ".-" or buf[e].isdigit():
            return False
        return buf[w:e].lower() in _STARTERS

    def _at_line_begin(self, pos: int) -> bool:
        buf = self._buf
        p = pos - 1
        while p >= 0 and buf[p] in _SPACE:
            p -= 1
        return (self._prev if p < 0 else buf[p]) == "\n"

    def _force_cuts(self, out: list[str]) -> None:
        limit = self.max_chars
        assert limit is not None
        buf = self._buf
        while len(buf) - self._emitted > limit:
            cut = self._bound_cut(limit)
            self._emit(cut, out)
            if self._i < cut:
                # The cut passed an undecided spot (a long run of spaces): resume after it.
                self._i = cut
                self._line_start = buf[cut - 1] == "\n"
