"""The playground's server: its JSON API through Starlette's TestClient (no browser)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("starlette")

import chainrule as cr
from chainrule.playground import create_app
from chainrule.playground.data import TOY_SETS, make_toy
from chainrule.playground.session import GRID, HIDDEN_GRID
from chainrule.playground.stepthrough import batch_rows


@pytest.fixture
def client():
    with warnings.catch_warnings():  # starlette's note about httpx, at import time
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    return TestClient(create_app(max_sessions=3), raise_server_exceptions=False)


def new(client, config=None):
    r = client.post("/api/session")
    assert r.status_code == 200, r.text
    sid = r.json()["id"]
    if config:
        r = client.post("/api/config", json={"id": sid, "config": config})
        assert r.status_code == 200, r.text
    return sid


def test_page_and_static_files_are_served(client):
    r = client.get("/")
    assert r.status_code == 200 and "<canvas" in r.text
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/style.css").status_code == 200


@pytest.mark.parametrize("name", list(TOY_SETS))
def test_every_toy_set_is_seeded_and_shaped(name):
    X, y = make_toy(name, 100, 0.1, seed=3)
    X2, y2 = make_toy(name, 100, 0.1, seed=3)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    assert X.shape == ((100, 1) if name == "reg1d" else (100, 2)) and y.shape == (100,)
    assert np.abs(X).max() < 2.0


def test_session_starts_on_circles_and_each_tab_is_its_own(client):
    a, b = new(client), new(client)
    assert a != b
    client.post("/api/train", json={"id": a, "steps": 5})
    ra = client.post("/api/train", json={"id": a, "steps": 1}).json()
    rb = client.post("/api/train", json={"id": b, "steps": 1}).json()
    assert ra["step"] == 6 and rb["step"] == 1


def test_a_full_store_closes_the_longest_idle_session_and_unknown_ids_are_refused(client):
    a, b, c = new(client), new(client), new(client)
    client.post("/api/train", json={"id": a, "steps": 1})  # b is now the longest idle
    d = new(client)
    assert len({a, b, c, d}) == 4
    assert client.post("/api/train", json={"id": a, "steps": 1}).status_code == 200
    r = client.post("/api/train", json={"id": b, "steps": 1})
    assert r.status_code == 410
    assert r.json()["error"] == (
        "this session was closed (another tab needed room (at most 3 sessions are open at "
        "once and this one was the longest unused)); reload the page for a fresh one."
    )
    r = client.post("/api/session", json={"id": b}).json()  # the evicted tab comes back
    assert r["id"] != b and r["resumed"] is False
    assert r["notice"].startswith("this tab's earlier session was closed (another tab needed")
    r = client.post("/api/train", json={"id": "nope", "steps": 1})
    assert r.status_code == 410 and "reload the page" in r.json()["error"]


def test_a_reload_gets_its_tabs_session_back_with_its_training(client):
    sid = new(client, {"network": {"hidden": [3, 2]}})
    client.post("/api/train", json={"id": sid, "steps": 7})
    for _ in range(20):  # reloads never lock the tab out, nor open new sessions
        r = client.post("/api/session", json={"id": sid}).json()
        assert (r["id"], r["resumed"], r["notice"]) == (sid, True, None)
    assert r["tick"]["step"] == 7 and r["config"]["network"]["hidden"] == [3, 2]
    assert len(client.app.state.store) == 1


def test_a_closed_tab_frees_its_session_after_the_grace():
    from chainrule.playground.app import SessionStore

    defaults = SessionStore()  # README: 16 at once, 30 idle minutes, 30 s after closing
    assert (defaults.max_sessions, defaults.ttl, defaults.grace) == (16, 1800.0, 30.0)
    store = SessionStore(max_sessions=2, grace=0.0)
    a, _, _ = store.open()
    b, _, _ = store.open()
    assert store.release(a) and not store.release("nope")
    c, _, _ = store.open()  # the released one goes first, though b is older in use
    assert len(store) == 2 and {b, c} == set(store._sessions)
    store.release(b)
    _, _, notice = store.open(b)
    assert notice == (
        "this tab's earlier session was closed (its tab was closed); a fresh one has started."
    )


def test_the_close_beacon_is_a_text_post(client):
    sid = new(client)
    beacon = {"Content-Type": "text/plain"}
    r = client.post("/api/close", content=json.dumps({"id": sid}), headers=beacon)
    assert r.status_code == 200 and r.json() == {"released": True}
    # within the grace a reload still finds it
    assert client.post("/api/session", json={"id": sid}).json()["resumed"] is True


@pytest.mark.parametrize(
    "headers, reason",
    [
        ({"Origin": "http://evil.example"}, "it comes from 'http://evil.example'"),
        ({"Origin": "null"}, "it comes from 'null'"),
        ({"Sec-Fetch-Site": "cross-site"}, "Sec-Fetch-Site is 'cross-site'"),
        (
            {"Sec-Fetch-Site": "same-site", "Origin": "http://testserver"},
            "Sec-Fetch-Site is 'same-site'",
        ),
    ],
)
def test_other_sites_cannot_create_or_change_a_session(client, headers, reason):
    sid = new(client)
    calls = [("/api/session", {}), ("/api/train", {"id": sid}), ("/api/close", {"id": sid})]
    for path, body in calls:
        r = client.post(path, json=body, headers=headers)
        assert r.status_code == 403
        assert r.json()["error"] == (
            f"refused: only the playground's own page may change a session ({reason})."
        )
    r = client.post("/api/upload", params={"id": sid}, content=b"a,b\n1,2\n", headers=headers)
    assert r.status_code == 403
    assert len(client.app.state.store) == 1


def test_the_own_origin_and_non_browser_clients_may(client):
    own = {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}
    assert client.post("/api/session", headers=own).status_code == 200
    assert client.post("/api/session").status_code == 200  # curl, scripts: no Origin


def test_every_answer_forbids_framing_and_foreign_scripts(client):
    for r in [
        client.get("/"),
        client.get("/static/app.js"),
        client.post("/api/session"),
        client.post("/api/session", headers={"Origin": "http://evil.example"}),
    ]:
        assert r.headers["x-frame-options"] == "DENY"
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self';" in csp


MAX = "at most 100."
DIGITS = "a number in the request has"


@pytest.mark.parametrize(
    "body, message",
    [
        (b"\xff{}", "the request is not UTF-8 text (byte 0 is 0xff)."),
        (b"[" * 40_000 + b"]" * 40_000, "the request's JSON is nested too deeply."),
        (b'{"steps": ' + b"9" * 5000 + b"}", f"{DIGITS} 5000 characters; {MAX}"),
        (b'{"steps": 1.' + b"5" * 5000 + b"}", f"{DIGITS} 5002 characters; {MAX}"),
        (b'{"id": "' + b"x" * 100_001 + b'"}', "the request is larger than 100000 bytes."),
        (b"[1]", "the request must be a JSON object."),
    ],
)
def test_bad_json_bodies_get_a_400_with_a_plain_message(client, body, message):
    for path in ("/api/train", "/api/session", "/api/close"):
        r = client.post(path, content=body)
        assert (r.status_code, r.json()) == (400, {"error": message})


def test_a_huge_body_is_refused_while_it_streams_in():
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from starlette.requests import Request

    from chainrule.playground.app import RequestError, _json

    received = []

    async def receive():  # 300 MB if it were all read, 100 kB at a time
        received.append(1)
        return {"type": "http.request", "body": b" " * 100_000, "more_body": len(received) < 3000}

    request = Request({"type": "http", "method": "POST", "headers": []}, receive)
    with (
        pytest.raises(RequestError, match=r"the request is larger than 100000 bytes\."),
        ThreadPoolExecutor(1) as pool,  # its own thread: the browser tests' Playwright
    ):  # keeps an event loop running in this one for the whole session
        pool.submit(asyncio.run, _json(request)).result()
    assert len(received) == 2  # refused at the first chunk past the limit


def test_sessions_expire():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    c = TestClient(create_app(ttl=0.0))
    sid = c.post("/api/session").json()["id"]
    r = c.post("/api/train", json={"id": sid, "steps": 1})
    assert r.status_code == 410


def test_training_on_circles_drives_the_test_loss_down(client):
    sid = new(client)
    first = client.post("/api/train", json={"id": sid, "steps": 0}).json()
    assert first["step"] == 0
    first = first["last"]
    for _ in range(15):
        tick = client.post("/api/train", json={"id": sid, "epochs": 1}).json()
    assert tick["epoch"] == 15
    assert tick["last"]["test_loss"] < 0.2 < first["test_loss"]
    assert tick["last"]["test_accuracy"] > 0.9
    out = tick["surfaces"]["output"]
    assert out["kind"] == "binary" and len(base64.b64decode(out["b64"])) == GRID**2
    assert [len(layer) for layer in tick["surfaces"]["hidden"]] == [4, 4]
    assert len(tick["grad_norms"]) == 3 and all(g > 0 for g in tick["grad_norms"])


def test_an_answer_says_how_long_the_server_took(client):
    import re

    sid = new(client)
    r = client.post("/api/train", json={"id": sid, "steps": 5})
    m = re.fullmatch(r"compute;dur=(\d+\.\d\d), cpu;dur=(\d+\.\d\d)", r.headers["server-timing"])
    assert m and 0 < float(m[1]) < 10_000 and 0 <= float(m[2]) < 10_000


def test_a_tick_of_the_largest_network_is_under_120_kb(client):
    """Six hidden layers of 16: 96 hidden surfaces of 25 x 25 bytes (as base64) are most
    of it; on the 50 x 50 grid they made 346 kB a tick (README: "under 120 kB")."""
    largest = {
        "data": {"n_points": 2000},
        "network": {"hidden": [16] * 6, "activations": ["tanh"] * 6},
    }
    sid = new(client, largest)
    r = client.post("/api/train", json={"id": sid, "steps": 50})
    assert r.status_code == 200 and len(r.content) < 120_000
    hidden = r.json()["surfaces"]["hidden"]
    assert [len(layer) for layer in hidden] == [16] * 6
    assert {len(base64.b64decode(t["b64"])) for layer in hidden for t in layer} == {25 * 25}


def test_a_hidden_neurons_surface_is_the_grids_2x2_block_means(client):
    sid = new(client)
    tick = client.post("/api/train", json={"id": sid, "steps": 30}).json()
    session = client.app.state.store.get(sid)[0]
    net = session.net
    A1 = net.layers[1].forward(net.layers[0].forward(session.grid())[0])[0]  # tanh(Z1)
    blocks = A1.reshape(HIDDEN_GRID, 2, HIDDEN_GRID, 2, 4).mean(axis=(1, 3))
    for j, tile in enumerate(tick["surfaces"]["hidden"][0]):
        a = blocks[:, :, j].ravel()
        assert (tile["lo"], tile["hi"]) == (a.min(), a.max())
        expected = np.rint((a - a.min()) * (255 / (a.max() - a.min()))).astype(np.uint8)
        assert base64.b64decode(tile["b64"]) == expected.tobytes()  # 25 x 25 bytes


def test_the_exported_model_is_the_sessions_network(client, tmp_path):
    """Export the model, reload it with cr.load: the same predictions, bit for bit."""
    sid = new(client)
    client.post("/api/train", json={"id": sid, "steps": 30})
    r = client.get("/api/export/model.npz", params={"id": sid})
    assert 'filename="playground-model.npz"' in r.headers["content-disposition"]
    (tmp_path / "m.npz").write_bytes(r.content)
    session = client.app.state.store.get(sid)[0]
    G = session.grid()
    assert np.array_equal(cr.load(tmp_path / "m.npz").predict(G), session.net.predict(G))


def test_snippet_rebuilds_the_same_weights(client, tmp_path):
    sid = new(client, {"network": {"optimizer": "momentum", "l2": 0.01, "dropout": 0.1}})
    client.post("/api/train", json={"id": sid, "steps": 57})
    code = client.get("/api/export/snippet.py", params={"id": sid}).text
    script = tmp_path / "snippet.py"
    script.write_text(code + "\ncr.save(net, 'rebuilt.npz')\n")
    subprocess.run([sys.executable, str(script)], cwd=tmp_path, check=True, capture_output=True)
    rebuilt = cr.load(tmp_path / "rebuilt.npz")
    session = client.app.state.store.get(sid)[0]
    theirs_dense = [layer for layer in rebuilt.layers if isinstance(layer, cr.Dense)]
    for mine, theirs in zip(session.dense, theirs_dense, strict=True):
        np.testing.assert_array_equal(mine.params["W"], theirs.params["W"])


def test_history_csv_has_one_row_per_tick(client):
    sid = new(client)
    for _ in range(3):
        client.post("/api/train", json={"id": sid, "steps": 2})
    text = client.get("/api/export/history.csv", params={"id": sid}).text
    lines = text.strip().splitlines()
    assert lines[0].split(",")[:4] == ["step", "epoch", "train_loss", "test_loss"]
    assert [int(line.split(",")[0]) for line in lines[1:]] == [0, 2, 4, 6]


def test_step_through_is_cr_explain_on_the_same_network(client):
    sid = new(
        client,
        {"data": {"name": "blobs"}, "network": {"output": "softmax", "loss": "cross_entropy"}},
    )
    tick = client.post("/api/train", json={"id": sid, "steps": 3}).json()
    out = tick["surfaces"]["output"]
    assert out["kind"] == "multi" and len(out["classes"]) == 3  # one tile per class
    P = np.array([np.frombuffer(base64.b64decode(t["b64"]), np.uint8) for t in out["classes"]])
    assert np.abs(P.astype(int).sum(axis=0) - 255).max() <= 2  # softmax: sums to 1
    r = client.post("/api/explain", json={"id": sid, "start": 5, "size": 3}).json()
    session = client.app.state.store.get(sid)[0]
    rows = batch_rows(session.data.train, 5, 3, seed=0)  # the picked row, then 2 drawn
    assert r["rows"] == rows.tolist() and rows[0] == session.data.train[5]
    trace = cr.explain(
        session.net,
        cr.CrossEntropy(),
        session.data.X[rows],
        session.data.y[rows],
        lr=session.config["network"]["lr"],
    )
    assert [s["name"] for s in r["stages"]] == [s.name for s in trace.steps]
    for stage, step in zip(r["stages"], trace.steps, strict=True):
        np.testing.assert_array_equal(np.asarray(stage["value"]), step.value)
        assert stage["text"] == step.text
    by_name = {s["name"]: s["highlight"] for s in r["stages"]}
    assert by_name["Z1"] == {"kind": "nodes", "column": 1}
    assert by_name["dW2"] == {"kind": "edges", "column": 2}
    assert by_name["L"] == {"kind": "output", "column": 3}
    assert r["loss_after"] < r["loss_before"]


def test_mismatched_output_and_loss_shows_chainrules_warning(client):
    sid = new(client)
    r = client.post(
        "/api/config", json={"id": sid, "config": {"network": {"output": "softmax", "loss": "mse"}}}
    ).json()
    assert "Softmax (probabilities) but the loss is MeanSquaredError" in r["network"]["warning"]
    assert r["network"]["layers"][-1] == "Softmax"
    r = client.post(
        "/api/config", json={"id": sid, "config": {"network": {"output": "sigmoid", "loss": "bce"}}}
    ).json()
    assert r["network"]["warning"] is None and r["network"]["layers"][-1] == "Dense"


def test_adding_a_layer_and_changing_activation_rebuild(client):
    sid = new(client)
    r = client.post(
        "/api/config",
        json={
            "id": sid,
            "config": {"network": {"hidden": [3, 5, 2], "activations": ["relu", "elu", "sigmoid"]}},
        },
    ).json()
    assert r["network"]["sizes"] == [2, 3, 5, 2, 1]
    assert r["network"]["layers"] == ["Dense", "ReLU", "Dense", "ELU", "Dense", "Sigmoid", "Dense"]
    assert r["tick"]["step"] == 0


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"network": {"hidden": [4], "activations": ["swish"]}}, "unknown activation 'swish'"),
        ({"network": {"hidden": [99], "activations": ["relu"]}}, "1 to 16 neurons"),
        ({"network": {"lr": -1}}, "lr must lie between"),
        ({"data": {"name": "/etc/passwd"}}, "unknown name '/etc/passwd'"),
        ({"data": {"name": "reg2d"}}, "bce needs class labels"),
        ({"network": {"batch_size": "ten"}}, "batch_size must be a number"),
    ],
)
def test_bad_settings_get_a_message(client, config, message):
    sid = new(client)
    r = client.post("/api/config", json={"id": sid, "config": config})
    assert r.status_code == 400 and message in r.json()["error"]
    ok = client.post("/api/train", json={"id": sid, "steps": 1})  # the session still works
    assert ok.status_code == 200


def test_bad_requests_get_a_message_not_a_traceback(client):
    sid = new(client)
    r = client.post("/api/train", content=b"{not json")
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]
    r = client.post("/api/train", json={"id": sid, "steps": 10**6})
    assert r.status_code == 400 and "steps must be a whole number" in r.json()["error"]
    r = client.post("/api/explain", json={"id": sid, "start": 10**6})
    assert r.status_code == 400 and "position in the training part" in r.json()["error"]
    r = client.post("/api/explain", json={"id": sid, "start": 0, "size": 16})
    assert r.status_code == 200  # 200 training rows on circles: any batch up to 16
    r = client.get("/api/export/secrets.txt", params={"id": sid})
    assert r.status_code == 404


def test_upload_is_read_by_the_commands_csv_code(client):
    sid = new(client)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    lines = ["a,b,c,label"] + [f"{p},{q},{s},{'yes' if p + q > 0 else 'no'}" for p, q, s in X]
    r = client.post(
        "/api/upload", params={"id": sid, "name": "mine.csv"}, content="\n".join(lines).encode()
    )
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["data"]["classes"] == ["no", "yes"] and view["data"]["features"] == ["a", "b"]
    assert view["tables"]["upload"]["numeric"] == ["a", "b", "c"]
    r = client.post(
        "/api/config",
        json={
            "id": sid,
            "config": {**view["config"], "data": {**view["config"]["data"], "features": "pca"}},
        },
    )
    assert r.json()["data"]["features"] == ["PC1", "PC2"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"a,b\n1,2,3\n", "some rows have more fields than the header row"),
        (b"", "'bad.csv' is empty"),
        (b"a,b\x00\n", "binary data"),
        (b"a,b\n1,x\n2,x\n3,x\n", "single class"),
        (
            # x in halves: a row number 0..119 would be left out as an identifier (issue 24)
            ("x,y,c\n" + "".join(f"{i / 2},{i % 7},c{i % 12}\n" for i in range(120))).encode(),
            "12 classes; the playground draws at most 10",
        ),
    ],
)
def test_bad_csv_gets_a_message_naming_the_file(client, content, message):
    sid = new(client)
    r = client.post("/api/upload", params={"id": sid, "name": "bad.csv"}, content=content)
    assert r.status_code == 400 and message in r.json()["error"], r.text
    assert "/tmp" not in r.json()["error"]
    assert client.post("/api/train", json={"id": sid, "steps": 1}).status_code == 200


def test_upload_size_is_limited(client):
    sid = new(client)
    r = client.post(
        "/api/upload", params={"id": sid, "name": "big.csv"}, content=b"a,b\n" + b"1,2\n" * 300_000
    )
    assert r.status_code == 400 and "larger than 1000 kB" in r.json()["error"]


def test_data_given_to_the_command_is_offered_as_file():
    from chainrule.datasets import load_dataset

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    c = TestClient(create_app({"file": load_dataset("iris")}))
    view = c.post("/api/session").json()
    assert view["config"]["data"]["name"] == "file"
    assert view["data"]["classes"] == ["setosa", "versicolor", "virginica"]
    assert view["network"]["sizes"] == [2, 4, 4, 3]


def test_regression_1d_surfaces_are_curves(client):
    sid = new(client, {"data": {"name": "reg1d"}, "network": {"output": "linear", "loss": "mse"}})
    for _ in range(20):
        tick = client.post("/api/train", json={"id": sid, "epochs": 1}).json()
    assert len(tick["surfaces"]["output"]["values"]) == 2 * GRID
    assert tick["last"]["test_r2"] > 0.8


def test_divergence_is_reported_not_raised(client):
    sid = new(
        client,
        {
            "network": {
                "optimizer": "sgd",
                "lr": 10.0,
                "output": "linear",
                "loss": "mse",
                "activations": ["relu", "relu"],
            }
        },
    )
    for _ in range(5):
        r = client.post("/api/train", json={"id": sid, "steps": 50})
        assert r.status_code == 200
    tick = r.json()
    assert "training diverged at step" in tick["message"]
    assert "try a smaller one, e.g. 1" in tick["message"]
    assert tick["step"] == int(tick["message"].split()[4])  # stopped there, waits for reset
    assert client.post("/api/reset", json={"id": sid}).json()["tick"]["message"] is None


def test_command_line_has_the_playground():
    from chainrule.cli import build_parser

    args = build_parser().parse_args(["playground", "--no-browser", "--port", "9001"])
    assert (args.port, args.host, args.no_browser, args.data) == (9001, "127.0.0.1", True, None)


def test_only_the_allowed_hosts_are_answered():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    app = create_app(allowed_hosts=["127.0.0.1", "localhost"])
    good = TestClient(app, base_url="http://127.0.0.1:8000")
    assert good.get("/").status_code == 200
    evil = TestClient(app, base_url="http://attacker.example:8000")
    assert evil.post("/api/session").status_code == 400


def test_the_host_check_holds_for_any_bind_address():
    from chainrule.playground import allowed_hosts

    assert allowed_hosts("127.0.0.2") == ["127.0.0.1", "localhost", "[::1]", "127.0.0.2"]
    assert allowed_hosts("::1") == ["127.0.0.1", "localhost", "[::1]"]
    with pytest.raises(ValueError, match=r"--host 192\.168\.1\.5 would let other machines reach"):
        allowed_hosts("192.168.1.5")
    assert allowed_hosts("192.168.1.5", allow_remote=True)[-1] == "192.168.1.5"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    app = create_app(allowed_hosts=allowed_hosts("127.0.0.2"))
    assert TestClient(app, base_url="http://127.0.0.2:8000").get("/").status_code == 200
    evil = TestClient(app, base_url="http://evil.example:8000")
    assert evil.get("/").status_code == 400 and evil.post("/api/session").status_code == 400


def test_command_refuses_a_remote_host_without_the_flag():
    r = _playground_command("--host", "0.0.0.0")
    assert r.returncode == 2
    assert (
        "--host 0.0.0.0 would let other machines reach the playground; pass --allow-remote"
        in r.stderr
    )


def _playground_command(*args):
    return subprocess.run(
        [sys.executable, "-m", "chainrule", "playground", "--no-browser", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_command_refuses_a_missing_data_file(tmp_path):
    r = _playground_command("--data", str(tmp_path / "nope.csv"))
    assert r.returncode == 2
    assert r.stderr.startswith("chainrule playground: error: no such file:")
    assert "Traceback" not in r.stderr


def test_command_refuses_a_port_in_use():
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = _playground_command("--port", str(port))
    assert r.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in r.stderr and "--port" in r.stderr


def _csv(n=60, seed=0, regression=False):
    X = np.random.default_rng(seed).normal(size=(n, 3))
    target = [f"{p - q:.4f}" if regression else ("yes" if p + q > 0 else "no") for p, q, _ in X]
    rows = ["a,b,c,label"] + [f"{p},{q},{s},{t}" for (p, q, s), t in zip(X, target, strict=True)]
    return "\n".join(rows).encode()


def test_snippet_rebuilds_the_same_weights_on_an_uploaded_table(client, tmp_path):
    sid = new(client)
    r = client.post(
        "/api/upload", params={"id": sid, "name": "r.csv"}, content=_csv(regression=True)
    )
    assert r.json()["config"]["network"]["loss"] == "mse"
    client.post("/api/train", json={"id": sid, "steps": 25})
    script = tmp_path / "snippet.py"
    code = client.get("/api/export/snippet.py", params={"id": sid}).text
    script.write_text(code + "\ncr.save(net, 'rebuilt.npz')\n")
    subprocess.run([sys.executable, str(script)], cwd=tmp_path, check=True, capture_output=True)
    rebuilt = cr.load(tmp_path / "rebuilt.npz")
    session = client.app.state.store.get(sid)[0]
    np.testing.assert_array_equal(
        rebuilt.predict(session.grid()), session.net.predict(session.grid())
    )


def test_a_refused_upload_keeps_the_previous_table(client):
    sid = new(client)
    client.post("/api/upload", params={"id": sid, "name": "ok.csv"}, content=_csv())
    many = "x,y,c\n" + "".join(f"{i},{i % 7},c{i % 12}\n" for i in range(120))
    r = client.post("/api/upload", params={"id": sid, "name": "many.csv"}, content=many.encode())
    assert r.status_code == 400
    r = client.post("/api/config", json={"id": sid, "config": {"data": {"name": "upload"}}})
    assert r.status_code == 200 and r.json()["tables"]["upload"]["name"] == "ok.csv"


def test_a_long_history_is_thinned(client, monkeypatch):
    from chainrule.playground import session as session_module

    monkeypatch.setattr(session_module, "MAX_HISTORY", 50)
    sid = new(client)
    for _ in range(120):
        tick = client.post("/api/train", json={"id": sid, "steps": 1}).json()
    steps = tick["curve"]["step"]
    assert steps[0] == 0 and steps[-1] == 120 and len(steps) <= 50
    assert steps == sorted(steps)


def test_the_step_through_batch_is_drawn_at_random_from_the_training_rows(client):
    """Consecutive positions of the sorted training rows were one class on circles (its
    rows come in class blocks); the batch is the picked row and 15 drawn, seeded."""
    sid = new(client)
    session = client.app.state.store.get(sid)[0]
    train, y = session.data.train, session.data.y
    assert len(set(y[train[:16]])) == 1  # what consecutive rows gave
    r = client.post("/api/explain", json={"id": sid, "start": 3, "size": 16}).json()
    rows = np.array(r["rows"])
    assert rows[0] == train[3] and len(set(rows)) == 16 and set(rows) <= set(train)
    assert sorted(set(y[rows])) == [0, 1]
    np.testing.assert_array_equal(np.array(r["T"]).ravel(), y[rows])
    again = client.post("/api/explain", json={"id": sid, "start": 3, "size": 16}).json()
    assert again["rows"] == r["rows"]  # seeded: the same choice, the same batch
    assert batch_rows(train, 3, 16, seed=0).tolist() == r["rows"]
    assert batch_rows(train, 3, 16, seed=1).tolist() != r["rows"]
    assert batch_rows(train, 3, 1, seed=0).tolist() == [train[3]]


def test_a_step_through_batch_larger_than_the_training_part_is_refused(client):
    assert batch_rows(np.arange(5), 4, 5, seed=2)[0] == 4
    assert sorted(batch_rows(np.arange(5), 4, 5, seed=2)) == [0, 1, 2, 3, 4]
    sid = new(client, {"data": {"n_points": 20, "train_ratio": 0.1}})
    r = client.post("/api/explain", json={"id": sid, "start": 0, "size": 3})
    assert r.status_code == 400 and r.json()["error"] == (
        "the step-through batch of 3 samples is larger than the training part (2 rows); "
        "choose at most 2."
    )


def test_step_through_lights_the_input_column_for_x_and_dx():
    """explain names the input X (not A0): its stages light the input nodes."""
    from chainrule.playground.stepthrough import highlight

    assert highlight("X", 2) == {"kind": "nodes", "column": 0}
    assert highlight("dX", 2) == {"kind": "nodes", "column": 0}
    assert highlight("W2", 2) == {"kind": "edges", "column": 2}
    assert highlight("L", 2) == {"kind": "output", "column": 2}
