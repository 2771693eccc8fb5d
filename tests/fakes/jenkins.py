"""A fake Jenkins (REST API shapes of ../shared/reference/external-apis.md) for the Jenkins adapter's tests.

What it models: Basic auth with one user and API token; the crumb issuer (session cookie + crumb) and a
mode in which every POST must carry the crumb of its session; folders and jobs with their ``config.xml``;
``createItem`` (XML body, or a form with ``mode``); ``build``/``buildWithParameters`` → 201 + ``Location``
of a queue item that waits ``queue_waits`` polls (with a ``why``) and then starts a build; builds that
advance one stage per poll (a GET of the build's ``api/json`` or ``logText/progressiveText``) and grow their
log; ``wfapi/describe`` stages; ``stop``; and injected failures (401/403/404/500) and stalls (timeouts).
Every answer carries ``X-Jenkins``, as the real server does.
"""

from __future__ import annotations

import asyncio
import base64
import re
import secrets
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl, quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

VERSION = "2.479.3"
SESSION_COOKIE = "JSESSIONID.fa4e0001"
FOLDER_CLASS = "com.cloudbees.hudson.plugins.folder.Folder"
JOB_CLASSES = {
    "flow-definition": "org.jenkinsci.plugins.workflow.job.WorkflowJob",
    "project": "hudson.model.FreeStyleProject",
}
RUN_CLASS = "org.jenkinsci.plugins.workflow.job.WorkflowRun"
QUIET_PERIOD = "In the quiet period. Expires in 4.9 sec"
WAITING_EXECUTOR = "Waiting for next available executor"
NO_CRUMB = "No valid crumb was included in the request"
STAGE_MS = 1500
EPOCH_MS = 1_764_000_000_000  # 2025-11-24T16:00:00Z: build timestamps are EPOCH_MS + number * 60 s
_BAD_NAME = re.compile(r"[?*/\\%!@#$^&|<>\[\]:;]")
_RANGE = re.compile(r"builds\[[^\]]*\]\{(\d*),(\d*)\}")
CrumbMode = Literal["token-exempt", "always", "disabled"]


@dataclass
class FakeBuild:
    """One run of a job: stages finish one per poll, each adding to the log."""

    job: str
    number: int
    parameters: dict[str, str]
    stages: list[str]
    fail_stage: str | None = None
    output: list[bytes] | None = None  # raw log pieces, one per poll, instead of stage logs
    test_report: dict[str, Any] | None = None  # the testReport/api/json body, or None for a 404
    commit: str | None = None  # lastBuiltRevision.SHA1 of the git plugin's BuildData action
    statuses: list[str] = field(default_factory=list)
    log: bytearray = field(default_factory=bytearray)
    building: bool = True
    result: str | None = None

    def __post_init__(self) -> None:
        self.log += b"Started by user Timbel Bot\n[Pipeline] Start of Pipeline\n"
        self.statuses = ["IN_PROGRESS"] if self.stages else []

    @property
    def timestamp(self) -> int:
        """Start time in epoch milliseconds."""
        return EPOCH_MS + self.number * 60_000

    @property
    def duration(self) -> int:
        """0 while running (as Jenkins reports it), else the time of the stages that ran."""
        return 0 if self.building else STAGE_MS * len(self.statuses)

    def advance(self) -> None:
        """Finish the running stage; start the next one or finish the build."""
        if not self.building:
            return
        if self.output is not None:
            if self.output:
                self.log += self.output.pop(0)
            if not self.output:
                self._finish("SUCCESS")
            return
        if not self.stages:
            self._finish("SUCCESS")
            return
        index = len(self.statuses) - 1
        name = self.stages[index]
        self.log += f"[Pipeline] {{ ({name})\n단계 {name} 실행 중\n[Pipeline] }}\n".encode()
        if name == self.fail_stage:
            self.statuses[index] = "FAILED"
            self.log += f"ERROR: {name} 실패\n".encode()
            self._finish("FAILURE")
        elif index + 1 < len(self.stages):
            self.statuses[index] = "SUCCESS"
            self.statuses.append("IN_PROGRESS")
        else:
            self.statuses[index] = "SUCCESS"
            self._finish("SUCCESS")

    def abort(self, *, by: str) -> None:
        """Abort the build (the running stage becomes ABORTED)."""
        if not self.building:
            return
        if self.statuses:
            self.statuses[-1] = "ABORTED"
        self.log += f"Aborted by {by}\n".encode()
        self._finish("ABORTED")

    def _finish(self, result: str) -> None:
        self.log += b"[Pipeline] End of Pipeline\n" + f"Finished: {result}\n".encode()
        self.building, self.result = False, result


