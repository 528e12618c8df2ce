"""Slipway's REST API through the Python client openapi-python-client generates from the served
OpenAPI document: create a venture, follow its log (pages, then the live SSE stream through the
client's own httpx), read it back, plan and destroy it. Run by scripts/python-client.sh with the
generated package on PYTHONPATH, SLIPWAY_URL and SLIPWAY_TOKEN set (a creator's token). Each
check prints `ok` or `FAIL`; the last line is `python-client: N passed, M failed`."""

import json
import os
import sys
import time
import traceback
import uuid

import httpx
from slipway_client import AuthenticatedClient, Client
from slipway_client.api.meta import check_connections, connections
from slipway_client.api.plan import plan_new_venture, plan_venture
from slipway_client.api.ventures import (
    apply_venture,
    create_venture,
    destroy_venture,
    get_venture,
    list_ventures,
    venture_events,
)
from slipway_client.models import (
    Connections,
    DestroyRequest,
    Error,
    EventPage,
    Job,
    NewVenture,
    Plan,
    VentureDetail,
    VentureList,
    VentureResponse,
)

BASE = os.environ["SLIPWAY_URL"]
TOKEN = os.environ["SLIPWAY_TOKEN"]
# How long an apply or a destroy in the sandbox may take (its simulated Supabase project takes
# a few seconds to come up).
DEADLINE_SECS = float(os.environ.get("PYTHON_CLIENT_DEADLINE_SECS", "90"))
NAME = f"py-{uuid.uuid4().hex[:8]}"

client = AuthenticatedClient(base_url=BASE, token=TOKEN, raise_on_unexpected_status=True, timeout=httpx.Timeout(30.0))
state = {}
results = []


def check(title):
    """Runs the decorated function now, as one named check; later checks see `state`."""

    def run(fn):
        try:
            fn()
            results.append(True)
            print(f"ok    {title}", flush=True)
        except Exception:  # noqa: BLE001 (a failed check is reported, and the next one runs)
            results.append(False)
            print(f"FAIL  {title}", flush=True)
            traceback.print_exc()
        return fn

    return run


def status_of(vid):
    detail = get_venture.sync(vid, client=client)
    assert isinstance(detail, VentureDetail), detail
    return detail.venture.status.value


def wait_for(vid, wanted):
    deadline = time.monotonic() + DEADLINE_SECS
    while (status := status_of(vid)) not in wanted:
        assert time.monotonic() < deadline, f"still {status} after {DEADLINE_SECS}s"
        time.sleep(0.25)
    return status


@check("a request without a token is refused with the documented error body")
def _():
    anonymous = Client(base_url=BASE, raise_on_unexpected_status=True)
    response = list_ventures.sync_detailed(client=anonymous)
    assert response.status_code == 401, response
    assert isinstance(response.parsed, Error) and response.parsed.error.code.value == "unauthenticated", response


@check("a spec that breaks rules is refused with 422, every field named")
def _():
    spec = NewVenture(name="Not Valid", repository="acme/shop", production_branch="main")
    response = create_venture.sync_detailed(client=client, body=spec)
    assert response.status_code == 422, response
    assert isinstance(response.parsed, Error), response
    assert [f.field for f in response.parsed.error.fields] == ["name"], response.parsed


@check("the plan of a new venture creates every resource (row-level security has no table to write)")
def _():
    plan = plan_new_venture.sync(client=client, body=NewVenture(name=NAME, repository="acme/py-shop"))
    assert isinstance(plan, Plan), plan
    rls = [a for a in plan.actions if a.resource.value.endswith("row-level security")]
    domain = [a for a in plan.actions if a.resource.value in ("Custom domains", "DNS records")]
    rest = [a for a in plan.actions if a not in rls and a not in domain]
    assert rest and all(a.action.value == "create" for a in rest), plan
    assert len(rls) == 2 and all(a.action.value == "no_change" and "no tables" in a.detail for a in rls), plan
    assert len(domain) == 2 and all(a.action.value == "no_change" and "no custom domain" in a.detail for a in domain), plan


@check("a venture is created (201), and again under the same Idempotency-Key only once (200)")
def _():
    spec = NewVenture(name=NAME, repository="acme/py-shop")
    key = f"python-client-{NAME}"
    created = create_venture.sync_detailed(client=client, body=spec, idempotency_key=key)
    assert created.status_code == 201 and isinstance(created.parsed, VentureResponse), created
    again = create_venture.sync_detailed(client=client, body=spec, idempotency_key=key)
    assert again.status_code == 200 and isinstance(again.parsed, VentureResponse), again
    assert again.parsed.venture.id == created.parsed.venture.id
    assert isinstance(created.parsed.venture.id, uuid.UUID)
    state["id"] = created.parsed.venture.id
    listed = list_ventures.sync(client=client)
    assert isinstance(listed, VentureList) and [v.id for v in listed.ventures].count(state["id"]) == 1, listed


