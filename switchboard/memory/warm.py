"""The warm path: one process keeps the embedding model loaded and embeds for the others.

Loading the model costs seconds per process; a query then takes milliseconds. The
embedding service (`embedservice.py`, started on demand) serves it on a Unix socket
in the home (`HOME/embed.sock`, mode 0600, and only peers of the same user are
answered). `embedder(settings)` — what the memory CLI, the MCP server and `runner
run` use — asks that socket, starts the service when none answers, and loads the
model in-process only when the service cannot be had. Asking the socket imports
neither torch nor sentence-transformers.

The protocol is one JSON object per line, each way, any number per connection:

    {"op": "embed", "model": ID, "texts": [...]}  -> {"ok": true, "model": ID, "dim": 384, "vectors": BASE64}
    {"op": "search", "model": ID, "database": URL, "text": T, "namespaces": [...], "k": N}
                                                  -> {"ok": true, "hits": [[id, similarity], ...]}
    {"op": "fill", "database": URL}               -> {"ok": true}: embed that database's pending memories
        with "wait": true, a warm service embeds them first -> {"ok": true, "filled": N}
    {"op": "info"}                                -> {"ok": true, "model": ID, "loaded": bool, "pid": N, ...}
    anything wrong                                -> {"ok": false, "error": "..."}

`vectors` holds len(texts) x dim little-endian float32 values, row after row.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import socket
import socketserver
import struct
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from switchboard.config import Settings
from switchboard.memory.embedder import Embedder, get_embedder, model_id

if TYPE_CHECKING:
    import numpy as np

SOCKET_FILE = "embed.sock"
CONNECT_TIMEOUT = 1.0
ANSWER_TIMEOUT = 60.0  # a model still loading in the service answers within this, even on a busy machine
MAX_LINE = 64 * 1024 * 1024
_MAX_SOCKET_PATH = 100  # sun_path is 108 bytes on Linux, 104 on macOS

log = logging.getLogger("switchboard.memory.warm")
_serving: set[str] = set()  # models this process serves: it embeds them itself


class WarmUnavailable(Exception):
    """No warm server answered as it should."""


def socket_path(settings: Settings) -> Path:
    return settings.home / SOCKET_FILE


@contextlib.contextmanager
def _address(path: Path) -> Iterator[str]:
    """`path` as an address `bind`/`connect` accept. A path too long for `sun_path` goes
    through a descriptor of its directory (`/proc/self/fd/N/name`, Linux)."""
    if len(os.fsencode(str(path))) <= _MAX_SOCKET_PATH or not Path("/proc/self/fd").is_dir():
        yield str(path)
        return
    fd = os.open(path.parent, os.O_RDONLY | getattr(os, "O_PATH", 0) | getattr(os, "O_DIRECTORY", 0))
    try:
        yield f"/proc/self/fd/{fd}/{path.name}"
    finally:
        os.close(fd)


def _peer_uid(sock: socket.socket) -> int | None:
    """The user id of the process at the other end (Linux), or None where unknown."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    try:
        uid: int
        _pid, uid, _gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i")))
    except OSError:
        return None
    return uid


# -- the client side --------------------------------------------------------------------


