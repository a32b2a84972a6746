"""The pure parts of recall: safe full-text queries, rank fusion, brute-force cosine.

Any text a user or an agent types becomes an FTS5 expression made only of quoted
terms joined by OR, so operators (`AND`, `NEAR`, `*`, `-`, `:`, parentheses,
quotes) are words, never syntax, and no query can raise an FTS5 error. A word
with inner punctuation (`ERR_CONN_4471`, `foo-bar`, `src/app.py`) stays one
quoted phrase, so an identifier matches as a whole. A trailing `*` asks for a
prefix (`deploy*`). OR, not the whole query as one phrase, lets a multi-word
query find memories that hold some of its words; BM25 ranks those that hold more
of them, and rarer ones, first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

RRF_K = 60  # the constant of reciprocal rank fusion (Cormack et al.): 1 / (k + rank)
MAX_TERMS = 32

_WORD = re.compile(r"\w", re.UNICODE)
_EDGE_PUNCT = re.compile(r"^[^\w]+|[^\w*]+$", re.UNICODE)

# Words too common to say anything about which memory is meant: they would turn
# nearly every memory into a keyword match, and rank fusion ignores how weak it is.
STOPWORDS = frozenset(
    """
a an and are as at be but by can could did do does for from had has have how i if in
into is it its me my no not of on or our should so that the their them then there these
they this to was we were what when where which who why will with would you your
""".split()
)


def fts_query(text: str) -> str | None:
    """An FTS5 MATCH expression for `text`, or None if it holds no searchable word."""
    return " OR ".join(fts_terms(text)) or None


def fts_terms(text: str) -> list[str]:
    """The quoted FTS5 terms of `text` (each a valid MATCH expression on its own)."""
    terms: list[str] = []
    seen: set[tuple[str, bool]] = set()
    for chunk in text.split():
        chunk = _EDGE_PUNCT.sub("", chunk)
        prefix = chunk.endswith("*")
        chunk = chunk.rstrip("*")
        if not _WORD.search(chunk):
            continue
        key = chunk.casefold()
        if (key in STOPWORDS and not prefix) or (key, prefix) in seen:
            continue
        seen.add((key, prefix))
        terms.append('"' + chunk.replace('"', '""') + '"' + (" *" if prefix else ""))
    if not terms:
        # Only stopwords: search for them after all rather than for nothing.
        words = [w for w in (_EDGE_PUNCT.sub("", c).rstrip("*") for c in text.split()) if _WORD.search(w)]
        terms = ['"' + w.replace('"', '""') + '"' for w in dict.fromkeys(words)]
    return terms[:MAX_TERMS]


def fuse(rankings: dict[str, Sequence[int]], k: int = RRF_K) -> list[tuple[int, float, dict[str, int]]]:
    """Reciprocal rank fusion: each id scores the sum of 1/(k + rank) over the rankings
    that hold it. Returns (id, score, {ranking name: 1-based rank}), best first.

    Equal scores go to the id found by more rankings, then by the ranking named
    first: recall names keyword first, because an exact word (an identifier, an
    error code) is stronger evidence than a vector's neighbourhood of look-alikes.
    """
    scores: dict[int, float] = {}
    ranks: dict[int, dict[str, int]] = {}
    for name, ids in rankings.items():
        for rank, item in enumerate(ids, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
            ranks.setdefault(item, {})[name] = rank
    order_of = {name: n for n, name in enumerate(rankings)}
    order = sorted(
        scores,
        key=lambda i: (-scores[i], -len(ranks[i]), min(order_of[r] for r in ranks[i]), min(ranks[i].values()), i),
    )
    return [(i, scores[i], ranks[i]) for i in order]


def nearest(query: np.ndarray, matrix: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Brute-force cosine over unit rows: (row indices, similarities), best first."""
    import numpy as np

    if matrix.shape[0] == 0 or k <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    sims = matrix @ query
    k = min(k, sims.shape[0])
    top = np.argpartition(-sims, k - 1)[:k]
    top = top[np.argsort(-sims[top], kind="stable")]
    return top, sims[top]


def estimate_tokens(text: str) -> int:
    """A model-independent token estimate: about four characters a token, rounded up."""
    return (len(text) + 3) // 4
