"""Workflow runs survive `kill -9` (the protocol driven by hand, no SDK).

The workflow endpoint here is a small `http.server` on 127.0.0.1 that plays the SDK's part as
the reference describes it (workflow.md §0, §2, §3.2, §3.4, §3.6): each delivery is a JSON
array of raw steps `{messageId, body (base64), callType}` (element 0 = the initial payload);
the endpoint answers it by publishing the next step (`Upstash-Workflow-Init: false`, body = one
JSON `Step`) and, after the last one, `DELETE /v2/workflows/runs/{id}?cancel=false`. Like the
SDKs it keeps nothing between calls but what it records for the assertions; every step it
publishes carries a fresh nonce, so a step found twice in a run's log is either two publishes
of the endpoint (allowed: a redelivered step is run again, at-least-once) or a server bug.

The server runs on a durable data dir and is killed with SIGKILL mid-run, then restarted on the
same data dir and ports.
"""

from __future__ import annotations

import base64
import collections
import dataclasses
import http.server
import json
import secrets
import socketserver
import threading
import time
from pathlib import Path
from typing import Callable, Optional

import httpx
import pytest

from qstash_support import QStashEnv, new_signing_key, start_qstash_server, wait_until

STEPS = 10  # steps per run in the crash test (after the initial payload)
RUNS = 6
HOLD_S = 0.04  # how long the endpoint works on a delivery (widens the crash window)


# --------------------------------------------------------------------------- the endpoint


@dataclasses.dataclass
class Delivery:
    path: str
    run_id: str
    message_id: str
    retried: str
    headers: dict
    body: bytes
    at: float

    def steps(self) -> list[dict]:
        return json.loads(self.body)


class Endpoint:
    """A threaded HTTP server on 127.0.0.1 calling `handlers[path](delivery) -> status`."""

    def __init__(self) -> None:
        self.handlers: dict[str, Callable[[Delivery], int]] = {}
        self.deliveries: list[Delivery] = []
        self.lock = threading.Lock()
        me = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                d = Delivery(
                    self.path,
                    self.headers.get("Upstash-Workflow-RunId") or "",
                    self.headers.get("Upstash-Message-Id") or "",
                    self.headers.get("Upstash-Retried") or "",
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    time.monotonic(),
                )
                with me.lock:
                    me.deliveries.append(d)
                handler = me.handlers.get(self.path)
                try:
                    status = handler(d) if handler else 404
                except Exception:  # noqa: BLE001 - a failed publish (server down) is a failed delivery
                    status = 500
                payload = json.dumps({"workflowRunId": d.run_id}).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Upstash-Workflow-Sdk-Version", "1")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    self.close_connection = True  # the server was killed meanwhile

            def log_message(self, *args) -> None:
                pass

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

            def handle_error(self, request, client_address) -> None:
                pass

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def received(self, path: Optional[str] = None, run_id: Optional[str] = None) -> list[Delivery]:
        with self.lock:
            return [d for d in self.deliveries if (path is None or d.path == path) and (run_id is None or d.run_id == run_id)]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


# --------------------------------------------------------------------------- protocol helpers