class WarmClient:
    """One connection to a warm server, reopened once if it broke. Threads take turns."""

    def __init__(
        self, path: Path, *, connect_timeout: float = CONNECT_TIMEOUT, timeout: float = ANSWER_TIMEOUT
    ) -> None:
        self.path = path
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._file: Any = None
        self._lock = threading.RLock()
        self.unreachable = False  # the last failure was: nothing listens (so one may be started)

    def _connect(self) -> None:
        self.unreachable = False
        try:
            info = self.path.stat()
        except OSError:
            self.unreachable = True
            raise WarmUnavailable(f"no socket at {self.path}") from None
        if hasattr(os, "getuid") and info.st_uid != os.getuid():
            raise WarmUnavailable(f"{self.path} belongs to another user")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.connect_timeout)
        try:
            with _address(self.path) as address:
                sock.connect(address)
        except OSError as exc:
            sock.close()
            self.unreachable = isinstance(exc, (ConnectionRefusedError, FileNotFoundError))
            raise WarmUnavailable(f"{self.path}: {exc.strerror or exc}") from None
        sock.settimeout(self.timeout)
        self._sock, self._file = sock, sock.makefile("rb")

    def close(self) -> None:
        with self._lock:
            for thing in (self._file, self._sock):
                if thing is not None:
                    with contextlib.suppress(OSError):
                        thing.close()
            self._sock = self._file = None

    def request(self, payload: dict[str, Any]) -> dict[str, Any]:
        line = json.dumps(payload).encode() + b"\n"
        with self._lock:
            return self._exchange(line)

    def _exchange(self, line: bytes) -> dict[str, Any]:
        for attempt in (1, 2):
            fresh = self._sock is None
            if fresh:
                self._connect()
            try:
                self._sock.sendall(line)  # type: ignore[union-attr]
                answer = self._file.readline(MAX_LINE)
            except OSError as exc:  # a timeout, or the server went away
                self.close()
                if fresh or attempt == 2 or isinstance(exc, TimeoutError):
                    raise WarmUnavailable(f"{self.path}: {exc}") from None
                continue
            if not answer:
                self.close()
                if fresh or attempt == 2:
                    raise WarmUnavailable(f"{self.path}: closed without an answer")
                continue
            try:
                data: dict[str, Any] = json.loads(answer)
            except ValueError:
                self.close()
                raise WarmUnavailable(f"{self.path}: not a JSON answer") from None
            if not data.get("ok"):
                raise WarmUnavailable(f"{self.path}: {data.get('error', 'refused')}")
            return data
        raise AssertionError("unreachable")

    def info(self) -> dict[str, Any]:
        return self.request({"op": "info"})


