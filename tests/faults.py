"""Fault injection for tests: a database that goes away and comes back.

SQLite: the database file is moved aside and a directory put in its place, so new connections fail
with the driver's own "unable to open database file". PostgreSQL: the app talks to the server through
a loopback TCP relay, which the test stops (dropping every open connection) and starts again.
"""

import os
import shutil
import socket
import threading
from contextlib import suppress
from pathlib import Path

import sqlalchemy as sa


class Relay:
    """Forward a loopback port to the database server until stopped; restartable on the same port."""

    def __init__(self, host: str, port: int):
        self.upstream = (host, port)
        self.port = 0
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        """Listen (on the same port as before, after a stop) and relay every connection."""
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.port, self._listener = listener.getsockname()[1], listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        """Close the port and cut every relayed connection, as a database restart does."""
        with self._lock:
            sockets, self._sockets = [self._listener, *self._sockets], []
        for sock in sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with suppress(OSError):
                sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            with self._lock:
                self._sockets += [client, server]
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=_pump, args=(source, target), daemon=True).start()


def _pump(source: socket.socket, target: socket.socket) -> None:
    with suppress(OSError):
        while data := source.recv(65536):
            target.sendall(data)
    with suppress(OSError):
        target.shutdown(socket.SHUT_WR)


def through_relay(url: str, relay: Relay) -> str:
    """Return the database URL with its host and port replaced by the relay's."""
    parsed = sa.make_url(url)
    return parsed.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)


class SqliteOutage:
    """Make a SQLite database file unopenable, and give it back."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.aside = self.path.with_name(self.path.name + ".aside")

    def stop(self) -> None:
        """Move the file aside and put a directory where it was."""
        os.replace(self.path, self.aside)
        self.path.mkdir()

    def start(self) -> None:
        """Put the file back."""
        shutil.rmtree(self.path)
        os.replace(self.aside, self.path)
