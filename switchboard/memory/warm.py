"""The warm path: one process keeps the embedding model loaded and embeds for the others.

Loading the model costs seconds per process; a query then takes milliseconds. While
the coordinator runs, it serves embeddings on a Unix socket in the home
(`HOME/embed.sock`, mode 0600, and only peers of the same user are answered), and
`embedder(settings)` — what the memory CLI, the MCP server and `runner run` use —
asks that socket first. Without an answer (no coordinator, a stale socket file, a
server that does not reply in time, another model) it loads the model in-process,
as before. Asking the socket imports neither torch nor sentence-transformers.

The protocol is one JSON object per line, each way, any number per connection:

    {"op": "embed", "model": ID, "texts": [...]} -> {"ok": true, "model": ID, "dim": 384, "vectors": BASE64}
    {"op": "info"}                               -> {"ok": true, "model": ID, "loaded": bool, "pid": N}
    anything wrong                               -> {"ok": false, "error": "..."}

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
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from switchboard.config import Settings
from switchboard.memory.embedder import Embedder, get_embedder, model_id

if TYPE_CHECKING:
    import numpy as np

SOCKET_FILE = "embed.sock"
CONNECT_TIMEOUT = 1.0
ANSWER_TIMEOUT = 20.0  # a model still loading in the server answers within this
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
        _pid, uid, _gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i")))
    except OSError:
        return None
    return uid


# -- the client side --------------------------------------------------------------------


class WarmClient:
    """One connection to a warm server, reopened once if it broke. Threads take turns."""

    def __init__(self, path: Path, *, connect_timeout: float = CONNECT_TIMEOUT,
                 timeout: float = ANSWER_TIMEOUT) -> None:
        self.path = path
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._file: Any = None
        self._lock = threading.RLock()

    def _connect(self) -> None:
        try:
            info = self.path.stat()
        except OSError:
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
                data = json.loads(answer)
            except ValueError:
                self.close()
                raise WarmUnavailable(f"{self.path}: not a JSON answer") from None
            if not data.get("ok"):
                raise WarmUnavailable(f"{self.path}: {data.get('error', 'refused')}")
            return data
        raise AssertionError("unreachable")

    def info(self) -> dict[str, Any]:
        return self.request({"op": "info"})

    def embed(self, model: str, texts: list[str]) -> np.ndarray:
        import numpy as np

        data = self.request({"op": "embed", "model": model, "texts": list(texts)})
        raw = np.frombuffer(base64.b64decode(data["vectors"]), dtype="<f4")
        dim = int(data["dim"])
        if raw.size != dim * len(texts):
            raise WarmUnavailable(f"{self.path}: {raw.size} values for {len(texts)} texts of {dim} dimensions")
        return raw.reshape(len(texts), dim).astype(np.float32)


class WarmEmbedder:
    """An `Embedder` for one model that asks the warm server, and loads the model in this
    process only when no server answers. Once loaded here, the model is used here."""

    def __init__(self, name: str, threads: int = 1, path: Path | None = None, *,
                 timeout: float = ANSWER_TIMEOUT) -> None:
        self.model_id = model_id(name)
        self.threads = max(1, int(threads))
        self._client = WarmClient(path, timeout=timeout) if path is not None else None
        self._local: Embedder | None = None
        self.warm_calls = 0  # embeddings the warm server made for this one
        self.fallback: str | None = None  # why the model was loaded here, if it was

    @property
    def loaded(self) -> bool:
        return self._local is not None and self._local.loaded

    @property
    def local(self) -> Embedder:
        if self._local is None:
            self._local = get_embedder(self.model_id, self.threads)
        return self._local

    def embed(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        client = self._client
        if client is not None and texts:
            try:
                vectors = client.embed(self.model_id, list(texts))
                self.warm_calls += 1
                return vectors
            except WarmUnavailable as exc:
                client.close()
                self._client = None
                self.fallback = str(exc)
                log.debug("warm embedder unavailable, loading the model here: %s", exc)
        return self.local.embed(texts, batch_size)

    def embed_one(self, text: str) -> np.ndarray:
        return self.embed([text])[0]

    @property
    def dim(self) -> int:
        return int(self.embed(["dimension probe"]).shape[1])


def embedder(settings: Settings, *, timeout: float = ANSWER_TIMEOUT) -> Embedder | WarmEmbedder:
    """The embedder for `settings.memory_model` in this process: the warm server's when one
    may run (its socket exists), else the in-process one. A process that serves the model
    itself gets its own loaded model."""
    name = model_id(settings.memory_model)
    path = socket_path(settings)
    if name in _serving or not path.exists():
        return get_embedder(name, settings.memory_threads)
    return WarmEmbedder(name, settings.memory_threads, path, timeout=timeout)


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
    """Serves this process's embedding model on `HOME/embed.sock` from a background thread.

        server = WarmServer(settings).start()   # the coordinator does this
        ...
        server.close()
    """

    def __init__(self, settings: Settings, model: Embedder | None = None) -> None:
        self.settings = settings
        self.path = socket_path(settings)
        self.model = model or get_embedder(model_id(settings.memory_model), settings.memory_threads)
        self._lock = threading.Lock()  # one embedding at a time: the model has one thread
        self._server: _UnixServer | None = None
        self._thread: threading.Thread | None = None

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
        server.warm = self
        self._server = server
        _serving.add(self.model.model_id)
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.5},
                                        name="warm-embedder", daemon=True)
        self._thread.start()
        if preload:
            threading.Thread(target=self._preload, name="warm-embedder-load", daemon=True).start()
        return self

    def _preload(self) -> None:
        started = time.monotonic()
        try:
            with self._lock:
                self.model.embed(["warm up"])
        except Exception as exc:  # noqa: BLE001 - logged; clients then load their own
            log.warning("embedding model %s not loaded: %s", self.model.model_id, exc)
            return
        log.info("embedding model %s loaded in %.1fs; serving it at %s", self.model.model_id,
                 time.monotonic() - started, self.path)

    def answer(self, line: bytes) -> dict[str, Any]:
        try:
            request = json.loads(line)
            op = request.get("op") if isinstance(request, dict) else None
            if op == "info":
                return {"ok": True, "model": self.model.model_id, "loaded": self.model.loaded,
                        "pid": os.getpid()}
            if op != "embed":
                return {"ok": False, "error": f"unknown op {op!r}"}
            if request.get("model") != self.model.model_id:
                return {"ok": False, "error": f"this server embeds with {self.model.model_id}, "
                                              f"not {request.get('model')}"}
            texts = request.get("texts")
            if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts) or not texts:
                return {"ok": False, "error": "texts must be a non-empty list of strings"}
            with self._lock:
                vectors = self.model.embed(texts)
            return {"ok": True, "model": self.model.model_id, "dim": int(vectors.shape[1]),
                    "vectors": base64.b64encode(vectors.astype("<f4").tobytes()).decode("ascii")}
        except Exception as exc:  # noqa: BLE001 - the client falls back on any refusal
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}

    def close(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server = None
        _serving.discard(self.model.model_id)
        with contextlib.suppress(OSError):
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


__all__ = ["SOCKET_FILE", "WarmClient", "WarmEmbedder", "WarmServer", "WarmUnavailable", "embedder",
           "socket_path"]

