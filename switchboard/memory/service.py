"""`Memory`: the Python API of memory. The CLI is a thin skin over it.

A memory lives in one namespace (a runner's name, or `shared`). Recall is hybrid:
FTS5 BM25 over the text and a nearest-neighbour search over sentence embeddings
(sqlite-vec's `vec0`, or numpy over the stored vectors where sqlite-vec cannot
load), fused by reciprocal rank. Vectors are stored with their model and the
vector index holds one model's; after a model change, `reindex` re-embeds.
"""

from __future__ import annotations

import base64
import builtins
import hashlib
import json
import math
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from switchboard.config import Settings
from switchboard.errors import InvalidInput, NotFound
from switchboard.memory import search
from switchboard.memory.embedder import Embedder, model_id
from switchboard.memory.guard import refuse_secrets, strip_private
from switchboard.memory.models import (
    Confidence,
    Hit,
    ImportReport,
    LogEntry,
    MemoryRecord,
    MemoryType,
    MergeGroup,
    Mode,
    PruneReport,
    RecallResult,
    Relation,
    StoreResult,
    ValidateReport,
    join_tags,
    parse_confidence,
    parse_mode,
    parse_relation,
    parse_type,
)
from switchboard.memory.vectors import ANN_MIN, index_for, prune_changes
from switchboard.names import check_name, check_text
from switchboard.progress import Progress
from switchboard.store import Store, Tx, open_store
from switchboard.timefmt import iso

if TYPE_CHECKING:
    import numpy as np

    from switchboard.memory.warm import WarmEmbedder

SHARED = "shared"
DEFAULT_NAMESPACE = "default"
MAX_TAGS = 20
LOG_KEEP = 10_000  # `log` entries kept; older ones are deleted as new ones arrive
LOG_TEXT = 200  # characters of a stored memory or a query the log keeps
MAX_POOL = 10_000  # candidates per search at most, however selective the filters
COMMON_TERM_MIN_MEMORIES = 1000  # below this, every query word is searched (it is cheap)
_CONFIDENCE_ORDER = {Confidence.LOW: 0, Confidence.MEDIUM: 1, Confidence.HIGH: 2}
_TAG_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_.:/+-")


def normalise(content: str) -> str:
    """The form duplicates are detected on: NFKC, case-folded, whitespace collapsed,
    trailing sentence punctuation dropped."""
    text = " ".join(unicodedata.normalize("NFKC", content).casefold().split())
    return text.rstrip(".!;,: ")


def content_hash(content: str) -> str:
    return hashlib.sha256(normalise(content).encode("utf-8")).hexdigest()


def parse_tags(tags: str | Iterable[str] | None) -> tuple[str, ...]:
    """`a,b` or ['a', 'b'] as lower-case tags, de-duplicated, in order."""
    if tags is None:
        return ()
    items = tags.split(",") if isinstance(tags, str) else list(tags)
    out: list[str] = []
    for raw in items:
        tag = str(raw).strip().lower()
        if not tag:
            continue
        if len(tag) > 40 or not set(tag) <= _TAG_CHARS:
            raise InvalidInput(f"invalid tag {raw!r}: use up to 40 letters, digits and _ . : / + -")
        if tag not in out:
            out.append(tag)
    if len(out) > MAX_TAGS:
        raise InvalidInput(f"too many tags ({len(out)}): at most {MAX_TAGS}")
    return tuple(out)


def _higher(a: Confidence, b: Confidence) -> Confidence:
    return a if _CONFIDENCE_ORDER[a] >= _CONFIDENCE_ORDER[b] else b


def _later_expiry(a: float | None, b: float | None) -> float | None:
    """The expiry of two merged memories: none if either never expires."""
    return None if a is None or b is None else max(a, b)


def _epoch(value: Any, what: str) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        raise InvalidInput(f"{what} {value!r} is not an ISO 8601 time or epoch seconds") from None


def project_key(project: str | Path | None) -> str | None:
    """A project as memories keep it: its directory's absolute path (`.` and `~` resolved),
    so that `--project .` in the project and `--project /abs/path` elsewhere agree."""
    if project is None or project == "":
        return None
    return str(Path(str(project)).expanduser().resolve())


@dataclass(frozen=True)
class _Draft:
    """A memory checked and ready to write."""

    namespace: str
    content: str
    content_hash: str
    type: MemoryType
    tags: tuple[str, ...]
    confidence: Confidence
    source: str | None
    supersedes: int | None
    relation: Relation | None
    expires_at: float | None
    created_at: float | None = None  # these three are kept by import; None means now
    updated_at: float | None = None
    accessed_at: float | None = None
    access_count: int = 0
    event_date: float | None = None
    project: str | None = None
    ref: Any = None  # the id the memory had in an export, for remapping supersedes
    vector: Any = None  # a vector of the current model that came with it