@dataclass
class FakeItem:
    """A folder or a job with its stored ``config.xml`` and builds."""

    path: str
    config_xml: str
    folder: bool
    job_class: str = JOB_CLASSES["flow-definition"]
    builds: dict[int, FakeBuild] = field(default_factory=dict)
    next_number: int = 1
    stages: list[str] = field(default_factory=lambda: ["Checkout", "Build", "Test"])
    fail_stage: str | None = None
    output: list[bytes] | None = None
    test_report: dict[str, Any] | None = None
    commit: str | None = None


@dataclass
class FakeQueueItem:
    """A triggered build waiting in the queue (``waits_left`` more polls), cancelled, or started."""

    id: int
    job: str
    parameters: dict[str, str]
    waits_left: int
    cancelled: bool = False
    number: int | None = None


@dataclass
class Failure:
    """An injected answer: ``status`` for paths starting with ``prefix`` (``times`` more, or forever)."""

    status: int
    prefix: str = "/"
    times: int | None = None


@dataclass
class JenkinsState:
    """Everything the fake knows; tests arrange it and read it back."""

    version: str = VERSION
    username: str = "timbel"
    api_token: str = "11aa22bb33cc44dd55ee66ff77aa88bb99"
    crumb_mode: CrumbMode = "token-exempt"
    can_create: bool = True
    read_denied: set[str] = field(default_factory=set)
    wfapi: bool = True
    queue_waits: int = 2
    stall_seconds: float = 0.0
    stall_prefix: str = "/"
    failures: list[Failure] = field(default_factory=list)
    items: dict[str, FakeItem] = field(default_factory=dict)
    queue: dict[int, FakeQueueItem] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)  # session id → crumb
    next_queue_id: int = 7
    stages_from_script: bool = False  # an uploaded inline pipeline's stage('…') names become the job's stages
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add_folder(self, path: str, *, config_xml: str = "") -> FakeItem:
        """Create a folder directly (no request)."""
        xml = config_xml or f"<{FOLDER_CLASS}><description/></{FOLDER_CLASS}>"
        self.items[path] = FakeItem(path, xml, folder=True, job_class=FOLDER_CLASS)
        return self.items[path]

    def add_job(self, path: str, *, config_xml: str = "<flow-definition/>", **options: Any) -> FakeItem:
        """Create a job directly (no request); ``options`` set ``stages``/``fail_stage``/``output``."""
        self.items[path] = FakeItem(path, config_xml, folder=False, **options)
        return self.items[path]

    def fail(self, status: int, *, prefix: str = "/", times: int | None = None) -> None:
        """Answer ``status`` under ``prefix`` (``times`` times, or until ``failures`` is cleared)."""
        self.failures.append(Failure(status, prefix, times))

    def cancel(self, queue_id: int) -> None:
        """Cancel a queue item (as a user pressing the ✕ in the build queue)."""
        self.queue[queue_id].cancelled = True

    def start_build(self, job: str, parameters: dict[str, str]) -> FakeBuild:
        """Start the next build of ``job`` now."""
        item = self.items[job]
        build = FakeBuild(
            job,
            item.next_number,
            dict(parameters),
            list(item.stages),
            item.fail_stage,
            output=None if item.output is None else list(item.output),
            test_report=item.test_report,
            commit=item.commit,
        )
        item.builds[build.number] = build
        item.next_number += 1
        return build


def create_app(state: JenkinsState | Callable[[], JenkinsState]) -> Starlette:
    """The fake as an ASGI app over ``state`` (or over whatever state the callable returns per request)."""
    current = state if callable(state) else (lambda: state)

    async def endpoint(request: Request) -> Response:
        now = current()
        if now.stall_seconds and request.url.path.startswith(now.stall_prefix):
            await asyncio.sleep(now.stall_seconds)
        body = await request.body()
        with now.lock:
            response = _handle(now, request, body)
        if now.version:
            response.headers["X-Jenkins"] = now.version
        response.headers["X-Jenkins-Session"] = "fa4e0001"
        return response

    return Starlette(routes=[Route("/{path:path}", endpoint, methods=["GET", "POST"])])


