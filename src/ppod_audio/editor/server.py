"""``ppod edit``: a local web editor for one episode's transcript.

A small bottle app serves plain HTML/JS (no build step) and three endpoints: the document, a
save that keeps the previous version and re-publishes, and the MP3 with HTTP Range support (so
Chromium can seek). It listens on 127.0.0.1 only, on a port of the episode's own (so the
page's origin, and with it the unsaved draft the browser keeps, is the same after a restart;
any free port if that one is taken), and every request must carry
a one-time token (``?token=`` or the ``X-Ppod-Token`` header): another user on the machine, or a
web page in the editor's browser, cannot read or change the transcript. It answers only
requests addressed to ``127.0.0.1:<its port>`` (the Host header), so a web page that rebinds
its own name to 127.0.0.1 (DNS rebinding) is refused even before the token is checked.

The token never appears on a command line, where ``ps`` would show it to every user: the
browser is opened on a launch file readable only by the user (as notebook servers do), which
forwards to the editor's address with the token.

A save is checked before anything is written: a body over :data:`MAX_BODY` bytes, nested
deeper than :data:`MAX_DEPTH`, holding NaN or Infinity (Python's json reads them), not an
episode document, or one whose files or times are wrong (:mod:`ppod_audio.edit.checks`) is
refused with 400 and a one-line reason. It is refused with 409 when ``episode.json`` changed on
disk since the page loaded it (a ``ppod render --from-text`` meanwhile), and with 423 while
``ppod process`` or ``ppod render`` holds the episode's lock: the page keeps the editor's
work and says so.
"""

from __future__ import annotations

import contextlib
import hmac
import html
import json
import math
import os
import secrets
import shutil
import socketserver
import tempfile
import threading
import zlib
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import bottle
from pydantic import ValidationError

from ..edit.history import revision_of
from ..edit.render import find_mp3, load_episode_bytes, load_episode_document
from ..edit.save import save_and_render
from ..errors import InputError, PpodError
from ..lock import EpisodeBusy, locked_episode
from ..outputs import document_path
from ..transcript.confidence import THRESHOLD, editor_rule
from ..transcript.model import EpisodeDocument

STATIC = Path(__file__).parent / "static"
# Words the recogniser was less sure of than this are shaded for review (with the neighbour and
# vocabulary rules of transcript/confidence.py).
REVIEW_THRESHOLD = THRESHOLD
# A save carries the whole document: the demo's 3.6 minutes are 60 kB, so 16 MB is about 15
# hours of speech. More is not an episode.
MAX_BODY = 16 * 1024 * 1024
# {document: {segments: [{words: [{...}]}]}} is 6 deep; anything deeper is not a document.
MAX_DEPTH = 12
HOST = "127.0.0.1"
# What the browser is opened on: a file only the user can read, forwarding to the editor.
LAUNCH_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="referrer" content="no-referrer">
<meta http-equiv="refresh" content="0;url={url}">
<title>ppod edit</title></head>
<body><p>Opening the editor&hellip; if nothing happens, <a href="{url}">open it here</a>.</p>
</body></html>
"""
_ASSETS = {"app.js": "application/javascript", "style.css": "text/css"}


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    """The audio stream and the API answer at the same time; threads die with the server."""

    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        return


class BadBody(ValueError):
    """A save's body that is refused before it is read as a document; the message says why."""


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 reads as inf
        raise BadBody(f"the number {text} is out of range")
    return value


def _constant(name: str) -> float:
    raise BadBody(f"{name} is not a number a document may hold")


def _depth(value: Any) -> int:
    """How deeply ``value`` nests (iteratively: a deep value must not overflow the stack)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth)
            if deepest > MAX_DEPTH:
                return deepest
            stack.extend((child, depth + 1) for child in item)
    return deepest


def parse_body(data: bytes) -> dict[str, Any]:
    """A save's JSON body, or :class:`BadBody` with a one-line reason."""
    if len(data) > MAX_BODY:
        raise BadBody(f"the request is over {MAX_BODY // (1024 * 1024)} MB")
    try:
        body = json.loads(data, parse_constant=_constant, parse_float=_finite)
    except RecursionError:
        raise BadBody(f"the JSON is nested more than {MAX_DEPTH} deep") from None
    except BadBody:
        raise
    except ValueError as error:
        raise BadBody(f"not JSON ({str(error).splitlines()[0]})") from None
    if _depth(body) > MAX_DEPTH:
        raise BadBody(f"the JSON is nested more than {MAX_DEPTH} deep")
    if not isinstance(body, dict) or "document" not in body:
        raise BadBody("send {revision, document}")
    return body


def parse_audio_edit(data: bytes) -> dict[str, Any]:
    """``{revision, kind: redact|cut|undo, first, last, mode?}``, or :class:`BadBody`."""
    try:
        body = json.loads(data, parse_constant=_constant)
    except (ValueError, RecursionError):
        raise BadBody("send {revision, kind, first, last} as JSON") from None
    if not isinstance(body, dict) or body.get("kind") not in ("redact", "cut", "undo"):
        raise BadBody("kind must be redact, cut or undo")
    if body["kind"] != "undo":
        first, last = body.get("first"), body.get("last")
        if not (isinstance(first, int) and isinstance(last, int) and 0 <= first <= last):
            raise BadBody("first and last must be word numbers, first <= last")
    if body.get("mode") not in (None, "tone", "silence"):
        raise BadBody("mode must be tone or silence")
    return body