class Memory:
    """Namespaced long-term memory with hybrid recall.

    `store` keeps a memory (a repeat merges into the first), `recall` finds the
    best ones for a query, and `context` renders them as a markdown block for an
    agent's session. Commands that do not embed never load the model.
    """

    def __init__(
        self,
        store: Store,
        settings: Settings,
        embedder: Embedder | WarmEmbedder | None = None,
        *,
        make_embedder: Callable[[], Embedder | WarmEmbedder] | None = None,
    ) -> None:
        self.db = store
        self.settings = settings
        self._embedder = embedder
        self._make_embedder = make_embedder  # called on first need: commands that never embed skip its imports
        self.model_id = embedder.model_id if embedder is not None else model_id(settings.memory_model)

    @classmethod
    def open(
        cls,
        settings: Settings | None = None,
        embedder: Embedder | WarmEmbedder | None = None,
        *,
        make_embedder: Callable[[], Embedder | WarmEmbedder] | None = None,
    ) -> Memory:
        settings = settings or Settings.load()
        return cls(open_store(settings), settings, embedder, make_embedder=make_embedder)

    @property
    def embedder(self) -> Embedder | WarmEmbedder:
        """The embedder given (or made by `make_embedder`), else the running embedding
        service's, else this process's model."""
        if self._embedder is None and self._make_embedder is not None:
            self._embedder = self._make_embedder()
        if self._embedder is None:
            from switchboard.memory import warm

            self._embedder = warm.embedder(self.settings.with_overrides(memory_model=self.model_id), start=False)
        return self._embedder

    def namespace(self, namespace: str | None = None) -> str:
        """The namespace to use: the one given, else the agent's (SWITCHBOARD_AGENT), else `default`."""
        return check_name(namespace or self.settings.agent or DEFAULT_NAMESPACE, "namespace")

    # -- storing -----------------------------------------------------------------

    def store(
        self,
        content: str,
        *,
        namespace: str | None = None,
        type: str | MemoryType = MemoryType.WORKING_SOLUTION,
        tags: str | Iterable[str] | None = None,
        confidence: str | Confidence = Confidence.MEDIUM,
        supersedes: int | None = None,
        relation: str | Relation = Relation.UPDATES,
        ttl_days: float | None = None,
        source: str | None = None,
        event_date: str | float | None = None,
        project: str | Path | None = None,
    ) -> StoreResult:
        """Keep a memory. Storing content the namespace already holds (compared after
        normalising case, spacing and final punctuation) merges tags and counts an access.
        `event_date` (ISO 8601 or epoch seconds) says when it happened; `project` (a
        directory) scopes it within the namespace, for `recall(project=...)`."""
        return self.store_many(
            [
                {
                    "content": content,
                    "namespace": namespace,
                    "type": type,
                    "tags": tags,
                    "confidence": confidence,
                    "supersedes": supersedes,
                    "relation": relation,
                    "ttl_days": ttl_days,
                    "source": source,
                    "event_date": event_date,
                    "project": project,
                }
            ]
        )[0]

    def store_many(self, items: Iterable[dict[str, Any]]) -> list[StoreResult]:
        """Store several memories (keys as `store`'s arguments) with one batched
        embedding and one transaction. All are checked before any is written."""
        now = time.time()
        drafts = [self._draft(item, now) for item in items]
        return self._write_all(drafts, now, log=True)

    def _draft(self, item: dict[str, Any], now: float) -> _Draft:
        content = strip_private(str(item.get("content") or "")).strip()
        check_text(content, "content (after removing <private> passages)", self.settings.max_payload_bytes)
        refuse_secrets(content)
        tags = parse_tags(item.get("tags"))
        source = str(item.get("source") or "").strip()[:200] or None
        if source is not None:
            refuse_secrets(source, "source")
        ttl = item.get("ttl_days")
        if ttl is not None and not (isinstance(ttl, (int, float)) and ttl > 0 and math.isfinite(ttl)):
            raise InvalidInput("ttl-days must be a positive number of days")
        expires_at = now + ttl * 86400 if ttl is not None else _epoch(item.get("expires_at"), "expires_at")
        supersedes = item.get("supersedes")
        if supersedes is not None and (not isinstance(supersedes, int) or supersedes < 1):
            raise InvalidInput(f"supersedes must be a memory id, got {supersedes!r}")
        relation = parse_relation(item.get("relation") or Relation.UPDATES) if supersedes else None
        return _Draft(
            namespace=self.namespace(item.get("namespace")),
            content=content,
            content_hash=content_hash(content),
            type=parse_type(item.get("type") or MemoryType.WORKING_SOLUTION),
            tags=tags,
            confidence=parse_confidence(item.get("confidence") or Confidence.MEDIUM),
            source=source,
            supersedes=supersedes,
            relation=relation,
            expires_at=expires_at,
            created_at=_epoch(item.get("created_at"), "created_at"),
            updated_at=_epoch(item.get("updated_at"), "updated_at"),
            accessed_at=_epoch(item.get("accessed_at"), "accessed_at"),
            access_count=int(item.get("access_count") or 0),
            event_date=_epoch(item.get("event_date"), "event date"),
            project=project_key(item.get("project")),
            ref=item.get("id"),
            vector=item.get("vector"),
        )

    def _write_all(
        self, drafts: list[_Draft], now: float, remap: bool = False, progress: Progress | None = None, log: bool = False
    ) -> list[StoreResult]:
        """Embed what is new (not a repeat, no vector of the current model) and write all.

        With `remap`, `supersedes` holds ids from an export, mapped to the new ids as
        memories are written (in order); without it, each must name an existing memory.
        With `log`, each store is recorded for `log` (imports are not).
        """
        if not drafts:
            return []
        with self.db.transaction() as tx:
            repeats = {
                i
                for i, d in enumerate(drafts)
                if tx.one("memory.find_duplicate", {"namespace": d.namespace, "content_hash": d.content_hash})
            }
        todo = [i for i, d in enumerate(drafts) if i not in repeats and d.vector is None]
        vectors: dict[int, Any] = {i: d.vector for i, d in enumerate(drafts) if d.vector is not None}
        pending = False
        if todo:
            # A warm model embeds now; otherwise the text is committed at once and the
            # vector follows (the embedding service fills pending vectors in).
            embedded = self._embed_batches([drafts[i].content for i in todo], progress)
            if embedded is None:
                pending = True
            else:
                vectors.update(zip(todo, embedded))
        id_map: dict[Any, int] = {}
        results: list[StoreResult] = []
        with self.db.transaction(write=True) as tx:
            for i, draft in enumerate(drafts):
                if remap:
                    draft = replace(draft, supersedes=id_map.get(draft.supersedes))
                elif draft.supersedes is not None:
                    self._check_supersedes(tx, draft)
                result = self._write(tx, draft, vectors.get(i), now)
                if log:
                    self._log(
                        tx,
                        "merge" if result.merged else "store",
                        draft.namespace,
                        draft.content,
                        memory_id=result.memory.id,
                    )
                if draft.ref is not None:
                    id_map[draft.ref] = result.memory.id
                results.append(result)
        if pending:
            self.embedder.fill_later(self.settings.database_url)
        return results

    def _embed_batches(self, texts: list[str], progress: Progress | None) -> np.ndarray | None:
        """`embed_now` in batches, so a long import shows progress; None: stored pending."""
        if progress is None or len(texts) <= 256:
            return self.embedder.embed_now(texts)
        import numpy as np

        progress.total(len(texts))
        parts = []
        for start in range(0, len(texts), 256):
            part = self.embedder.embed_now(texts[start : start + 256])
            if part is None:
                return None
            parts.append(part)
            progress.advance(len(part))
        return np.vstack(parts)

    def _check_supersedes(self, tx: Tx, draft: _Draft) -> None:
        older = tx.one("memory.get", {"id": draft.supersedes})
        if older is None:
            raise NotFound(f"no memory with id {draft.supersedes} to supersede")
        if older["namespace"] != draft.namespace:
            raise InvalidInput(
                f"memory {draft.supersedes} is in namespace {older['namespace']!r}, not "
                f"{draft.namespace!r}: a memory can only supersede one of its own namespace"
            )

    def _write(self, tx: Tx, draft: _Draft, vector: Any, now: float) -> StoreResult:
        key = {"namespace": draft.namespace, "content_hash": draft.content_hash}
        existing = tx.one("memory.find_duplicate", key)
        # The insert guards against a concurrent writer (PostgreSQL) all the same.
        row = (
            None
            if existing is not None
            else tx.one(
                "memory.insert",
                {
                    "namespace": draft.namespace,
                    "content": draft.content,
                    "content_hash": draft.content_hash,
                    "type": draft.type.value,
                    "tags": join_tags(draft.tags),
                    "confidence": draft.confidence.value,
                    "source": draft.source,
                    "supersedes": draft.supersedes,
                    "relation": draft.relation.value if draft.relation and draft.supersedes else None,
                    "access_count": draft.access_count,
                    "created_at": draft.created_at or now,
                    "updated_at": draft.updated_at or draft.created_at or now,
                    "accessed_at": draft.accessed_at,
                    "expires_at": draft.expires_at,
                    "event_date": draft.event_date,
                    "project": draft.project,
                },
            )
        )
        if row is None:  # the namespace holds this content already
            kept = MemoryRecord.from_row(existing or tx.row("memory.find_duplicate", key))
            merged = self._merge(
                tx, kept, draft.tags, max(1, draft.access_count), draft.confidence, draft.expires_at, now
            )
            return StoreResult(merged, merged=True)
        memory = MemoryRecord.from_row(row)
        if vector is not None:
            tx.execute(
                "memory.vector_upsert",
                {
                    "id": memory.id,
                    "model": self.model_id,
                    "dim": int(vector.shape[0]),
                    "embedding": self._vector_param(vector),
                },
            )
        return StoreResult(memory, merged=False)

    def _merge(
        self,
        tx: Tx,
        keep: MemoryRecord,
        tags: Iterable[str],
        accesses: int,
        confidence: Confidence,
        expires_at: float | None,
        now: float,
    ) -> MemoryRecord:
        """Fold other copies into `keep`: their tags, accesses, confidence and expiry."""
        all_tags = tuple(dict.fromkeys([*keep.tags, *tags]))[: MAX_TAGS * 2]
        return MemoryRecord.from_row(
            tx.row(
                "memory.merge",
                {
                    "id": keep.id,
                    "tags": join_tags(all_tags),
                    "accesses": accesses,
                    "confidence": _higher(keep.confidence, confidence).value,
                    "expires_at": expires_at,
                    "now": now,
                },
            )
        )

    # -- vectors and the vector index ---------------------------------------------

    def _vector_param(self, vector: np.ndarray) -> Any:
        return self.db.connector.encode_vector(vector)

    def _vector_value(self, value: Any) -> np.ndarray:
        vector: np.ndarray = self.db.connector.decode_vector(value)
        return vector

    def _pgvector(self, tx: Tx, query: str, dim: int, params: dict[str, Any]) -> list[dict[str, Any]]:
        """A pgvector query written for one dimension ({dim}), which HNSW indexes need."""
        sql = self.db.sql(query).replace("{dim}", str(int(dim)))
        return list(self.db.connection().execute(sql, params).fetchall())

    def fill_pending(self, batch_size: int = 64, progress: Progress | None = None) -> int:
        """Embed the memories stored with no vector yet; returns how many got one."""
        filled = 0
        after = 0
        while True:
            with self.db.transaction() as tx:
                rows = tx.all("memory.pending", {"after": after, "limit": batch_size})
                total = tx.scalar("memory.pending_count", {"namespace": None}) if progress and not after else None
            if total is not None and progress:
                progress.total(total)
            if not rows:
                if self.db.connector.vector_index_table:
                    prune_changes(self.db)  # the log only has to reach back as far as live indexes
                return filled
            vectors = self.embedder.embed([r["content"] for r in rows])
            with self.db.transaction(write=True) as tx:
                for row, vector in zip(rows, vectors):
                    tx.execute(
                        "memory.vector_fill",
                        {
                            "id": row["id"],
                            "model": self.model_id,
                            "dim": int(vector.shape[0]),
                            "embedding": self._vector_param(vector),
                        },
                    )
            filled += len(rows)
            after = rows[-1]["id"]
            if progress:
                progress.advance(len(rows))

    # -- recall ----------------------------------------------------------------------

    def recall(
        self,
        query: str,
        *,
        namespace: str | None = None,
        shared: bool = False,
        limit: int = 5,
        type: str | MemoryType | None = None,
        tags: str | Iterable[str] | None = None,
        max_age_days: float | None = None,
        mode: str | Mode = Mode.HYBRID,
        touch: bool = True,
        project: str | Path | None = None,
    ) -> RecallResult:
        """The memories that best match `query`, best first.

        `hybrid` fuses a keyword (BM25) and a semantic (cosine) ranking by reciprocal
        rank; each hit tells its score and which search found it. Expired memories
        and those replaced by an `updates` supersede are never returned. With
        `shared`, the shared namespace is searched too. `touch` counts the access.
        `project` keeps only the memories stored for that project directory.
        """
        text = (query or "").strip()
        if not text:
            raise InvalidInput("query is empty: give the text to search for")
        if limit < 1:
            raise InvalidInput("limit must be at least 1")
        if max_age_days is not None and max_age_days <= 0:
            raise InvalidInput("max-age-days must be a positive number of days")
        how = parse_mode(mode)
        ns = self.namespace(namespace)
        shared_ns = SHARED if shared and ns != SHARED else None
        namespaces = (ns,) if shared_ns is None else (ns, shared_ns)
        now = time.time()
        filters = {
            "now": now,
            "type": parse_type(type).value if type is not None else None,
            "tags": json.dumps(list(parse_tags(tags))),
            "since": now - max_age_days * 86400 if max_age_days is not None else None,
            "project": project_key(project),
        }
        scope = {"namespace": ns, "shared": shared_ns}
        with self.db.transaction() as tx:
            searchable = tx.scalar("memory.any_in", scope)
        if not searchable:  # nothing to search: no model load
            with self.db.transaction(write=True) as tx:
                self._log(tx, "recall", ns, text, hits=0)
            return RecallResult(text, how, namespaces, [], [])
        match = self._keyword_match(text) if how is not Mode.SEMANTIC else None
        semantic_on = how is not Mode.KEYWORD
        remote = self._remote_search if semantic_on and self.db.connector.vector_index_table else None
        query_vector = None if remote is not None or not semantic_on else self.embedder.embed_one(text)
        pool = max(4 * limit, 20)
        while True:
            with self.db.transaction() as tx:
                keyword = (
                    [r["id"] for r in tx.all("memory.search_keyword", {**scope, "match": match, "k": pool})]
                    if match
                    else []
                )
                semantic = [] if not semantic_on else self._semantic(tx, text, query_vector, namespaces, pool)
                candidates = {*keyword, *(i for i, _ in semantic)}
                visible = {
                    r["id"]: MemoryRecord.from_row(r)
                    for r in tx.all("memory.visible", {**filters, "ids": json.dumps(sorted(candidates))})
                }
            exhausted = len(keyword) < pool and len(semantic) < pool
            if len(visible) >= limit or exhausted or pool >= MAX_POOL:
                break
            pool = min(pool * 4, MAX_POOL)  # filters hid too many: look deeper
        similarity = dict(semantic)
        floor = self.settings.memory_min_similarity
        rankings: dict[str, Sequence[int]] = {
            "keyword": [i for i in keyword if i in visible],
            "semantic": [i for i, s in semantic if i in visible and s >= floor],
        }
        hits = [
            Hit(
                visible[i],
                score,
                tuple(name for name in ("keyword", "semantic") if name in ranks),
                ranks.get("keyword"),
                ranks.get("semantic"),
                similarity.get(i),
            )
            for i, score, ranks in search.fuse(rankings)[:limit]
        ]
        with self.db.transaction(write=True) as tx:
            if touch and hits:
                tx.execute("memory.touch", {"ids": json.dumps([h.memory.id for h in hits]), "now": now})
            self._log(tx, "recall", ns, text, hits=len(hits))
        warnings = self._stale_warning(ns, shared_ns) if semantic_on else []
        return RecallResult(text, how, namespaces, hits, warnings)

    def _keyword_match(self, text: str) -> str | None:
        """The FTS5 expression for a query, without words found in over half of all
        memories once the store is large: BM25 gives such a word no weight (FTS5 floors
        its IDF), so it would only drag in, and score, memories that share nothing
        else. The top results stay the same; the search gets cheaper."""
        terms = search.fts_terms(text)
        if len(terms) > 1:
            with self.db.transaction() as tx:
                total = tx.scalar("memory.count_all")
                if total >= COMMON_TERM_MIN_MEMORIES:
                    rare = [t for t in terms if 2 * tx.scalar("memory.term_count", {"match": t}) <= total]
                    terms = rare or terms
        return " OR ".join(terms) or None

    @property
    def _remote_search(self) -> Any:
        """The embedding service's search (it holds the model and a warm index), if one serves us."""
        return getattr(self.embedder, "search", None)

    def _semantic(
        self, tx: Tx, text: str, vector: np.ndarray | None, namespaces: tuple[str, ...], k: int
    ) -> list[tuple[int, float]]:
        """(id, cosine similarity) of the k nearest memories, nearest first."""
        if vector is None:  # SQLite with a warm service: it embeds and searches in one call
            found: list[tuple[int, float]] | None = self._remote_search(self.settings.database_url, text, namespaces, k)
            if found is not None:
                return found
            vector = self.embedder.embed_one(text)  # the service went away: do it here
        if self.db.connector.vector_index_table:
            return index_for(self.db, self.model_id).search(tx, vector, namespaces, k)
        tx.one("memory.semantic_settings")
        rows = self._pgvector(
            tx,
            "memory.search_semantic",
            int(vector.shape[0]),
            {
                "namespace": namespaces[0],
                "shared": namespaces[-1] if len(namespaces) > 1 else None,
                "embedding": self._vector_param(vector),
                "k": k,
                "model": self.model_id,
            },
        )
        return [(r["id"], 1.0 - float(r["distance"])) for r in rows]

    def _load_vectors(self, tx: Tx, scope: dict[str, Any]) -> tuple[list[int], np.ndarray]:
        import numpy as np

        rows = tx.all("memory.vectors", {**scope, "model": self.model_id})
        if not rows:
            return [], np.zeros((0, 1), dtype=np.float32)
        return [r["id"] for r in rows], np.vstack([self._vector_value(r["embedding"]) for r in rows])

    def _stale_warning(self, namespace: str | None, shared: str | None) -> list[str]:
        with self.db.transaction() as tx:
            if not tx.scalar("memory.other_model", {"model": self.model_id}):
                return []
            stale = tx.scalar("memory.stale_count", {"model": self.model_id, "namespace": namespace, "shared": shared})
        if not stale:
            return []
        return [
            f"{stale} memories have no vector from {self.model_id} and were searched by "
            "keyword only: run `switchboard memory reindex`"
        ]

    def context(
        self,
        namespace: str | None,
        query: str,
        budget_tokens: int = 1500,
        *,
        shared: bool = True,
        limit: int = 20,
    ) -> str:
        """The best memories for a task as a markdown block that fits `budget_tokens`
        (estimated at four characters a token), or "" when there is none.

        Runners put this at the top of a session. The shared namespace is included
        unless `shared=False`.
        """
        if budget_tokens < 50:
            raise InvalidInput("budget-tokens must be at least 50")
        result = self.recall(query, namespace=namespace, shared=shared, limit=limit)
        if not result.hits:
            return ""
        scope = " and ".join(f"`{n}`" for n in result.namespaces)
        lines = ["## Relevant memories", f"From switchboard memory ({scope}), most relevant first:", ""]
        used = search.estimate_tokens("\n".join(lines))
        for hit in result.hits:
            entry = _context_entry(hit.memory)
            cost = search.estimate_tokens(entry) + 1
            if used + cost > budget_tokens:
                room = (budget_tokens - used - 1) * 4
                if len(lines) > 3 or room < 80:
                    continue  # a later, shorter memory may still fit
                entry = entry[: room - 1].rstrip() + "…"  # the best one alone is too long: cut it
                cost = search.estimate_tokens(entry) + 1
            lines.append(entry)
            used += cost
        return "\n".join(lines) + "\n" if len(lines) > 3 else ""

    # -- reading -------------------------------------------------------------------

    def get(self, memory_id: int) -> MemoryRecord:
        with self.db.transaction() as tx:
            return self._get(tx, memory_id)

    def list(
        self,
        namespace: str | None = None,
        *,
        recent: int = 20,
        all_namespaces: bool = False,
        include_expired: bool = False,
    ) -> list[MemoryRecord]:
        """The most recently stored memories of a namespace (or of all), newest first."""
        if recent < 1:
            raise InvalidInput("recent must be at least 1")
        ns = None if all_namespaces else self.namespace(namespace)
        with self.db.transaction() as tx:
            rows = tx.all(
                "memory.list",
                {"namespace": ns, "limit": recent, "now": time.time(), "include_expired": include_expired},
            )
        return [MemoryRecord.from_row(r) for r in rows]

    def history(self, memory_id: int) -> builtins.list[tuple[MemoryRecord, int]]:
        """The supersede chain through a memory: (memory, depth), oldest first. Depth 0
        is the memory asked for; negative ones it superseded, positive ones supersede it."""
        with self.db.transaction() as tx:
            self._get(tx, memory_id)
            rows = tx.all("memory.chain", {"id": memory_id})
        seen: set[int] = set()
        chain = []
        for row in rows:
            if row["id"] not in seen:
                seen.add(row["id"])
                chain.append((MemoryRecord.from_row(row), int(row["depth"])))
        return chain

    def latest(self, memory_id: int) -> MemoryRecord:
        """The newest memory that (transitively) supersedes this one, or itself."""
        chain = self.history(memory_id)
        return max(chain, key=lambda pair: (pair[1], pair[0].created_at, pair[0].id))[0]

    def stats(self, namespace: str | None = None) -> dict[str, Any]:
        """Counts by namespace and type, expiry, vectors by model and the index in use."""
        ns = check_name(namespace, "namespace") if namespace else None
        now = time.time()
        with self.db.transaction() as tx:
            counts = tx.all("memory.count_by", {"namespace": ns, "now": now})
            vectors = tx.all("memory.vectors_by_model", {"namespace": ns})
            superseded = tx.scalar("memory.superseded_count", {"namespace": ns}) or 0
            pending = tx.scalar("memory.pending_count", {"namespace": ns}) or 0
        namespaces: dict[str, dict[str, Any]] = {}
        by_type: dict[str, int] = {}
        for row in counts:
            entry = namespaces.setdefault(
                row["namespace"], {"memories": 0, "expired": 0, "oldest": None, "newest": None}
            )
            entry["memories"] += row["n"]
            entry["expired"] += row["expired"] or 0
            entry["oldest"] = min(filter(None, [entry["oldest"], row["oldest"]]))
            entry["newest"] = max(filter(None, [entry["newest"], row["newest"]]))
            by_type[row["type"]] = by_type.get(row["type"], 0) + row["n"]
        for entry in namespaces.values():
            entry["oldest"], entry["newest"] = iso(entry["oldest"]), iso(entry["newest"])
        total = sum(e["memories"] for e in namespaces.values())
        current = sum(v["n"] for v in vectors if v["model"] == self.model_id)
        return {
            "database": self.db.connector.describe(),
            "memories": total,
            "expired": sum(e["expired"] for e in namespaces.values()),
            "superseded": superseded,
            "namespaces": namespaces,
            "by_type": dict(sorted(by_type.items())),
            "model": self.model_id,
            "vectors": [{"model": v["model"], "dim": v["dim"], "count": v["n"]} for v in vectors],
            "pending": pending,
            "needs_reindex": total - current - pending,
            "index": self._index_backend(),
        }

    def _index_backend(self) -> str:
        if not self.db.connector.vector_index_table:
            return "pgvector HNSW"
        return f"in memory: exact below {ANN_MIN} vectors a namespace, HNSW from there"

    # -- changing and housekeeping -----------------------------------------------------

    def forget(self, memory_ids: int | Iterable[int]) -> builtins.list[MemoryRecord]:
        """Delete memories for good. Returns what was deleted; unknown ids are an error."""
        ids = [memory_ids] if isinstance(memory_ids, int) else list(dict.fromkeys(memory_ids))
        with self.db.transaction(write=True) as tx:
            gone = [self._get(tx, i) for i in ids]
            self._delete(tx, ids)
        return gone

    def _delete(self, tx: Tx, ids: builtins.list[int]) -> None:
        if ids:
            tx.execute("memory.delete_many", {"ids": json.dumps(ids)})

    def prune(self, older_than_days: float = 90, *, namespace: str | None = None, dry_run: bool = False) -> PruneReport:
        """Delete expired memories, and those neither stored, repeated nor recalled for
        `older_than_days`. With `dry_run`, only report them."""
        if older_than_days < 0:
            raise InvalidInput("older-than-days must be zero or more")
        ns = check_name(namespace, "namespace") if namespace else None
        now = time.time()
        cutoff = now - older_than_days * 86400
        with self.db.transaction(write=not dry_run) as tx:
            rows = tx.all("memory.prunable", {"namespace": ns, "now": now, "cutoff": cutoff})
            if not dry_run:
                self._delete(tx, [r["id"] for r in rows])
        return PruneReport(
            cutoff=cutoff,
            expired=[r["id"] for r in rows if r["reason"] == "expired"],
            unused=[r["id"] for r in rows if r["reason"] == "unused"],
            deleted=not dry_run,
        )

    def consolidate(
        self,
        threshold: float = 0.95,
        *,
        namespace: str | None = None,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> builtins.list[MergeGroup]:
        """Merge near-duplicates: memories of one namespace whose vectors have cosine
        similarity >= `threshold` fold into one (the most used, then the oldest),
        which takes their tags and access counts. Memories replaced by an update are
        left alone. With `dry_run`, only report the groups."""
        if not 0 < threshold <= 1:
            raise InvalidInput("threshold must be above 0 and at most 1")
        ns = check_name(namespace, "namespace") if namespace else None
        now = time.time()
        with self.db.transaction(write=not dry_run) as tx:
            ids, matrix = self._load_vectors(tx, {"namespace": ns, "shared": None})
            records = {
                r["id"]: MemoryRecord.from_row(r)
                for r in tx.all(
                    "memory.visible",
                    {"ids": json.dumps(ids), "now": now, "type": None, "since": None, "tags": "[]", "project": None},
                )
            }
            keep_rows = [n for n, i in enumerate(ids) if i in records]
            groups = _near_duplicates(
                [ids[n] for n in keep_rows],
                matrix[keep_rows] if keep_rows else matrix,
                [records[ids[n]].namespace for n in keep_rows],
                threshold,
                progress,
            )
            merges = []
            for members, similarity in groups:
                group = sorted((records[i] for i in members), key=lambda m: (-m.access_count, m.created_at, m.id))
                keep, others = group[0], group[1:]
                merges.append(MergeGroup(keep.namespace, keep.id, [m.id for m in others], similarity))
                if not dry_run:
                    self._fold(tx, keep, others, now)
        return merges

    def _fold(self, tx: Tx, keep: MemoryRecord, others: builtins.list[MemoryRecord], now: float) -> None:
        """Merge `others` into `keep` and delete them; what superseded them supersedes `keep`."""
        expires = keep.expires_at
        confidence = keep.confidence
        for other in others:
            expires = _later_expiry(expires, other.expires_at)
            confidence = _higher(confidence, other.confidence)
        # Each folded memory counts as one more store of the survivor, plus its own accesses.
        self._merge(
            tx,
            keep,
            [t for o in others for t in o.tags],
            sum(o.access_count + 1 for o in others),
            confidence,
            expires,
            now,
        )
        ids = [o.id for o in others]
        tx.execute("memory.repoint_supersedes", {"ids": json.dumps(ids), "keep": keep.id})
        self._delete(tx, ids)

    def reindex(
        self, *, all_memories: bool = False, batch_size: int = 256, progress: Progress | None = None
    ) -> dict[str, Any]:
        """Embed every memory that has no vector from the current model (every memory,
        with `all_memories`). On PostgreSQL, also make sure the model's dimension has
        its HNSW index; on SQLite each process's index catches up by itself."""
        embedded = 0
        after = 0
        model = self.model_id
        with self.db.transaction() as tx:
            total = (
                tx.scalar("memory.count_all")
                if all_memories
                else tx.scalar("memory.stale_count", {"model": model, "namespace": None, "shared": None})
            )
        if progress:
            progress.total(total or 0)
        while True:
            with self.db.transaction() as tx:
                rows = tx.all(
                    "memory.stale", {"model": "" if all_memories else model, "after": after, "limit": batch_size}
                )
            if not rows:
                break
            embedded_rows = self.embedder.embed([r["content"] for r in rows])
            with self.db.transaction(write=True) as tx:
                for row, vector in zip(rows, embedded_rows):
                    tx.execute(
                        "memory.vector_upsert",
                        {
                            "id": row["id"],
                            "model": model,
                            "dim": int(vector.shape[0]),
                            "embedding": self._vector_param(vector),
                        },
                    )
            embedded += len(rows)
            after = rows[-1]["id"]
            if progress:
                progress.advance(len(rows))
        if not self.db.connector.vector_index_table:
            self.ensure_vector_indexes()
        return {"model": model, "embedded": embedded, "index": self._index_backend()}

    def ensure_vector_indexes(self) -> builtins.list[int]:
        """PostgreSQL: give each dimension of the model's vectors its HNSW index (an
        HNSW index needs a fixed dimension). Returns the dimensions seen."""
        with self.db.transaction(write=True) as tx:
            dims = sorted(
                {
                    r["dim"]
                    for r in tx.all("memory.vectors_by_model", {"namespace": None})
                    if r["model"] == self.model_id
                }
            )
            for dim in dims:
                ddl = self.db.sql("memory.vector_index_create").replace("{dim}", str(int(dim)))
                self.db.connector.run_script(self.db.connection(), ddl)
        return dims

    # -- the log and integrity ---------------------------------------------------------

    def _log(
        self, tx: Tx, action: str, namespace: str, text: str, *, memory_id: int | None = None, hits: int | None = None
    ) -> None:
        """Record a store or recall for `log`: one insert, and a trim that keeps it bounded."""
        row = tx.row(
            "memory.log_add",
            {
                "at": time.time(),
                "action": action,
                "namespace": namespace,
                "agent": self.settings.agent,
                "text": text.replace("\x00", "")[:LOG_TEXT],  # PostgreSQL text holds no NUL
                "memory_id": memory_id,
                "hits": hits,
            },
        )
        if row["id"] > LOG_KEEP:
            tx.execute("memory.log_trim", {"id": row["id"], "keep": LOG_KEEP})

    def log(self, limit: int = 20, *, namespace: str | None = None) -> builtins.list[LogEntry]:
        """The latest stores, merges and recalls (of one namespace, or all), newest first."""
        if limit < 1:
            raise InvalidInput("limit must be at least 1")
        ns = check_name(namespace, "namespace") if namespace else None
        with self.db.transaction() as tx:
            rows = tx.all("memory.log_recent", {"namespace": ns, "limit": limit})
        return [LogEntry.from_row(r) for r in rows]

    def validate(self, *, repair: bool = False) -> ValidateReport:
        """Check that the full-text index, the vectors and the vector index agree with the
        memories; with `repair`, fix what can be fixed (see memory/integrity.py)."""
        from switchboard.memory import integrity

        return integrity.validate(integrity.Target(self.db, self.model_id, self.ensure_vector_indexes), repair)

    # -- namespaces ------------------------------------------------------------------------

    def namespaces(self) -> builtins.list[dict[str, Any]]:
        with self.db.transaction() as tx:
            rows = tx.all("memory.namespaces")
        return [{"namespace": r["namespace"], "memories": r["memories"], "latest": iso(r["latest"])} for r in rows]

    def rename_namespace(self, old: str, new: str) -> dict[str, int]:
        """Move every memory of `old` to `new`; content `new` already holds merges."""
        check_name(old, "namespace")
        check_name(new, "namespace")
        if old == new:
            raise InvalidInput("the new namespace name is the old one")
        now = time.time()
        with self.db.transaction(write=True) as tx:
            ids = [r["id"] for r in tx.all("memory.namespace_ids", {"namespace": old})]
            if not ids:
                raise NotFound(f"no memories in namespace {old!r}")
            clashes = tx.all("memory.rename_clashes", {"old": old, "new": new})
            for clash in clashes:
                self._fold(tx, self._get(tx, clash["new_id"]), [self._get(tx, clash["old_id"])], now)
            tx.execute("memory.rename", {"old": old, "new": new, "now": now})
        return {"moved": len(ids) - len(clashes), "merged": len(clashes)}

    def delete_namespace(self, namespace: str, *, dry_run: bool = False) -> int:
        """Delete every memory of a namespace; returns how many (that would be, with `dry_run`)."""
        check_name(namespace, "namespace")
        with self.db.transaction(write=not dry_run) as tx:
            ids = [r["id"] for r in tx.all("memory.namespace_ids", {"namespace": namespace})]
            if not dry_run:
                self._delete(tx, ids)
        return len(ids)

    def prune_namespaces(self, owners: Iterable[str], *, dry_run: bool = True) -> dict[str, int]:
        """Delete the namespaces no one owns any more (a destroyed runner's, a deregistered
        agent's): every namespace but `owners`, `shared` and `default`. Returns each one's
        memory count (that would go, with `dry_run`)."""
        keep = set(owners) | {SHARED, DEFAULT_NAMESPACE}
        orphans = {r["namespace"]: r["memories"] for r in self.namespaces() if r["namespace"] not in keep}
        for namespace in orphans if not dry_run else ():
            self.delete_namespace(namespace)
        return orphans

    # -- export and import -------------------------------------------------------------------

    def export(self, namespace: str | None = None, *, vectors: bool = False) -> Iterator[dict[str, Any]]:
        """Every memory (of one namespace, or all) as a dict; with `vectors`, also its
        vector (base64 float32) and model, so an import with that model needs no embedding."""
        ns = check_name(namespace, "namespace") if namespace else None
        with self.db.transaction() as tx:
            rows = tx.all("memory.export", {"namespace": ns})
        for row in rows:
            data = MemoryRecord.from_row(row).to_dict()
            if vectors and row["embedding"] is not None:
                raw = self._vector_value(row["embedding"]).astype("<f4").tobytes()
                data["model"] = row["model"]
                data["embedding"] = base64.b64encode(raw).decode("ascii")
            yield data

    def import_records(
        self, records: Iterable[dict[str, Any]], *, namespace: str | None = None, progress: Progress | None = None
    ) -> ImportReport:
        """Store exported memories, keeping their times, counts and supersede links (ids
        are new). A record that is invalid or holds a secret is skipped and reported;
        content a namespace already holds merges."""
        now = time.time()
        drafts: list[_Draft] = []
        skipped: list[dict[str, Any]] = []
        for n, record in enumerate(records, start=1):
            try:
                if not isinstance(record, dict):
                    raise InvalidInput("not an object")
                item = {
                    k: record.get(k)
                    for k in (
                        "content",
                        "type",
                        "tags",
                        "confidence",
                        "source",
                        "supersedes",
                        "relation",
                        "expires_at",
                        "created_at",
                        "updated_at",
                        "accessed_at",
                        "access_count",
                        "id",
                    )
                }
                item["namespace"] = namespace or record.get("namespace")
                item["vector"] = self._imported_vector(record)
                drafts.append(self._draft(item, now))
            except (InvalidInput, NotFound, ValueError, TypeError) as exc:
                skipped.append(
                    {"record": n, "id": record.get("id") if isinstance(record, dict) else None, "reason": str(exc)}
                )
        results = self._write_all(drafts, now, remap=True, progress=progress)
        merged = sum(r.merged for r in results)
        return ImportReport(imported=len(results) - merged, merged=merged, skipped=skipped)

    def _imported_vector(self, record: dict[str, Any]) -> Any:
        if record.get("model") != self.model_id or not record.get("embedding"):
            return None
        import numpy as np

        vector = np.frombuffer(base64.b64decode(record["embedding"]), dtype="<f4")
        return vector if vector.size and np.isfinite(vector).all() else None

    # -- helpers ---------------------------------------------------------------------------------

    def _get(self, tx: Tx, memory_id: int) -> MemoryRecord:
        row = tx.one("memory.get", {"id": memory_id})
        if row is None:
            raise NotFound(f"no memory with id {memory_id}")
        return MemoryRecord.from_row(row)


def _context_entry(memory: MemoryRecord) -> str:
    meta = [f"#{memory.id}", memory.type.value, (iso(memory.created_at) or "")[:10]]
    if memory.tags:
        meta.append("tags: " + ", ".join(memory.tags))
    body = "\n  ".join(memory.content.splitlines())
    return f"- {body} ({'; '.join(meta)})"


def _near_duplicates(
    ids: list[int], matrix: np.ndarray, namespaces: list[str], threshold: float, progress: Progress | None = None
) -> list[tuple[list[int], float]]:
    """Groups of ids (per namespace) linked by cosine >= threshold, with each group's
    lowest linking similarity. Compares in blocks, so memory stays bounded."""
    import numpy as np

    parent = list(range(len(ids)))
    low: dict[int, float] = {}

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    by_namespace: dict[str, list[int]] = {}
    for n, ns in enumerate(namespaces):
        by_namespace.setdefault(ns, []).append(n)
    if progress:
        progress.total(len(ids))
    for rows in by_namespace.values():
        sub = matrix[rows]
        for start in range(0, len(rows), 1024):
            if progress:
                progress.advance(min(1024, len(rows) - start))
            sims = sub[start : start + 1024] @ sub.T
            for a, b in zip(*np.nonzero(sims >= threshold)):
                i, j = rows[start + a], rows[b]
                if i < j:
                    ri, rj = root(i), root(j)
                    if ri != rj:
                        parent[rj] = ri
                        low[ri] = min(low.get(ri, 1.0), low.pop(rj, 1.0), float(sims[a, b]))
    groups: dict[int, list[int]] = {}
    for n in range(len(ids)):
        groups.setdefault(root(n), []).append(ids[n])
    return [(members, low.get(r, 1.0)) for r, members in groups.items() if len(members) > 1]


def parse_export(text: str) -> list[Any]:
    """Records from an export: a JSON array, an object with `memories`, or JSON lines."""
    stripped = text.strip()
    if not stripped:
        return []
    try:
        data = json.loads(stripped)
    except json.JSONDecodeError:
        data = None
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        return data["memories"] if isinstance(data.get("memories"), list) else [data]
    records = []
    for n, line in enumerate(stripped.splitlines(), start=1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise InvalidInput(f"line {n} is not JSON: {exc.msg}") from None
    return records


def dump_export(records: Iterable[dict[str, Any]], format: str = "json") -> Iterator[str]:
    """An export as text, in pieces: a JSON array, or JSON lines."""
    if format not in ("json", "jsonl"):
        raise InvalidInput(f"unknown export format {format!r}: use json or jsonl")
    if format == "jsonl":
        for record in records:
            yield json.dumps(record, ensure_ascii=False) + "\n"
        return
    first = True
    for record in records:
        yield ("[\n  " if first else ",\n  ") + json.dumps(record, ensure_ascii=False)
        first = False
    yield "[]\n" if first else "\n]\n"


__all__ = [
    "DEFAULT_NAMESPACE",
    "SHARED",
    "Memory",
    "content_hash",
    "dump_export",
    "normalise",
    "parse_export",
    "parse_tags",
]
