"""A fake Hugging Face hub on 127.0.0.1, for tests: the endpoints huggingface_hub's downloads use.

huggingface_hub (0.36: ``hf_api.py``, ``file_download.py``, ``_snapshot_download.py``) asks

* ``GET /api/models/{repo_id}/revision/{revision}`` (``HfApi.model_info``): JSON with ``id``, ``sha`` (the commit)
  and ``siblings`` (``[{"rfilename": ...}]``); an unknown repository is a 404 with ``X-Error-Code: RepoNotFound``,
  an unknown revision one with ``RevisionNotFound``;
* ``HEAD /{repo_id}/resolve/{revision}/{filename}`` (``get_hf_file_metadata``, redirects not followed): the commit
  in ``X-Repo-Commit``, the blob's ``ETag`` and ``Content-Length``; a file stored with LFS (the weights here)
  answers ``302`` to a CDN URL with ``X-Linked-Etag`` (its sha256) and ``X-Linked-Size``, as the hub does; a
  missing file is a 404 with ``X-Error-Code: EntryNotFound`` (and ``X-Repo-Commit``);
* ``GET`` of the same URL, or of the CDN URL, for the bytes, with ``Range: bytes=N-`` when it resumes a file
  whose download was cut off (answered ``206`` with ``Content-Range``).

:class:`FakeHub` holds repositories as commits of ``{filename: bytes}`` with branches and tags, logs every
request, and can cut a file's download off halfway (the headers promise the whole file, half the body comes,
the connection closes). It serves from daemon threads with bounded socket timeouts; :meth:`FakeHub.stop`
shuts it down.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

LFS_SUFFIXES = (".safetensors", ".bin", ".model", ".onnx")  # served through the "CDN" redirect, as on the hub


def git_blob_sha(data: bytes) -> str:
    """The git object id of a file's content (the ETag the hub gives a file stored in git)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Repo:
    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)  # commit -> files
    refs: dict[str, str] = field(default_factory=dict)  # branch or tag -> commit