class Api:
    """Raw calls to stashd's QStash API (the server keeps its ports across restarts)."""

    def __init__(self, env: QStashEnv) -> None:
        self.env = env

    def call(self, method: str, path: str, headers: Optional[dict] = None, content=None, timeout: float = 5) -> httpx.Response:
        h = {"Authorization": f"Bearer {self.env.token}", **(headers or {})}
        return httpx.request(method, self.env.url + path, headers=h, content=content, timeout=timeout)

    def init(self, run_id: str, url: str, payload: str, **extra: str) -> str:
        r = self.call(
            "POST",
            f"/v2/publish/{url}",
            headers={
                "Content-Type": "application/json",
                "Upstash-Workflow-RunId": run_id,
                "Upstash-Workflow-Init": "true",
                "Upstash-Workflow-Url": url,
                "Upstash-Forward-Upstash-Workflow-Sdk-Version": "1",
                "Upstash-Feature-Set": "LazyFetch,InitialBody,WF_DetectTrigger,WF_TriggerOnConfig",
                **extra,
            },
            content=payload,
        )
        assert r.status_code in (200, 201), r.text
        return r.json()["messageId"]

    def step(self, run_id: str, url: str, step: dict, **extra: str) -> httpx.Response:
        return self.call(
            "POST",
            f"/v2/publish/{url}",
            headers={
                "Content-Type": "application/json",
                "Upstash-Workflow-RunId": run_id,
                "Upstash-Workflow-Init": "false",
                "Upstash-Workflow-Url": url,
                "Upstash-Forward-Upstash-Workflow-Sdk-Version": "1",
                **extra,
            },
            content=json.dumps(step),
        )

    def finish(self, run_id: str) -> httpx.Response:
        return self.call("DELETE", f"/v2/workflows/runs/{run_id}?cancel=false", content=json.dumps("done"))

    def run_log(self, run_id: str) -> Optional[list]:
        r = self.call("GET", f"/v2/workflows/runs/{run_id}")
        if r.status_code == 404:
            return None
        assert r.status_code == 200, r.text
        return r.json()

    def waiters(self, event_id: str) -> list:
        r = self.call("GET", f"/v2/waiters/{event_id}")
        assert r.status_code == 200, r.text
        return r.json()


def step_of(raw: dict) -> dict:
    return json.loads(base64.b64decode(raw["body"]))


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


@pytest.fixture
def wf_crash(tmp_path: Path):
    """A durable QStash server (restartable on the same data dir and ports) and an endpoint."""
    made: list = []

    def make() -> tuple[QStashEnv, Api, Endpoint]:
        data = tmp_path / f"data{len(made)}"
        data.mkdir()
        keys = (new_signing_key(), new_signing_key())
        env = QStashEnv(start_qstash_server(data_dir=data, keys=keys), keys)
        ep = Endpoint()
        made.append((env, ep))
        return env, Api(env), ep

    yield make
    for env, ep in made:
        env.close()
        ep.close()


def crash_and_restart(env: QStashEnv, down_s: float = 0.3) -> None:
    env.server.kill()  # SIGKILL
    time.sleep(down_s)
    env.server.start()
    env.restarted()


# --------------------------------------------------------------------------- the tests


