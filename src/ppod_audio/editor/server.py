"""``ppod edit``: a local web editor for one episode's transcript.

A small bottle app serves plain HTML/JS (no build step) and three endpoints: the document, a
save that keeps the previous version and re-publishes, and the MP3 with HTTP Range support (so
Chromium can seek). It listens on 127.0.0.1 only, on a port of the episode's own (so the
page's origin, and with it the unsaved draft the browser keeps, is the same after a restart;
any free port if that one is taken), and every request must carry
a one-time token (``?token=`` or the ``X-Ppod-Token`` header): another user on the machine, or a
web page in the editor's browser, cannot read or change the transcript.

A save is refused with 409 when ``episode.json`` changed on disk since the page loaded it (a
``ppod render --from-text`` meanwhile): the page keeps the editor's work and says so.
"""

from __future__ import annotations

import hmac
import json
import secrets
import socketserver
import threading
import zlib
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import bottle
from pydantic import ValidationError

from ..edit.history import document_path, revision_of
from ..edit.render import find_mp3, load_episode_bytes, load_episode_document
from ..edit.save import save_and_render
from ..errors import InputError, PpodError
from ..transcript.model import EpisodeDocument

STATIC = Path(__file__).parent / "static"
# Words the recogniser was less sure of than this are shaded for review.
REVIEW_THRESHOLD = 0.6
MAX_BODY = 64 * 1024 * 1024
_ASSETS = {"app.js": "application/javascript", "style.css": "text/css"}


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    """The audio stream and the API answer at the same time; threads die with the server."""

    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        return


def make_app(output_dir: Path, token: str, threshold: float = REVIEW_THRESHOLD) -> bottle.Bottle:
    """The editor's WSGI app for ``output_dir``; every route checks ``token``."""
    output_dir = Path(output_dir)
    # Saving never renames the MP3, so it is found once, not on every Range request.
    mp3 = find_mp3(output_dir, load_episode_document(output_dir))
    app = bottle.Bottle()
    lock = threading.Lock()  # one save at a time

    @app.hook("before_request")
    def _check_token() -> None:
        given = bottle.request.query.get("token") or bottle.request.get_header("X-Ppod-Token", "")
        if not hmac.compare_digest(given.encode(), token.encode()):
            bottle.abort(403, "this editor needs the link `ppod edit` printed")

    @app.get("/")
    def index() -> str:
        bottle.response.set_header("Cache-Control", "no-store")
        html = (STATIC / "index.html").read_text(encoding="utf-8")
        return html.replace("__TOKEN__", token)

    @app.get("/static/<name>")
    def asset(name: str) -> Any:
        if name not in _ASSETS:
            bottle.abort(404)
        response = bottle.static_file(name, root=str(STATIC), mimetype=_ASSETS[name])
        response.set_header("Cache-Control", "no-store")
        return response

    @app.get("/audio")
    def audio() -> Any:
        return bottle.static_file(mp3.name, root=str(mp3.parent), mimetype="audio/mpeg")

    @app.get("/api/document")
    def get_document() -> dict[str, Any]:
        # One read: a hash of a second read could be of a file written in between, and the
        # page would then hold an old document under the new revision (no 409 on its save).
        document, data = load_episode_bytes(output_dir)
        return {
            "document": document.model_dump(mode="json"),
            "revision": revision_of(data),
            "threshold": threshold,
        }

    @app.put("/api/document")
    def put_document() -> dict[str, Any]:
        try:  # read here: bottle's request.json stops at 100 kB, a long episode is more
            body = json.loads(bottle.request.body.read(MAX_BODY))
        except ValueError:
            body = None
        if not isinstance(body, dict) or "document" not in body:
            bottle.abort(400, "send {revision, document}")
        try:
            document = EpisodeDocument.model_validate(body["document"])
        except ValidationError as error:
            bottle.abort(400, f"not a valid episode document: {error.errors()[0]['msg']}")
        with lock:
            if body.get("revision") != revision_of(document_path(output_dir).read_bytes()):
                bottle.abort(409, "episode.json changed since this page loaded it")
            try:
                result = save_and_render(output_dir, document)
            except PpodError as error:
                bottle.abort(400, str(error))
            return {
                "revision": result.revision,
                "document": result.document.model_dump(mode="json"),
                "backup": result.backup.name if result.backup else None,
                "seconds": round(result.render.seconds, 3),
                "notes": result.notes,
            }

    @app.error(400)
    @app.error(403)
    @app.error(404)
    @app.error(409)
    def _error(error: bottle.HTTPError) -> str:
        bottle.response.content_type = "application/json"
        return json.dumps({"error": error.body})

    return app


def episode_port(output_dir: Path) -> int:
    """A port that depends only on the episode's folder: 18000-27999, below Linux's ephemeral
    range. Browsers keep a page's local storage per origin (host and port), so the unsaved
    draft a crashed or closed editor leaves is found again only on the same port."""
    return 18000 + zlib.crc32(str(Path(output_dir).resolve()).encode()) % 10000


class EditorServer:
    """The editor on 127.0.0.1, served from a thread so tests (and the CLI) start and stop it."""

    def __init__(
        self,
        output_dir: Path,
        *,
        port: int | None = None,
        token: str | None = None,
        threshold: float = REVIEW_THRESHOLD,
    ):
        self.output_dir = Path(output_dir)
        self.token = token or secrets.token_urlsafe(24)
        # Reads the document and finds the MP3: fails now, in the terminal, not in the browser.
        self.app = make_app(self.output_dir, self.token, threshold)
        try:
            self._server = self._listen(episode_port(self.output_dir) if port is None else port)
        except OSError as error:
            if port is None:  # the episode's port is taken (another editor): any free one
                self._server = self._listen(0)
            else:
                raise InputError(
                    f"cannot listen on 127.0.0.1:{port} ({error.strerror})",
                    fix="give another --port, or 0 for any free one",
                ) from None
        self._thread: threading.Thread | None = None

    def _listen(self, port: int) -> WSGIServer:
        return make_server(
            "127.0.0.1", port, self.app, server_class=_ThreadingServer, handler_class=_QuietHandler
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/?token={self.token}"

    def start(self) -> str:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> EditorServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