def _handle(state: JenkinsState, request: Request, body: bytes) -> Response:
    injected = _injected(state, request.url.path)
    if injected is not None:
        return injected
    denied = _authenticate(state, request)
    if denied is not None:
        return denied
    if request.method == "POST" and state.crumb_mode == "always" and not _crumb_ok(state, request):
        return _text(403, f"HTTP ERROR 403 {NO_CRUMB}")
    segments = [s for s in request.url.path.split("/") if s]
    names: list[str] = []
    while len(segments) >= 2 and segments[0] == "job":
        names.append(segments[1])
        segments = segments[2:]
    if names:
        return _item_action(state, request, body, "/".join(names), segments)
    return _root_action(state, request, body, segments)


def _injected(state: JenkinsState, path: str) -> Response | None:
    for failure in state.failures:
        if path.startswith(failure.prefix) and failure.times != 0:
            if failure.times is not None:
                failure.times -= 1
            return _failure_response(state, failure.status)
    return None


def _failure_response(state: JenkinsState, status: int) -> Response:
    if status == 401:
        return _text(401, f"Invalid password/token for user: {state.username}")
    if status == 403:
        return _text(403, f"{state.username} is missing the Overall/Read permission")
    if status == 404:
        return _text(404, "HTTP ERROR 404 Not Found")
    return _text(status, "Oops! A problem occurred while processing the request.")


def _authenticate(state: JenkinsState, request: Request) -> Response | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return Response(
            "Authentication required", status_code=403, headers={"X-You-Are-Authenticated-As": "anonymous"}
        )
    try:
        user, _, token = base64.b64decode(header[6:]).decode().partition(":")
    except ValueError:
        return _text(401, "Invalid password/token for user: ?")
    if user != state.username or not secrets.compare_digest(token, state.api_token):
        return _text(401, f"Invalid password/token for user: {user}")
    return None


def _crumb_ok(state: JenkinsState, request: Request) -> bool:
    session = request.cookies.get(SESSION_COOKIE)
    crumb = request.headers.get("jenkins-crumb")
    return bool(session and crumb and state.sessions.get(session) == crumb)


def _root_action(state: JenkinsState, request: Request, body: bytes, rest: list[str]) -> Response:
    route = "/".join(rest)
    base = str(request.base_url).rstrip("/")
    if request.method == "GET" and route == "":
        return Response("<html><title>Dashboard [Jenkins]</title></html>", media_type="text/html")
    if request.method == "GET" and route == "api/json":
        return JSONResponse(
            {
                "_class": "hudson.model.Hudson",
                "mode": "NORMAL",
                "nodeDescription": "the built-in node",
                "useCrumbs": state.crumb_mode != "disabled",
                "useSecurity": True,
                "jobs": _children(state, "", base),
            }
        )
    if request.method == "GET" and route == "whoAmI/api/json":
        return JSONResponse(
            {
                "_class": "hudson.security.WhoAmI",
                "anonymous": False,
                "authenticated": True,
                "authorities": ["authenticated"],
                "details": None,
                "name": state.username,
                "toString": f"UsernamePasswordAuthenticationToken [Principal={state.username}]",
            }
        )
    if request.method == "GET" and route == "me/api/json":
        return JSONResponse(
            {
                "_class": "hudson.model.User",
                "absoluteUrl": f"{base}/user/{state.username}",
                "fullName": "Timbel Bot",
                "id": state.username,
                "property": [],
            }
        )
    if request.method == "GET" and route == "crumbIssuer/api/json":
        return _crumb(state, request)
    match = re.fullmatch(r"queue/item/(\d+)/api/json", route)
    if request.method == "GET" and match:
        return _queue_item(state, int(match.group(1)), base)
    if request.method == "POST" and route == "createItem":
        return _create_item(state, request, body, parent="")
    if request.method == "POST" and route == "queue/cancelItem":
        entry = state.queue.get(int(request.query_params.get("id", "0") or 0))
        if entry is None:
            return _text(404, "HTTP ERROR 404 Not Found")
        if entry.number is None:
            entry.cancelled = True
        return Response(status_code=302, headers={"Location": f"{base}/queue/"})
    return _text(404, "HTTP ERROR 404 Not Found")