class FakeHub:
    """The fake hub: repositories, the request log, the failures to stage, and the server."""

    def __init__(self) -> None:
        self.repos: dict[str, Repo] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request, in order
        self.headers: list[dict[str, str]] = []  # the headers of each request, in the same order
        self.cut_off: dict[str, int] = {}  # file name -> how many more GETs of it to cut off halfway
        self.vanished: set[str] = set()  # file names listed by the API but answered 404 by resolve
        self.cache: Path | None = None  # the Hugging Face cache a test points huggingface_hub at, if any
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- content ------------------------------------------------------------------------------------------
    def add_commit(
        self, repo_id: str, files: Mapping[str, bytes], branch: str = "main", tags: tuple[str, ...] = ()
    ) -> str:
        """Commit ``files`` (the whole tree) to ``repo_id`` on ``branch``, tagged ``tags``; return the commit."""
        repo = self.repos.setdefault(repo_id, Repo())
        parent = repo.refs.get(branch, "")
        digest = hashlib.sha1(parent.encode())
        for name in sorted(files):
            digest.update(f"{name}\0{git_blob_sha(files[name])}\n".encode())
        commit = digest.hexdigest()
        repo.commits[commit] = dict(files)
        for ref in (branch, *tags):
            repo.refs[ref] = commit
        return commit

    def _commit(self, repo: Repo, revision: str) -> str | None:
        if revision in repo.commits:
            return revision
        return repo.refs.get(revision)

    def _blob(self, sha256: str) -> bytes | None:
        for repo in self.repos.values():
            for files in repo.commits.values():
                for data in files.values():
                    if hashlib.sha256(data).hexdigest() == sha256:
                        return data
        return None

    def count(self, method: str | None = None, contains: str = "") -> int:
        """How many requests were made (of ``method``, whose path contains ``contains``)."""
        with self._lock:
            return sum(1 for m, p in self.requests if (method is None or m == method) and contains in p)

    # -- the server ---------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None, "start() the hub first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeHub:
        hub = self

        class Handler(_Handler):
            fake = hub

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the hub: every answer has a Content-Length
    timeout = 10  # an idle kept-alive connection is closed after this many seconds
    fake: FakeHub

    def log_message(self, format: str, *args: object) -> None:
        pass  # the request log is FakeHub.requests

    def do_HEAD(self) -> None:
        self._route(body=False)

    def do_GET(self) -> None:
        self._route(body=True)

    # -- routing ------------------------------------------------------------------------------------------
    def _route(self, body: bool) -> None:
        path = urlsplit(self.path).path
        with self.fake._lock:
            self.fake.requests.append((self.command, path))
            self.fake.headers.append(dict(self.headers))
        if path.startswith("/api/models/"):
            self._model_info(path.removeprefix("/api/models/"))
        elif path.startswith("/cdn/"):
            self._cdn(path.removeprefix("/cdn/"), body)
        elif "/resolve/" in path:
            repo_id, _, rest = path.lstrip("/").partition("/resolve/")
            revision, _, filename = rest.partition("/")
            self._resolve(unquote(repo_id), unquote(revision), unquote(filename), body)
        else:
            self._error(404, "NotFound", "no such endpoint")

    def _repo_commit(self, repo_id: str, revision: str) -> tuple[Repo, str] | None:
        repo = self.fake.repos.get(repo_id)
        if repo is None:
            self._error(404, "RepoNotFound", "Repository not found")
            return None
        commit = self.fake._commit(repo, revision)
        if commit is None:
            self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
            return None
        return repo, commit

    def _model_info(self, rest: str) -> None:
        repo_id, _, revision = rest.partition("/revision/")
        found = self._repo_commit(unquote(repo_id), unquote(revision) or "main")
        if found is None:
            return
        repo, commit = found
        data = {
            "id": unquote(repo_id),
            "modelId": unquote(repo_id),
            "sha": commit,
            "private": False,
            "siblings": [{"rfilename": name} for name in sorted(repo.commits[commit])],
        }
        self._send(200, json.dumps(data).encode(), {"Content-Type": "application/json"})

    def _resolve(self, repo_id: str, revision: str, filename: str, body: bool) -> None:
        found = self._repo_commit(repo_id, revision)
        if found is None:
            return
        repo, commit = found
        files = repo.commits[commit]
        if filename not in files or filename in self.fake.vanished:
            self._error(404, "EntryNotFound", f"{filename} does not exist", {"X-Repo-Commit": commit})
            return
        data = files[filename]
        headers = {"X-Repo-Commit": commit}
        if filename.endswith(LFS_SUFFIXES):
            sha256 = hashlib.sha256(data).hexdigest()
            headers.update(
                {
                    "Location": f"{self.fake.url}/cdn/{sha256}",
                    "X-Linked-Etag": f'"{sha256}"',
                    "X-Linked-Size": str(len(data)),
                    "ETag": f'"{git_blob_sha(sha256.encode())}"',
                }
            )
            self._send(302, b"", headers)
            return
        headers["ETag"] = f'"{git_blob_sha(data)}"'
        self._content(filename, data, headers, body)

    def _cdn(self, sha256: str, body: bool) -> None:
        data = self.fake._blob(sha256)
        if data is None:
            self._error(404, "NotFound", "no such blob")
            return
        name = next(
            (n for r in self.fake.repos.values() for f in r.commits.values() for n, d in f.items() if d is data),
            sha256,
        )
        self._content(name, data, {"ETag": f'"{sha256}"'}, body)

    # -- answers ------------------------------------------------------------------------------------------
    def _content(self, name: str, data: bytes, headers: dict[str, str], body: bool) -> None:
        start = 0
        status = 200
        wanted = self.headers.get("Range")
        if wanted and wanted.startswith("bytes=") and wanted.endswith("-"):
            start = int(wanted.removeprefix("bytes=").removesuffix("-"))
            if start >= len(data):
                self._send(416, b"", {"Content-Range": f"bytes */{len(data)}"})
                return
            status = 206
            headers = {**headers, "Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"}
        part = data[start:]
        if not body:
            self._send(status, b"", {**headers, "Content-Length": str(len(part))}, head=True)
            return
        with self.fake._lock:
            cut = self.fake.cut_off.get(name, 0) > 0
            if cut:
                self.fake.cut_off[name] -= 1
        if not cut:
            self._send(status, part, headers)
            return
        # promise the whole file, send half of it, and drop the connection
        self.send_response(status)
        for key, value in {**headers, "Content-Length": str(len(part))}.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(part[: len(part) // 2])
        self.wfile.flush()
        self.close_connection = True
        with contextlib.suppress(OSError):  # the client may have gone already
            self.connection.shutdown(socket.SHUT_RDWR)

    def _error(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        body = json.dumps({"error": message}).encode()
        self._send(
            status,
            body,
            {"X-Error-Code": code, "X-Error-Message": message, "Content-Type": "application/json", **(headers or {})},
        )

    def _send(self, status: int, body: bytes, headers: dict[str, str], head: bool = False) -> None:
        self.send_response(status)
        if not head:
            headers = {**headers, "Content-Length": str(len(body))}
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if body and not head and self.command != "HEAD":
            self.wfile.write(body)
