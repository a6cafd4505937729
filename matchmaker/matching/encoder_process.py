"""An encoder in a child Python process, for bulk jobs that keep their own interpreter busy.

The USE encoder's threads need the interpreter between numpy calls and for its pure-Python tokenizer.
An import's own Python (checking rows, writing batches, segmenting them for BM25) competes with them for
it, so in one process the import runs well below the encoder's own speed. In a child process the encoder
has an interpreter to itself and the two share only the cores.

The child is ``python -m matchmaker.matching.encoder_process SPEC``, where SPEC is the JSON of
`encoders.load_encoder`'s arguments. It answers on stdout, one request at a time, and
exits when its stdin closes, so it never outlives the process that started it (even one killed outright).
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

import numpy as np

_LENGTH = struct.Struct("<Q")
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # the child imports this very copy of matchmaker


class EncoderProcessFailed(RuntimeError):
    """The child could not start or load its model, broke its protocol, or died."""


def _send(stream: IO[bytes], payload: bytes) -> None:
    stream.write(_LENGTH.pack(len(payload)))
    stream.write(payload)
    stream.flush()


def _receive(stream: IO[bytes]) -> bytes:
    """Read one length-prefixed frame; raise EOFError if the stream ends first."""
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        raise EOFError
    (size,) = _LENGTH.unpack(head)
    payload = stream.read(size)
    if len(payload) < size:
        raise EOFError
    return payload


class EncoderProcess:
    """An Encoder whose encode() runs in a child process that loaded the same model.

    Start it early: the constructor only launches the child, and the first encode() waits for it to load.
    """

    def __init__(self, spec: dict[str, Any], fingerprint: str, dimension: int):
        """Launch the child for load_encoder(**spec): a model this process loaded with this fingerprint."""
        self.fingerprint, self.dimension = fingerprint, dimension
        self._lock = threading.Lock()
        self._ready = False
        try:
            self._child = subprocess.Popen(
                [sys.executable, "-m", __name__, json.dumps(spec)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env={**os.environ, "PYTHONPATH": _PACKAGE_ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")},
            )
        except OSError as exc:
            raise EncoderProcessFailed(f"could not start the encoder process: {exc}") from exc

    def encode(self, texts: list[str], kind: str = "document") -> np.ndarray:
        """Return the child's (n, dimension) vectors for texts; raise EncoderProcessFailed if it cannot answer."""
        with self._lock:
            try:
                if not self._ready:
                    self._check_ready()
                _send(self._child.stdin, json.dumps({"texts": list(texts), "kind": kind}).encode())
                return self._vectors(len(texts))
            except (OSError, EOFError, ValueError) as exc:
                self.close()
                raise EncoderProcessFailed(f"the encoder process stopped answering ({exc!r})") from exc

    def _check_ready(self) -> None:
        """Wait for the child's model; refuse one that is not the model this process uses."""
        reply = json.loads(_receive(self._child.stdout))
        if "error" in reply:
            raise ValueError(reply["error"])
        if (reply["fingerprint"], reply["dimension"]) != (self.fingerprint, self.dimension):
            raise ValueError(f"the child loaded {reply['fingerprint']}, not {self.fingerprint}")
        self._ready = True

    def _vectors(self, count: int) -> np.ndarray:
        head = json.loads(_receive(self._child.stdout))
        if "error" in head:
            raise ValueError(head["error"])
        vectors = np.frombuffer(_receive(self._child.stdout), dtype=np.float32)
        return vectors.reshape(count, self.dimension).copy()  # writable, as an encoder's vectors are

    def kill(self) -> None:
        """Stop the child now, even mid-request: a request waiting on it fails with EncoderProcessFailed."""
        if self._child.poll() is None:
            self._child.kill()

    def close(self) -> None:
        """End the child (it exits when its stdin closes) and wait for it."""
        for stream in (self._child.stdin, self._child.stdout):
            with contextlib.suppress(OSError):
                stream.close()
        try:
            self._child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._child.kill()
            self._child.wait()

    def __enter__(self) -> EncoderProcess:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def serve(argument: str, requests: IO[bytes], replies: IO[bytes]) -> None:
    """Load the encoder SPEC names, say which it is, then answer requests until they end."""
    try:
        from .encoders import load_encoder

        encoder = load_encoder(**json.loads(argument))
    except Exception as exc:  # a missing model or library: the parent encodes in-process instead
        _send(replies, json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode())
        return
    _send(replies, json.dumps({"fingerprint": encoder.fingerprint, "dimension": encoder.dimension}).encode())
    while True:
        try:
            request = json.loads(_receive(requests))
        except EOFError:
            return
        try:
            vectors = np.ascontiguousarray(encoder.encode(request["texts"], kind=request["kind"]), dtype=np.float32)
        except Exception as exc:
            _send(replies, json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode())
            continue
        _send(replies, b"{}")
        _send(replies, vectors.tobytes())


def main() -> None:
    """Serve on the process's stdin and stdout; anything else written to stdout goes to stderr."""
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a library's print must not break the protocol
    with contextlib.suppress(BrokenPipeError):  # the parent went away mid-reply
        serve(sys.argv[1], sys.stdin.buffer, replies)


if __name__ == "__main__":
    main()