def _crumb(state: JenkinsState, request: Request) -> Response:
    if state.crumb_mode == "disabled":
        return _text(404, "HTTP ERROR 404 Not Found")
    session = request.cookies.get(SESSION_COOKIE) or secrets.token_hex(8)
    crumb = state.sessions.setdefault(session, secrets.token_hex(16))
    response = JSONResponse(
        {
            "_class": "hudson.security.csrf.DefaultCrumbIssuer",
            "crumb": crumb,
            "crumbRequestField": "Jenkins-Crumb",
        }
    )
    response.set_cookie(SESSION_COOKIE, session, path="/", httponly=True)
    return response


def _item_action(state: JenkinsState, request: Request, body: bytes, path: str, rest: list[str]) -> Response:
    item = state.items.get(path)
    if item is None:
        return _text(404, "HTTP ERROR 404 Not Found")
    base = str(request.base_url).rstrip("/")
    route, method = "/".join(rest), request.method
    if method == "GET" and route == "api/json":
        if path in state.read_denied:
            return _text(403, f"{state.username} is missing the Job/Read permission")
        return JSONResponse(_item_json(state, item, base, request.query_params.get("tree", "")))
    if route == "config.xml":
        if method == "GET":
            return Response(item.config_xml, media_type="application/xml")
        if not request.headers.get("content-type", "").startswith(("application/xml", "text/xml")):
            return _text(400, "Content type must be application/xml")
        return _store_config(item, body, state) or Response(status_code=200)
    if method == "POST" and route == "createItem" and item.folder:
        return _create_item(state, request, body, parent=path)
    if method == "POST" and route in ("build", "buildWithParameters") and not item.folder:
        parameters = dict(request.query_params)
        if route == "buildWithParameters" and "form-urlencoded" in request.headers.get("content-type", ""):
            parameters.update(parse_qsl(body.decode()))
        return _enqueue(state, path, parameters if route == "buildWithParameters" else {}, base)
    if rest and rest[0].isdigit() and not item.folder:
        build = item.builds.get(int(rest[0]))
        if build is None:
            return _text(404, "HTTP ERROR 404 Not Found")
        return _build_action(state, request, build, "/".join(rest[1:]), f"{base}{_url(path)}")
    return _text(404, "HTTP ERROR 404 Not Found")


def _build_action(
    state: JenkinsState, request: Request, build: FakeBuild, route: str, job_url: str
) -> Response:
    url = f"{job_url}/{build.number}/"
    if request.method == "GET" and route == "api/json":
        build.advance()
        return JSONResponse(_build_json(build, url, full=True))
    if request.method == "GET" and route == "wfapi/describe":
        if not state.wfapi:
            return _text(404, "HTTP ERROR 404 Not Found")
        return JSONResponse(_describe(build, url))
    if request.method == "GET" and route == "logText/progressiveText":
        build.advance()
        start = int(request.query_params.get("start", "0") or 0)
        start = 0 if start > len(build.log) else start  # LargeText: "text rolled over"
        headers = {"X-Text-Size": str(len(build.log))}
        if build.building:
            headers["X-More-Data"] = "true"
        chunk = bytes(build.log[start:])
        return Response(chunk, media_type="text/plain;charset=UTF-8", headers=headers)
    if request.method == "GET" and route == "testReport/api/json":
        if build.test_report is None or build.building:
            return _text(404, "HTTP ERROR 404 Not Found")
        return JSONResponse({"_class": "hudson.tasks.junit.TestResult", **build.test_report})
    if request.method == "GET" and route == "consoleText":
        return Response(bytes(build.log), media_type="text/plain;charset=UTF-8")
    if request.method == "POST" and route == "stop":
        build.abort(by=state.username)
        return Response(status_code=302, headers={"Location": url})
    return _text(404, "HTTP ERROR 404 Not Found")


