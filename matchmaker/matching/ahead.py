"""Embed a bulk job's texts in a child encoder process while the job still checks and stores its rows.

An import knows its postings' texts as soon as it has read the file, seconds before its rows are checked,
committed and handed to the index. `EmbedAhead` starts a child encoder then and feeds it the texts a chunk
at a time; the indexing loop asks it for vectors instead of the encoder and gets them ready-made. A text
it did not see (a row the domain stored differently) is encoded when asked for, so what is stored never
depends on what was guessed ahead. If the child fails, everything not yet embedded is encoded in-process.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from contextvars import ContextVar

import numpy as np

from .encoder_process import EncoderProcess, EncoderProcessFailed

log = logging.getLogger(__name__)
KEEP_AHEAD = 2  # chunks embedded and not yet asked for, at most: bounds the memory held for the job
_active: ContextVar[EmbedAhead | None] = ContextVar("embed_ahead", default=None)
_END = None


def active() -> EmbedAhead | None:
    """Return the EmbedAhead this context holds open, if any."""
    return _active.get()


class EmbedAhead:
    """An Encoder for one bulk job: the documents it was given, embedded ahead by a child process.

    Use it as a context manager around the job: inside, `active()` returns it; on leaving, the child ends.
    """

    def __init__(self, texts: list[str], encoder, spec: dict[str, str], chunk: int):
        """Start a child for load_encoder(**spec), the model `encoder` is, and feed it texts chunk by chunk."""
        self.encoder, self.fingerprint, self.dimension = encoder, encoder.fingerprint, encoder.dimension
        self._process = EncoderProcess(spec, encoder.fingerprint, encoder.dimension)
        self._child_failed = False
        self._ready: queue.Queue = queue.Queue(maxsize=KEEP_AHEAD)
        self._vectors: dict[str, np.ndarray] = {}
        self._asked = self._received = 0  # distinct texts asked for, and received from the feed
        self._fed_all = False
        self._closing = threading.Event()
        unique = list(dict.fromkeys(texts))
        chunks = [unique[start : start + chunk] for start in range(0, len(unique), chunk)]
        self._feeder = threading.Thread(target=self._feed, args=(chunks,), name="embed-ahead-feed", daemon=True)
        self._feeder.start()

    def _feed(self, chunks: list[list[str]]) -> None:
        try:
            for part in chunks:
                if self._closing.is_set():
                    break
                self._ready.put((part, self._process.encode(part)))
        except EncoderProcessFailed as exc:
            if not self._closing.is_set():
                self._child_failed = True
                log.warning("embedding in-process from now on: %s", exc)
        finally:
            self._ready.put(_END)

    def encode(self, texts: list[str], kind: str = "document") -> np.ndarray:
        """Return vectors for texts: those embedded ahead, the others encoded now."""
        if kind != "document":
            return self.encoder.encode(texts, kind=kind)
        wanted = list(dict.fromkeys(texts))
        self._asked += len(wanted)
        # the feed runs in the order the job will ask, so once it has sent as many texts as were asked
        # for, a text still missing is one it never had: waiting for more would only delay it
        while not self._fed_all and self._received < self._asked and any(t not in self._vectors for t in wanted):
            self._take()
        missing = [t for t in wanted if t not in self._vectors]
        if missing:
            self._vectors.update(zip(missing, self._encode_now(missing)))
        vectors = np.stack([self._vectors[t] for t in texts]) if texts else np.zeros((0, self.dimension), np.float32)
        for text in wanted:
            del self._vectors[text]
        return vectors

    def _take(self) -> None:
        item = self._ready.get()
        if item is _END:
            self._fed_all = True
            return
        part, vectors = item
        self._received += len(part)
        self._vectors.update(zip(part, vectors))

    def _encode_now(self, texts: list[str]) -> np.ndarray:
        """Encode texts the feed did not have: by the child while it works, else here."""
        if not self._child_failed:
            try:
                return self._process.encode(texts)
            except EncoderProcessFailed as exc:
                self._child_failed = True
                log.warning("embedding in-process from now on: %s", exc)
        return self.encoder.encode(texts, kind="document")

    def close(self) -> None:
        """Stop the feed and end the child; what it had not been asked for is dropped."""
        self._closing.set()
        self._process.kill()
        while self._feeder.is_alive() or not self._ready.empty():
            with contextlib.suppress(queue.Empty):
                self._ready.get(timeout=0.1)  # a feed blocked on a full queue must get to its end marker
        self._feeder.join()
        self._process.close()
        self._vectors.clear()

    def __enter__(self) -> EmbedAhead:
        self._token = _active.set(self)
        return self

    def __exit__(self, *exc_info) -> None:
        _active.reset(self._token)
        self.close()