class WarmEmbedder:
    """An `Embedder` for one model that asks the embedding service, starting it when none
    answers (with `start`), and loads the model in this process only when the service
    cannot be had (one warning line). Once loaded here, the model is used here."""

    def __init__(
        self,
        settings: Settings,
        *,
        start: bool = True,
        timeout: float = ANSWER_TIMEOUT,
        on_wait: Callable[[], contextlib.AbstractContextManager[Any]] | None = None,
    ) -> None:
        self.settings = settings
        self.model_id = model_id(settings.memory_model)
        self.threads = max(1, int(settings.memory_threads))
        self._client: WarmClient | None = WarmClient(socket_path(settings), timeout=timeout)
        self._start = start
        self._on_wait = on_wait or contextlib.nullcontext  # e.g. a spinner while the model loads
        self._local: Embedder | None = None
        self.warm_calls = 0  # answers the service gave this one
        self.fallback: str | None = None  # why the model was loaded here, if it was

    @property
    def loaded(self) -> bool:
        return self._local is not None and self._local.loaded

    @property
    def local(self) -> Embedder:
        if self._local is None:
            self._local = get_embedder(self.model_id, self.threads)
        return self._local

    def _give_up(self, reason: str) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
            self.fallback = reason
            log.warning("warning: embedding service unavailable (%s): loading the model in this process", reason)

    def _ask(self, payload: dict[str, Any], *, wait: bool = True) -> dict[str, Any] | None:
        """The service's answer. Without `wait`, None while a service is still starting;
        else None once given up (the caller then works in-process)."""
        client = self._client
        if client is None:
            return None
        from switchboard.memory import embedservice

        try:
            return self._answered(client, payload)
        except WarmUnavailable as exc:
            if not client.unreachable:
                self._give_up(str(exc))
                return None
            reason = str(exc)
        if self._start:
            failure = embedservice.ensure(self.settings)
        else:  # use a service that is starting, start none
            failure = None if embedservice.running(self.settings) else reason
        if failure is not None:
            self._give_up(failure)
            return None
        if not wait:
            return None
        with self._on_wait():
            listening = embedservice.wait_listening(self.settings)
        if not listening:
            self._give_up("the embedding service did not start listening")
            return None
        try:
            return self._answered(client, payload)
        except WarmUnavailable as exc:
            self._give_up(str(exc))
            return None

    def _answered(self, client: WarmClient, payload: dict[str, Any]) -> dict[str, Any]:
        answer = client.request(payload)
        self.warm_calls += 1
        return answer

    def embed(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        if texts:
            answer = self._ask({"op": "embed", "model": self.model_id, "texts": list(texts)})
            if answer is not None:
                return _vectors(answer, len(texts))
        with self._on_wait():
            return self.local.embed(texts, batch_size)

    def embed_one(self, text: str) -> np.ndarray:
        vector: np.ndarray = self.embed([text])[0]
        return vector

    def embed_now(self, texts: list[str]) -> np.ndarray | None:
        """None while a service runs or starts: the memory is stored pending and the
        service writes its vector (`fill_later`), so this process needs neither the model
        nor numpy. Vectors made here only once the service cannot be had."""
        if self._client is not None:
            self._ask({"op": "info"}, wait=False)  # starts a service if none runs; gives up if none can
        return None if self._client is not None else self.embed(texts)

    def fill_later(self, database_url: str) -> None:
        """Have the service embed a database's pending memories: at once when it is warm
        (the vectors are written when this returns), else once its model is loaded."""
        if self._client is not None:
            with contextlib.suppress(WarmUnavailable):
                self._client.request({"op": "fill", "database": database_url, "wait": True})

    def search(
        self, database_url: str, text: str, namespaces: tuple[str, ...], k: int
    ) -> list[tuple[int, float]] | None:
        """The service embeds `text` and searches its warm index; None if it cannot."""
        answer = self._ask(
            {
                "op": "search",
                "model": self.model_id,
                "database": database_url,
                "text": text,
                "namespaces": list(namespaces),
                "k": k,
            }
        )
        return None if answer is None else [(int(i), float(sim)) for i, sim in answer["hits"]]

    @property
    def dim(self) -> int:
        return int(self.embed(["dimension probe"]).shape[1])


def _vectors(answer: dict[str, Any], count: int) -> np.ndarray:
    import numpy as np

    raw = np.frombuffer(base64.b64decode(answer["vectors"]), dtype="<f4")
    dim = int(answer["dim"])
    if raw.size != dim * count:
        raise WarmUnavailable(f"{raw.size} values for {count} texts of {dim} dimensions")
    return raw.reshape(count, dim).astype(np.float32)


def embedder(
    settings: Settings,
    *,
    start: bool | None = None,
    timeout: float = ANSWER_TIMEOUT,
    on_wait: Callable[[], contextlib.AbstractContextManager[Any]] | None = None,
) -> Embedder | WarmEmbedder:
    """The embedder for `settings.memory_model` in this process: the embedding service's
    (started on demand unless `start` is False or the service is turned off), else the
    in-process one. A process that serves the model itself gets its own loaded model."""
    from switchboard.memory import embedservice

    name = model_id(settings.memory_model)
    if start is None:
        start = embedservice.service_enabled(settings)
    if name in _serving or (not start and not socket_path(settings).exists() and not embedservice.running(settings)):
        return get_embedder(name, settings.memory_threads)
    return WarmEmbedder(settings, start=start, timeout=timeout, on_wait=on_wait)


# -- the server side -----------------------------------------------------------------


class _Handler(socketserver.StreamRequestHandler):
    server: _UnixServer

    def handle(self) -> None:
        uid = _peer_uid(self.request)
        if uid is not None and hasattr(os, "getuid") and uid not in (os.getuid(), 0):
            return
        while True:
            try:
                line = self.rfile.readline(MAX_LINE)
            except OSError:
                return
            if not line:
                return
            answer = self.server.warm.answer(line)
            try:
                self.wfile.write(json.dumps(answer).encode() + b"\n")
                self.wfile.flush()
            except OSError:
                return


class _UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    warm: WarmServer


class WarmServer:
    """Serves this process's embedding model on `HOME/embed.sock` from background threads,
    and fills in the vectors of memories stored while it was loading.

        server = WarmServer(settings).start()   # the embedding service does this
        ...
        server.close()
    """

    def __init__(self, settings: Settings, model: Embedder | None = None) -> None:
        self.settings = settings
        self.path = socket_path(settings)
        self.model = model or get_embedder(model_id(settings.memory_model), settings.memory_threads)
        self.last_used = time.monotonic()
        self.stopping = threading.Event()  # set on SIGTERM in the service process
        self.databases: set[str] = set()  # where pending memories may wait for a vector
        self._stores: dict[str, Any] = {}
        self._filling: dict[str, threading.Lock] = {}
        self.load_error: str | None = None
        self._stores_lock = threading.Lock()
        self._wake = threading.Event()
        self._loading = threading.Lock()
        self._server: _UnixServer | None = None
        self._socket_file: tuple[int, int] | None = None  # (device, inode) of the socket it made

    def start(self, *, preload: bool = True) -> WarmServer:
        """Listen (replacing a stale socket file) and, with `preload`, load the model now
        in the background. Raises `OSError` if the socket cannot be made."""
        self.settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        if self.path.exists() or self.path.is_symlink():
            if _answers(self.path):
                raise OSError(f"another process serves {self.path}")
            self.path.unlink()
        old_umask = os.umask(0o177)  # the socket is born owner-only
        try:
            with _address(self.path) as address:
                server = _UnixServer(address, _Handler)
        finally:
            os.umask(old_umask)
        os.chmod(self.path, 0o600)
        made = self.path.stat()
        self._socket_file = (made.st_dev, made.st_ino)
        server.warm = self
        self._server = server
        _serving.add(self.model.model_id)
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.5}, name="warm-embedder", daemon=True
        ).start()
        threading.Thread(target=self._fill_loop, name="warm-embedder-fill", daemon=True).start()
        if preload:
            self._preload_soon()
        return self

    def load(self) -> bool:
        """Load the model now, in this thread (the service does, before it listens: a
        thread importing torch would hold up every answer for seconds)."""
        with self._loading:
            return self._load()

    def _preload_soon(self) -> None:
        if not self.model.loaded and self._loading.acquire(blocking=False):
            threading.Thread(target=self._preload, name="warm-embedder-load", daemon=True).start()

    def _preload(self) -> None:
        try:
            self._load()
        finally:
            self._loading.release()

    def _load(self) -> bool:
        started = time.monotonic()
        try:
            self.model.embed(["warm up"])
        except Exception as exc:  # noqa: BLE001 - logged; clients then load their own
            self.load_error = str(exc)
            log.warning("embedding model %s not loaded: %s", self.model.model_id, exc)
            return False
        log.info("embedding model %s loaded in %.1fs", self.model.model_id, time.monotonic() - started)
        self._wake.set()
        return True

    def idle_for(self) -> float:
        return time.monotonic() - self.last_used

    def answer(self, line: bytes) -> dict[str, Any]:
        op = None
        try:
            request = json.loads(line)
            op = request.get("op") if isinstance(request, dict) else None
            if op == "info":  # asking about the service is not using it: status keeps nothing alive
                return self._info()
            return self._use(op, request)
        except Exception as exc:  # noqa: BLE001 - the client falls back on any refusal
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        finally:
            if op != "info":
                self.last_used = time.monotonic()  # idle from the end of a long call

    def _use(self, op: Any, request: dict[str, Any]) -> dict[str, Any]:
        if op == "fill":
            database = str(request.get("database") or "")
            if request.get("wait") and database and self.model.loaded:
                return {"ok": True, "filled": self.fill(database)}
            self.fill_soon(database)
            return {"ok": True}
        if op not in ("embed", "search"):
            return {"ok": False, "error": f"unknown op {op!r}"}
        if request.get("model") != self.model.model_id:
            return {"ok": False, "error": f"this server embeds with {self.model.model_id}, not {request.get('model')}"}
        if op == "search":
            return self._search(request)
        texts = request.get("texts")
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts) or not texts:
            return {"ok": False, "error": "texts must be a non-empty list of strings"}
        vectors = self.model.embed(texts)
        return {
            "ok": True,
            "model": self.model.model_id,
            "dim": int(vectors.shape[1]),
            "vectors": base64.b64encode(vectors.astype("<f4").tobytes()).decode("ascii"),
        }

    def _info(self) -> dict[str, Any]:
        import resource

        return {
            "ok": True,
            "model": self.model.model_id,
            "loaded": self.model.loaded,
            "pid": os.getpid(),
            "idle_seconds": round(self.idle_for(), 1),
            "databases": sorted(self.databases),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        }

    def _store(self, database: str) -> Any:
        from switchboard.store import open_store

        if not database:
            raise ValueError("no database given")
        with self._stores_lock:
            if database not in self._stores:
                self._stores[database] = open_store(self.settings.with_overrides(database_url=database))
            return self._stores[database]

    def _memory(self, database: str) -> Any:
        from switchboard.memory.service import Memory

        return Memory(self._store(database), self.settings.with_overrides(database_url=database), self.model)

    def _search(self, request: dict[str, Any]) -> dict[str, Any]:
        from switchboard.memory.vectors import index_for

        namespaces = tuple(str(n) for n in request.get("namespaces") or ())
        k = int(request.get("k") or 0)
        if not namespaces or not 0 < k <= 100_000 or not isinstance(request.get("text"), str):
            return {"ok": False, "error": "search needs text, namespaces and k"}
        database = str(request.get("database") or "")
        store = self._store(database)
        self.databases.add(database)
        vector = self.model.embed_one(request["text"])
        with store.transaction() as tx:
            hits = index_for(store, self.model.model_id).search(tx, vector, namespaces, k)
        return {"ok": True, "hits": hits}

    def fill_soon(self, database: str) -> None:
        if database:
            self.databases.add(database)
        self._preload_soon()
        self._wake.set()

    def fill(self, database: str) -> int:
        """Embed the pending memories of one database (one filler at a time per database)."""
        self.databases.add(database)
        with self._stores_lock:
            lock = self._filling.setdefault(database, threading.Lock())
        with lock:
            filled: int = self._memory(database).fill_pending()
        self.last_used = time.monotonic()
        return filled

    def _fill_loop(self) -> None:
        """Embed pending memories of every database this service has heard of. Supervised:
        a failure is logged and retried on the next wake-up, never the end of the loop."""
        while self._server is not None:
            self._wake.wait(timeout=30)
            self._wake.clear()
            if not self.model.loaded:
                continue
            for database in sorted(self.databases):
                try:
                    filled = self.fill(database)
                except Exception:  # noqa: BLE001 - one bad database must not stop the service
                    log.exception("filling pending vectors in %s failed; retrying later", database)
                    continue
                if filled:
                    log.info("embedded %d pending memories in %s", filled, database)

    def close(self) -> None:
        if self._server is None:
            return
        server, self._server = self._server, None
        self._wake.set()
        server.shutdown()
        server.server_close()
        _serving.discard(self.model.model_id)
        with contextlib.suppress(OSError):
            now = self.path.stat()
            if (now.st_dev, now.st_ino) == self._socket_file:  # not a newer service's socket
                self.path.unlink()

    def __enter__(self) -> WarmServer:
        return self if self._server is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def _answers(path: Path) -> bool:
    client = WarmClient(path, connect_timeout=0.5, timeout=2.0)
    try:
        client.info()
        return True
    except WarmUnavailable:
        return False
    finally:
        client.close()


__all__ = ["SOCKET_FILE", "WarmClient", "WarmEmbedder", "WarmServer", "WarmUnavailable", "embedder", "socket_path"]