def test_runs_in_flight_survive_kill9_with_exact_prefixes_and_no_doubled_steps(wf_crash):
    env, api, ep = wf_crash()
    lock = threading.Lock()
    published: dict[str, dict] = {}  # nonce -> {"run", "stepId", "messageId" (when acknowledged)}
    finished: dict[str, int] = {}  # run id -> status of its DELETE
    discarded = collections.Counter()

    def handle(d: Delivery) -> int:
        steps = d.steps()
        ids = [step_of(s)["stepId"] for s in steps[1:]]
        if ids and ids[-1] in ids[:-1]:
            with lock:
                discarded[d.run_id] += 1
            return 200  # a duplicate of a step already in the log: nothing to do (as the SDKs do)
        time.sleep(HOLD_S)
        nxt = (max(ids) if ids else 0) + 1
        if nxt > STEPS:
            r = api.finish(d.run_id)
            if r.status_code == 200 or (r.status_code == 400 and "ended" in r.text):
                with lock:
                    finished.setdefault(d.run_id, r.status_code)
                return 200
            return 500
        nonce = secrets.token_hex(8)
        out = json.dumps({"run": d.run_id, "step": nxt, "nonce": nonce, "after": steps[-1]["messageId"]})
        step = {"stepId": nxt, "stepName": f"s{nxt}", "stepType": "Run", "out": out, "concurrent": 1}
        with lock:
            published[nonce] = {"run": d.run_id, "stepId": nxt}
        r = api.step(d.run_id, ep.url("/wf"), step)
        if r.status_code not in (200, 201):
            return 500
        with lock:
            published[nonce]["messageId"] = r.json()["messageId"]
        return 200

    ep.handlers["/wf"] = handle
    url = ep.url("/wf")
    runs: dict[str, tuple[str, str]] = {}  # run id -> (initial payload, init message id)
    for i in range(RUNS):
        run_id = f"wfr_crash{i}_" + secrets.token_hex(4)
        payload = json.dumps({"run": i, "data": "x" * (i * 7)})
        runs[run_id] = (payload, api.init(run_id, url, payload, **{"Upstash-Forward-X-Run": run_id, "Upstash-Retry-Delay": "300"}))

    # Kill in the middle: some steps done, none of the runs finished.
    wait_until(lambda: len(ep.received("/wf")) >= RUNS * STEPS // 2, timeout=20, what="half of the steps")
    assert not finished, "a run finished before the crash: make the runs longer"
    before = len(ep.received("/wf"))
    crash_and_restart(env)

    wait_until(lambda: len(finished) == RUNS, timeout=40, what=f"all runs to finish (finished: {sorted(finished)})")
    for run_id in runs:
        wait_until(lambda: api.run_log(run_id) is None, what=f"run {run_id} to answer 404")
    assert len(ep.received("/wf")) > before

    for run_id, (payload, init_id) in runs.items():
        ds = ep.received("/wf", run_id)
        arrays = [d.steps() for d in ds]
        log = max(arrays, key=len)
        # Element 0 is the initial payload, from the init message.
        assert log[0] == {"messageId": init_id, "body": b64(payload), "callType": "step"}
        # Each delivery is exactly a prefix of the log, ending with the delivered message.
        for d, arr in zip(ds, arrays):
            assert arr == log[: len(arr)], f"{run_id}: a delivery is not a prefix of the log"
            assert arr[-1]["messageId"] == d.message_id, f"{run_id}: the last element is not the delivered message"
            assert d.headers.get("x-run") == run_id, "the run's user header was lost"
            assert d.headers.get("upstash-workflow-sdk-version") == "1"
        # Each logged step is one the endpoint published, under the message id it was given,
        # and no publish is in the log twice.
        nonces = []
        for raw in log[1:]:
            s = step_of(raw)
            out = json.loads(s["out"])
            nonce = out["nonce"]
            assert nonce in published and published[nonce]["run"] == run_id and published[nonce]["stepId"] == s["stepId"]
            if "messageId" in published[nonce]:
                assert raw["messageId"] == published[nonce]["messageId"]
            assert raw["callType"] == "step"
            nonces.append(nonce)
        assert len(nonces) == len(set(nonces)), f"{run_id}: a published step was appended twice"
        per_step = collections.Counter(step_of(r)["stepId"] for r in log[1:])
        tries = collections.Counter(p["stepId"] for p in published.values() if p["run"] == run_id)
        assert set(per_step) == set(range(1, STEPS + 1)), f"{run_id}: steps {sorted(per_step)}"
        for sid, n in per_step.items():
            assert n <= tries[sid], f"{run_id}: step {sid} is {n}x in the log but was published {tries[sid]}x"
        # The step whose delivery finished the run saw the whole run.
        assert step_of(log[-1])["stepId"] == STEPS


def test_a_wait_for_event_survives_kill9_and_is_resolved_by_notify(wf_crash):
    env, api, ep = wf_crash()
    run_id = "wfr_wait_" + secrets.token_hex(4)
    event_id = "evt-" + secrets.token_hex(4)
    url = ep.url("/wait")
    state: dict = {}

    def handle(d: Delivery) -> int:
        steps = d.steps()
        if len(steps) == 1:
            wait = {
                "url": url,
                "timeout": "1d",
                "timeoutUrl": url,
                "timeoutHeaders": {
                    "Upstash-Workflow-Runid": [run_id],
                    "Upstash-Workflow-Init": ["false"],
                    "Upstash-Workflow-CallType": ["step"],
                    "Upstash-Forward-Upstash-Workflow-Sdk-Version": ["1"],
                },
                "step": {"stepId": 1, "stepName": "wait", "stepType": "Wait", "waitEventId": event_id, "timeout": "1d", "concurrent": 1},
            }
            r = api.call(
                "POST",
                f"/v2/wait/{event_id}",
                headers={
                    "Content-Type": "application/json",
                    "Upstash-Workflow-RunId": run_id,
                    "Upstash-Workflow-Init": "false",
                    "Upstash-Workflow-Url": url,
                    "Upstash-Workflow-CallType": "step",
                    "Upstash-Forward-Upstash-Workflow-Sdk-Version": "1",
                },
                content=json.dumps(wait),
            )
            state["wait_status"] = r.status_code
            return 200 if 200 <= r.status_code < 300 else 500
        state["resolved"] = d
        r = api.finish(run_id)
        state["finish"] = r.status_code
        return 200 if r.status_code == 200 else 500

    ep.handlers["/wait"] = handle
    payload = json.dumps({"order": 42})
    init_id = api.init(run_id, url, payload, **{"Upstash-Forward-X-Tenant": "w"})
    wait_until(lambda: len(api.waiters(event_id)) == 1, what="the waiter")
    (w,) = api.waiters(event_id)

    crash_and_restart(env)
    assert api.waiters(event_id) == [w], "the waiter changed across the restart"
    time.sleep(0.5)
    assert "resolved" not in state, "the wait resolved without an event"

    r = api.call("POST", f"/v2/notify/{event_id}", content=b"event-data")
    assert 200 <= r.status_code < 300, r.text
    (resp,) = r.json()
    assert resp["messageId"] and resp["waiter"]["url"] == url
    wait_until(lambda: state.get("finish") == 200, what="the run to resume and finish")
    d: Delivery = state["resolved"]
    steps = d.steps()
    assert steps[0] == {"messageId": init_id, "body": b64(payload), "callType": "step"}
    assert len(steps) == 2 and steps[1]["messageId"] == d.message_id == resp["messageId"]
    s = step_of(steps[1])
    assert s["stepName"] == "wait" and s["stepType"] == "Wait" and s["waitEventId"] == event_id
    assert base64.b64decode(s["out"]) == b"event-data"
    assert not s.get("waitTimeout")
    assert d.headers.get("upstash-workflow-sdk-version") == "1" and d.headers.get("x-tenant") == "w"
    assert state["wait_status"] == 200
    assert api.run_log(run_id) is None and api.waiters(event_id) == []
    assert len(ep.received("/wait")) == 2


def test_a_sleeping_step_survives_kill9_and_fires_after_the_clock_moves(wf_crash):
    env, api, ep = wf_crash()
    run_id = "wfr_sleep_" + secrets.token_hex(4)
    url = ep.url("/sleep")
    state: dict = {}

    def handle(d: Delivery) -> int:
        steps = d.steps()
        if len(steps) == 1:
            step = {"stepId": 1, "stepName": "nap", "stepType": "SleepFor", "sleepFor": 3600, "concurrent": 1}
            r = api.step(run_id, url, step, **{"Upstash-Delay": "3600s"})
            state["sleep_id"] = r.json().get("messageId") if r.status_code in (200, 201) else None
            return 200 if state["sleep_id"] else 500
        state["woke"] = d
        r = api.finish(run_id)
        state["finish"] = r.status_code
        return 200 if r.status_code == 200 else 500

    ep.handlers["/sleep"] = handle
    payload = json.dumps({"nap": True})
    init_id = api.init(run_id, url, payload, **{"Upstash-Forward-X-Tenant": "s"})
    wait_until(lambda: state.get("sleep_id"), what="the sleep step")
    wait_until(lambda: len(api.run_log(run_id) or []) == 2, what="the sleep step in the log")

    crash_and_restart(env)
    time.sleep(1.0)
    assert "woke" not in state, "the sleep fired early"
    assert len(api.run_log(run_id)) == 2
    jumped = time.monotonic()
    env.jump(3601)
    wait_until(lambda: state.get("finish") == 200, what="the sleep to fire and the run to finish")
    d: Delivery = state["woke"]
    assert d.at > jumped and d.message_id == state["sleep_id"]
    steps = d.steps()
    assert steps[0] == {"messageId": init_id, "body": b64(payload), "callType": "step"}
    assert len(steps) == 2 and steps[1]["messageId"] == state["sleep_id"]
    assert step_of(steps[1])["stepName"] == "nap"
    assert d.headers.get("x-tenant") == "s" and d.headers.get("upstash-workflow-sdk-version") == "1"
    assert api.run_log(run_id) is None
    assert [x.message_id for x in ep.received("/sleep")] == [init_id, state["sleep_id"]]