@check("its log is followed page by page until the apply ends")
def _():
    vid, after, seen, limit = state["id"], 0, [], 3
    deadline = time.monotonic() + DEADLINE_SECS
    while True:
        page = venture_events.sync(vid, client=client, after=after, limit=limit)
        assert isinstance(page, EventPage), page
        assert len(page.events) <= limit
        assert all(e.id > after and e.venture_id == vid for e in page.events), page
        seen += page.events
        after = page.next_after
        # An apply's last line is its `done` step's ("… is ready"), written after the status.
        if any(e.step == "done" for e in page.events) or (not page.events and status_of(vid) == "failed"):
            break
        assert time.monotonic() < deadline, f"the apply did not end within {DEADLINE_SECS}s"
        if not page.events:
            time.sleep(0.25)
    ids = [e.id for e in seen]
    assert ids == sorted(set(ids)) and len(ids) > limit, ids
    assert status_of(vid) == "ready", [e.message for e in seen if e.level.value == "error"]
    state["events"] = seen
    state["vercel_project_id"] = get_venture.sync(vid, client=client).venture.vercel_project_id


@check("the live log (SSE, through the client's httpx) replays every line and reports the state")
def _():
    vid, frames = state["id"], []
    deadline = time.monotonic() + DEADLINE_SECS
    # The stream stays open; it is read until the `state` frame after the last known line, or
    # the deadline (each read also times out, and keep-alives keep an idle stream readable).
    with client.get_httpx_client().stream(
        "GET", f"/api/v1/ventures/{vid}/events", headers={"Accept": "text/event-stream"},
        params={"after": 0}, timeout=httpx.Timeout(10.0),
    ) as stream:
        assert stream.status_code == 200, stream
        assert stream.headers["content-type"].startswith("text/event-stream"), stream.headers
        frame = {}
        for line in stream.iter_lines():
            assert time.monotonic() < deadline, f"no state frame within {DEADLINE_SECS}s: {frames}"
            if line:
                field, _, value = line.partition(":")
                frame[field] = frame.get(field, "") + value.removeprefix(" ")
                continue
            if "event" in frame:
                frames.append(frame)
            frame = {}
            if frames and frames[-1]["event"] == "state":
                break
    # A `log` frame's data is the line as the document's description gives it; it must say
    # what the paged Event with the same id says.
    paged = {e.id: e for e in state["events"]}
    lines = [(int(f["id"]), json.loads(f["data"])) for f in frames if f["event"] == "log"]
    assert [id for id, _ in lines] == list(paged), "the stream replays exactly the paged lines"
    for id, line in lines:
        event = paged[id]
        assert line == {"id": id, "at": event.created_at, "step": event.step, "level": event.level.value,
                        "message": event.message}, (line, event)
    last = json.loads(frames[-1]["data"])
    assert last == {"status": "ready", "vercel_project_id": state["vercel_project_id"]}, last


@check("the venture reads back ready, every step done, its resources recorded")
def _():
    detail = get_venture.sync(state["id"], client=client)
    assert isinstance(detail, VentureDetail), detail
    assert detail.venture.name == NAME and detail.venture.status.value == "ready", detail.venture
    assert detail.venture.vercel_project_id, detail.venture
    assert detail.steps and all(s.status.value == "done" for s in detail.steps), detail.steps
    resources = detail.resources.additional_properties
    assert resources["vercel_project"].id == detail.venture.vercel_project_id, resources
    assert resources["supabase_project"].id, resources


@check("a converged venture plans no change, and an apply again is queued (202)")
def _():
    plan = plan_venture.sync(state["id"], client=client)
    assert isinstance(plan, Plan) and all(a.action.value == "no_change" for a in plan.actions), plan
    job = apply_venture.sync_detailed(state["id"], client=client)
    assert job.status_code == 202 and isinstance(job.parsed, Job), job
    assert wait_for(state["id"], ("ready", "failed")) == "ready"


@check("every platform connection works, checked on demand (200), then read with its age; a second check at once is 429")
def _():
    checked = check_connections.sync_detailed(client=client)
    assert checked.status_code == 200 and isinstance(checked.parsed, Connections), checked
    assert checked.parsed.connections and all(c.connected for c in checked.parsed.connections), checked.parsed
    listed = connections.sync(client=client)
    assert isinstance(listed, Connections) and listed.checked_at >= checked.parsed.checked_at, listed
    assert listed.age_seconds is not None and listed.age_seconds >= 0, listed
    assert all(c.connected for c in listed.connections), listed
    again = check_connections.sync_detailed(client=client)
    assert again.status_code == 429 and int(again.headers["retry-after"]) >= 1, again


@check("a destroy needs the name repeated (422), then removes the venture (202)")
def _():
    wrong = destroy_venture.sync_detailed(state["id"], client=client, body=DestroyRequest(confirm="not-the-name"))
    assert wrong.status_code == 422 and isinstance(wrong.parsed, Error), wrong
    assert [f.field for f in wrong.parsed.error.fields] == ["confirm"], wrong.parsed
    right = destroy_venture.sync_detailed(state["id"], client=client, body=DestroyRequest(confirm=NAME))
    assert right.status_code == 202 and isinstance(right.parsed, Job), right
    assert wait_for(state["id"], ("destroyed", "failed")) == "destroyed"


@check("an unknown venture is a 404 with the documented error body")
def _():
    response = get_venture.sync_detailed(uuid.uuid4(), client=client)
    assert response.status_code == 404 and isinstance(response.parsed, Error), response
    assert response.parsed.error.code.value == "not_found", response.parsed


passed, failed = results.count(True), results.count(False)
print(f"python-client: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