def make_app(output_dir: Path, token: str, threshold: float = REVIEW_THRESHOLD) -> bottle.Bottle:
    """The editor's WSGI app for ``output_dir``; every route checks the Host and ``token``."""
    output_dir = Path(output_dir)
    # Saving never renames the MP3, so it is found once, not on every Range request.
    mp3 = find_mp3(output_dir, load_episode_document(output_dir))
    app = bottle.Bottle()
    lock = threading.Lock()  # one save at a time

    @app.hook("before_request")
    def _check_host_and_token() -> None:
        environ = bottle.request.environ
        if environ.get("HTTP_HOST") != f"{HOST}:{environ.get('SERVER_PORT')}":
            bottle.abort(403, f"this editor answers only at http://{HOST}:<its port>/")
        given = bottle.request.query.get("token") or bottle.request.get_header("X-Ppod-Token", "")
        if not hmac.compare_digest(given.encode(), token.encode()):
            bottle.abort(403, "this editor needs the link `ppod edit` printed")

    @app.get("/")
    def index() -> str:
        bottle.response.set_header("Cache-Control", "no-store")
        page = (STATIC / "index.html").read_text(encoding="utf-8")
        return page.replace("__TOKEN__", token)

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
            "shading": editor_rule(document) | {"threshold": threshold},
        }

    @app.put("/api/document")
    def put_document() -> dict[str, Any]:
        if bottle.request.content_length > MAX_BODY:  # refused unread
            bottle.abort(400, f"the request is over {MAX_BODY // (1024 * 1024)} MB")
        try:  # read here: bottle's request.json stops at 100 kB, a long episode is more
            body = parse_body(bottle.request.body.read(MAX_BODY + 1))
            document = EpisodeDocument.model_validate(body["document"])
        except BadBody as error:
            bottle.abort(400, str(error))
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            bottle.abort(400, f"not a valid episode document: {where}: {first['msg']}")
        with lock:
            try:
                with locked_episode(output_dir, wait=False):
                    if body.get("revision") != revision_of(document_path(output_dir).read_bytes()):
                        bottle.abort(409, "episode.json changed since this page loaded it")
                    result = save_and_render(output_dir, document)
            except EpisodeBusy as error:
                bottle.abort(423, str(error))
            except PpodError as error:
                bottle.abort(400, str(error))
            return {
                "revision": result.revision,
                "document": result.document.model_dump(mode="json"),
                "backup": result.backup.name if result.backup else None,
                "seconds": round(result.render.seconds, 3),
                "notes": result.notes,
            }

    @app.post("/api/audio-edit")
    def post_audio_edit() -> dict[str, Any]:
        """Redact or cut words ``first..last`` (the page's count, 0-based), or undo the
        latest audio edit: the MP3 is re-mastered from the recordings, so this takes as long
        as the episode's audio stages (the page says so while it waits)."""
        from ..remaster import Selection, apply_edit, undo_edit

        try:
            body = parse_audio_edit(bottle.request.body.read(64 * 1024))
        except BadBody as error:
            bottle.abort(400, str(error))
        with lock:
            try:
                if body.get("revision") != revision_of(document_path(output_dir).read_bytes()):
                    bottle.abort(409, "episode.json changed since this page loaded it")
                if body["kind"] == "undo":
                    result = undo_edit(output_dir, wait=False)
                else:
                    selection = Selection(words=f"{body['first']}-{body['last']}")
                    result = apply_edit(output_dir, body["kind"], selection,
                                        mode=body.get("mode"), wait=False)  # fmt: skip
            except EpisodeBusy as error:
                bottle.abort(423, str(error))
            except PpodError as error:
                bottle.abort(400 if error.exit_code == 2 else 500, str(error))
            document, data = load_episode_bytes(output_dir)
            return {
                "revision": revision_of(data),
                "document": document.model_dump(mode="json"),
                "seconds": round(result.seconds, 1),
                "added": [e.model_dump(mode="json") for e in result.added],
                "undone": [e.model_dump(mode="json") for e in result.removed],
            }

    @app.error(400)
    @app.error(500)
    @app.error(403)
    @app.error(404)
    @app.error(409)
    @app.error(423)
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
        # A publication a crash interrupted is finished before the page is served (skipped
        # while another command holds the lock: it does the same).
        if self.output_dir.is_dir():
            with contextlib.suppress(EpisodeBusy), locked_episode(self.output_dir, wait=False):
                pass
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
        self._launch_folder: Path | None = None

    def _listen(self, port: int) -> WSGIServer:
        return make_server(
            HOST, port, self.app, server_class=_ThreadingServer, handler_class=_QuietHandler
        )

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self._server.server_port}/?token={self.token}"

    def start(self) -> str:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self.url

    def launch_file(self) -> Path:
        """A page that forwards the browser to :attr:`url`, in a fresh folder (0700) as a file
        only the user can read or write (0600), so the browser's command line carries its
        path, never the token. Removed by :meth:`stop`."""
        if self._launch_folder is None:
            self._launch_folder = Path(tempfile.mkdtemp(prefix="ppod-edit-"))
        path = self._launch_folder / "open-editor.html"
        path.unlink(missing_ok=True)
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(LAUNCH_PAGE.format(url=html.escape(self.url)))
        return path

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._launch_folder is not None:
            shutil.rmtree(self._launch_folder, ignore_errors=True)
            self._launch_folder = None

    def __enter__(self) -> EditorServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