def _create_item(state: JenkinsState, request: Request, body: bytes, *, parent: str) -> Response:
    if not state.can_create:
        return _text(403, f"{state.username} is missing the Job/Create permission")
    content_type = request.headers.get("content-type", "")
    mode = request.query_params.get("mode")
    if not content_type and mode != "copy":
        return _text(400, "No Content-Type header set")
    name = request.query_params.get("name")
    if name is None:
        return _text(400, "Query parameter 'name' is required")
    path = f"{parent}/{name}" if parent else name
    if not name.strip() or _BAD_NAME.search(name):
        return _text(400, f"‘{name}’ is an unsafe character")
    if path in state.items:
        return _text(400, f"A job already exists with the name ‘{name}’")
    if content_type.startswith(("application/xml", "text/xml")):
        item = FakeItem(path, "", folder=False)
        failed = _store_config(item, body, state)
        if failed is not None:
            return failed
        state.items[path] = item
        return Response(status_code=200)
    if mode == FOLDER_CLASS:
        state.add_folder(path)
    elif mode in JOB_CLASSES.values():
        state.add_job(path)
    else:
        return _text(400, f"No item type ‘{mode}’ is known")
    base = str(request.base_url).rstrip("/")
    return Response(status_code=302, headers={"Location": f"{base}{_url(path)}/configure"})


def _store_config(item: FakeItem, body: bytes, state: JenkinsState | None = None) -> Response | None:
    """Parse and keep a config.xml; the root element decides folder or job (as XStream does)."""
    try:
        root = ET.fromstring(body)  # noqa: S314 - the test's own adapter sent it
    except ET.ParseError as exc:
        return _text(500, f"Failed to parse config.xml: {exc}")
    item.config_xml = body.decode("utf-8")
    item.folder = root.tag == FOLDER_CLASS
    item.job_class = FOLDER_CLASS if item.folder else JOB_CLASSES.get(root.tag, root.tag)
    script = root.findtext("definition/script")
    if state is not None and state.stages_from_script and script:
        item.stages = [_groovy_unquote(m.group(1)) for m in _STAGE_CALL.finditer(script)]
    return None


_STAGE_CALL = re.compile(r"^\s*stage\('((?:[^'\\]|\\.)*)'\)\s*\{", re.MULTILINE)


def _groovy_unquote(text: str) -> str:
    """The value of a single-quoted Groovy literal's body (\\, \\', \\$, \\n, \\t, \\uXXXX)."""
    simple = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}

    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        return chr(int(code[1:], 16)) if len(code) == 5 else simple.get(code, code)

    return re.sub(r"\\(u[0-9a-fA-F]{4}|.)", one, text)


def _enqueue(state: JenkinsState, job: str, parameters: dict[str, str], base: str) -> Response:
    queue_id = state.next_queue_id
    state.next_queue_id += 1
    state.queue[queue_id] = FakeQueueItem(queue_id, job, parameters, state.queue_waits)
    return Response(status_code=201, headers={"Location": f"{base}/queue/item/{queue_id}/"})


def _queue_item(state: JenkinsState, queue_id: int, base: str) -> Response:
    entry = state.queue.get(queue_id)
    if entry is None:
        return _text(404, "HTTP ERROR 404 Not Found")
    task = {
        "_class": state.items[entry.job].job_class,
        "name": entry.job.rsplit("/", 1)[-1],
        "url": f"{base}{_url(entry.job)}/",
        "color": "blue",
    }
    common = {
        "blocked": False,
        "id": queue_id,
        "inQueueSince": EPOCH_MS,
        "stuck": False,
        "task": task,
        "params": "".join(f"\n{k}={v}" for k, v in entry.parameters.items()),
        "url": f"queue/item/{queue_id}/",
    }
    if entry.cancelled:
        return JSONResponse(
            {
                "_class": "hudson.model.Queue$LeftItem",
                **common,
                "buildable": False,
                "why": None,
                "cancelled": True,
                "executable": None,
            }
        )
    if entry.number is None and entry.waits_left > 0:
        entry.waits_left -= 1
        waiting = entry.waits_left > 0
        return JSONResponse(
            {
                "_class": "hudson.model.Queue$WaitingItem" if waiting else "hudson.model.Queue$BuildableItem",
                **common,
                "buildable": not waiting,
                "why": QUIET_PERIOD if waiting else WAITING_EXECUTOR,
            }
        )
    if entry.number is None:
        entry.number = state.start_build(entry.job, entry.parameters).number
    executable = {
        "_class": RUN_CLASS,
        "number": entry.number,
        "url": f"{base}{_url(entry.job)}/{entry.number}/",
    }
    return JSONResponse(
        {
            "_class": "hudson.model.Queue$LeftItem",
            **common,
            "buildable": False,
            "why": None,
            "cancelled": False,
            "executable": executable,
        }
    )


