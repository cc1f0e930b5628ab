"""A loopback Hugging Face Hub for tests: the routes huggingface_hub's snapshot_download and
hf_hub_download call, served from memory by a thread on 127.0.0.1 (``HF_ENDPOINT=server.url``).

Routes (as the real Hub answers them, headers included):

- ``GET /api/models/ORG/REPO[/revision/REV]``: repo info with the resolved commit ``sha``;
- ``GET /api/models/ORG/REPO/tree/REV``: the file list of a commit (LFS entries with sha256);
- ``HEAD|GET /ORG/REPO/resolve/REV/FILE``: the file, with ``X-Repo-Commit`` and ``ETag``;

and the upload path of ``HfApi.create_repo`` / ``create_commit`` for small files:
``POST /api/repos/create``, ``/api/validate-yaml``, ``/api/models/ORG/REPO/preupload/REV``
(every file "regular", so no LFS transfer) and ``/api/models/ORG/REPO/commit/REV`` (the
ndjson commit with base64 file contents), which adds a commit on top of the branch.

Unknown repositories, revisions and files get 404 with the Hub's ``X-Error-Code``
(RepoNotFound, RevisionNotFound, EntryNotFound), which huggingface_hub turns into its errors.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

_INFO = re.compile(r"^/api/models/([^/]+/[^/]+)(?:/revision/([^/]+))?$")
_TREE = re.compile(r"^/api/models/([^/]+/[^/]+)/tree/([^/]+)$")
_RESOLVE = re.compile(r"^/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$")
_PREUPLOAD = re.compile(r"^/api/models/([^/]+/[^/]+)/preupload/([^/]+)$")
_COMMIT = re.compile(r"^/api/models/([^/]+/[^/]+)/commit/([^/]+)$")


class FakeHub:
    """In-memory repositories: ``commit(repo, files)`` adds a commit on a branch."""

    def __init__(self) -> None:
        self.commits: dict[str, dict[str, dict[str, bytes]]] = {}  # repo -> commit -> files
        self.refs: dict[str, dict[str, str]] = {}  # repo -> branch -> commit
        self.requests: list[str] = []
        self._server: ThreadingHTTPServer | None = None

    def commit(self, repo: str, files: dict[str, bytes], branch: str = "main") -> str:
        digest = hashlib.sha1(repr(sorted(files.items())).encode() + repo.encode())
        sha = digest.hexdigest()
        self.commits.setdefault(repo, {})[sha] = dict(files)
        self.refs.setdefault(repo, {})[branch] = sha
        return sha

    def resolve(self, repo: str, revision: str | None) -> str | None:
        revision = revision or "main"
        if revision in self.commits.get(repo, {}):
            return revision
        return self.refs.get(repo, {}).get(revision)

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the server first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeHub:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_HEAD(self) -> None:  # noqa: N802 (http.server's naming)
                hub._answer(self, body=False)

            def do_GET(self) -> None:  # noqa: N802
                hub._answer(self, body=True)

            def do_POST(self) -> None:  # noqa: N802
                hub._upload(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # ---- routes ----------------------------------------------------------------------------
    def _answer(self, request: BaseHTTPRequestHandler, body: bool) -> None:
        path = unquote(urlsplit(request.path).path)
        self.requests.append(f"{request.command} {path}")
        if match := _TREE.match(path):
            self._tree(request, match[1], match[2])
        elif match := _INFO.match(path):
            self._info(request, match[1], match[2])
        elif match := _RESOLVE.match(path):
            self._file(request, match[1], match[2], match[3], body)
        else:
            _send(request, 404, b"not found", {"X-Error-Code": "RepoNotFound"})

    def _upload(self, request: BaseHTTPRequestHandler) -> None:
        path = unquote(urlsplit(request.path).path)
        self.requests.append(f"POST {path}")
        data = request.rfile.read(int(request.headers.get("Content-Length", 0)))
        if path == "/api/repos/create":
            repo = "{organization}/{name}".format(**json.loads(data))
            self.commits.setdefault(repo, {})
            _send_json(request, {"url": f"{self.url}/{repo}"})
        elif path == "/api/validate-yaml":
            _send_json(request, {"warnings": []})
        elif match := _PREUPLOAD.match(path):
            files = json.loads(data)["files"]
            _send_json(request, {"files": [{"path": f["path"], "uploadMode": "regular",
                                            "shouldIgnore": False} for f in files]})
        elif match := _COMMIT.match(path):
            repo, branch = match[1], match[2]
            parent = self.refs.get(repo, {}).get(branch)
            files = dict(self.commits.get(repo, {}).get(parent, {})) if parent else {}
            for line in data.splitlines():
                item = json.loads(line)
                if item["key"] == "file":
                    files[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
            sha = self.commit(repo, files, branch)
            _send_json(request, {"commitUrl": f"{self.url}/{repo}/commit/{sha}", "commitOid": sha,
                                 "pullRequestUrl": None})
        else:
            _send(request, 404, b"not found", {"X-Error-Code": "RepoNotFound"})

    def _found(self, request: BaseHTTPRequestHandler, repo: str, revision: str | None) -> str | None:
        if repo not in self.commits:
            _send(request, 404, b'{"error": "Repository not found"}', {"X-Error-Code": "RepoNotFound"})
            return None
        sha = self.resolve(repo, revision)
        if sha is None:
            _send(request, 404, b'{"error": "Invalid rev id"}', {"X-Error-Code": "RevisionNotFound"})
        return sha

    def _info(self, request: BaseHTTPRequestHandler, repo: str, revision: str | None) -> None:
        sha = self._found(request, repo, revision)
        if sha:
            files = self.commits[repo][sha]
            _send_json(request, {"id": repo, "modelId": repo, "sha": sha, "private": False,
                                 "siblings": [{"rfilename": name} for name in sorted(files)]})

    def _tree(self, request: BaseHTTPRequestHandler, repo: str, revision: str) -> None:
        sha = self._found(request, repo, revision)
        if sha:
            entries = []
            for name, data in sorted(self.commits[repo][sha].items()):
                entry: dict[str, Any] = {"type": "file", "path": name, "size": len(data),
                                         "oid": hashlib.sha1(data).hexdigest()}
                if not name.endswith((".json", ".md")):
                    entry["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data),
                                    "pointerSize": 134}
                entries.append(entry)
            _send_json(request, entries)

    def _file(self, request: BaseHTTPRequestHandler, repo: str, revision: str, name: str,
              body: bool) -> None:
        sha = self._found(request, repo, revision)
        if not sha:
            return
        data = self.commits[repo][sha].get(name)
        if data is None:
            _send(request, 404, b"Entry not found", {"X-Error-Code": "EntryNotFound",
                                                     "X-Repo-Commit": sha})
            return
        headers = {"X-Repo-Commit": sha, "ETag": f'"{hashlib.sha256(data).hexdigest()}"',
                   "Content-Type": "application/octet-stream"}
        _send(request, 200, data, headers, body)


def _send_json(request: BaseHTTPRequestHandler, payload: Any) -> None:
    _send(request, 200, json.dumps(payload).encode(), {"Content-Type": "application/json"})


def _send(request: BaseHTTPRequestHandler, status: int, data: bytes, headers: dict[str, str],
          body: bool = True) -> None:
    request.send_response(status)
    for key, value in headers.items():
        request.send_header(key, value)
    request.send_header("Content-Length", str(len(data)))
    request.end_headers()
    if body:
        request.wfile.write(data)