def _item_json(state: JenkinsState, item: FakeItem, base: str, tree: str) -> dict[str, Any]:
    head = {
        "_class": item.job_class,
        "name": item.path.rsplit("/", 1)[-1],
        "fullName": item.path,
        "url": f"{base}{_url(item.path)}/",
    }
    if item.folder:
        return {**head, "jobs": _children(state, item.path, base)}
    builds = [item.builds[n] for n in sorted(item.builds, reverse=True)]
    match = _RANGE.search(tree)
    if match:
        low, high = int(match.group(1) or 0), int(match.group(2) or len(builds))
        builds = builds[low:high]
    job_url = f"{base}{_url(item.path)}"
    return {
        **head,
        "buildable": True,
        "color": "blue",
        "nextBuildNumber": item.next_number,
        "builds": [_build_json(b, f"{job_url}/{b.number}/", full="actions" in tree) for b in builds],
    }


def _children(state: JenkinsState, parent: str, base: str) -> list[dict[str, Any]]:
    prefix = f"{parent}/" if parent else ""
    return [
        {
            "_class": item.job_class,
            "name": path[len(prefix) :],
            "url": f"{base}{_url(path)}/",
            **({} if item.folder else {"color": "blue"}),
        }
        for path, item in sorted(state.items.items())
        if path.startswith(prefix) and "/" not in path[len(prefix) :]
    ]


def _build_json(build: FakeBuild, url: str, *, full: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "_class": RUN_CLASS,
        "number": build.number,
        "building": build.building,
        "result": build.result,
        "duration": build.duration,
        "timestamp": build.timestamp,
        "url": url,
    }
    if full:
        parameters = [
            {"_class": "hudson.model.StringParameterValue", "name": k, "value": v}
            for k, v in build.parameters.items()
        ]
        data |= {
            "displayName": f"#{build.number}",
            "id": str(build.number),
            "actions": [
                {"_class": "hudson.model.ParametersAction", "parameters": parameters},
                {
                    "_class": "hudson.model.CauseAction",
                    "causes": [{"shortDescription": "Started by user Timbel Bot"}],
                },
            ]
            + (
                [{"_class": "hudson.plugins.git.util.BuildData", "lastBuiltRevision": {"SHA1": build.commit}}]
                if build.commit
                else []
            ),
        }
    return data


def _describe(build: FakeBuild, url: str) -> dict[str, Any]:
    status = (
        "IN_PROGRESS"
        if build.building
        else {"SUCCESS": "SUCCESS", "ABORTED": "ABORTED"}.get(build.result or "", "FAILED")
    )
    stages = []
    for index, (name, stage_status) in enumerate(zip(build.stages, build.statuses, strict=False)):
        running = stage_status == "IN_PROGRESS"
        stages.append(
            {
                "_links": {"self": {"href": f"{url}execution/node/{index + 6}/wfapi/describe"}},
                "id": str(index + 6),
                "name": name,
                "execNode": "",
                "status": stage_status,
                "startTimeMillis": build.timestamp + index * STAGE_MS,
                "durationMillis": 0 if running else STAGE_MS,
                "pauseDurationMillis": 0,
            }
        )
    return {
        "_links": {"self": {"href": f"{url}wfapi/describe"}},
        "id": str(build.number),
        "name": f"#{build.number}",
        "status": status,
        "startTimeMillis": build.timestamp,
        "endTimeMillis": build.timestamp + build.duration,
        "durationMillis": build.duration,
        "queueDurationMillis": 5,
        "pauseDurationMillis": 0,
        "stages": stages,
    }


def _url(path: str) -> str:
    return "".join(f"/job/{quote(name, safe='')}" for name in path.split("/"))


def _text(status: int, text: str) -> Response:
    return Response(text, status_code=status, media_type="text/plain;charset=utf-8")
