"""Defects a bad client must not be able to cause: leaked admission permits after failing
requests, a lost client that keeps its permit, large headers answered by a reset, and a shutdown
that loses requests or touches freed objects (run again under AddressSanitizer by the test
command, with an ASan build of the router)."""
import json
import signal
import socket
import threading
import time

import pytest
import requests

from conftest import Server

JSON = {"Content-Type": "application/json"}
LIMIT = 4
GOOD = {"inputs": "Zoo", "parameters": {"max_new_tokens": 3}}

# One body per way a request can fail before it reaches the scheduler, with its status. Validation
# errors (422 with JSON) become a 200 with one error event on the stream route, as TGI does; body
# rejections (400, and 422 in plain text) are the same on every route.
FAILING = [
    ({"inputs": "x", "parameters": {"top_p": 7}}, 422),                 # a parameter rule
    ({"inputs": "", "parameters": {}}, 422),                            # empty inputs
    ({"inputs": "x " * 400, "parameters": {}}, 422),                    # too long, after counting
    ({"inputs": "x", "parameters": {"max_new_tokens": 5000}}, 422),     # total too large
    ({"inputs": "x", "parameters": {"truncate": 0}}, 422),
    ({"inputs": "x", "parameters": {"stop": ["a"] * 6}}, 422),
    ({"inputs": "x", "parameters": {"top_n_tokens": 6}}, 422),
    ({"inputs": "x", "parameters": {"best_of": 3}}, 422),
    ({"inputs": "x", "parameters": {"best_of": 2}}, 422),               # best_of without sampling
    ({"inputs": "x", "parameters": {"grammar": {"type": "json", "value": {}}}}, 422),
    ({"inputs": 5}, "body 422"),                                        # wrong JSON type
    ("{", "body 400"),                                                  # not JSON
]


@pytest.fixture(scope="module")
def limited():
    instance = Server(router_args=["--max-concurrent-requests", str(LIMIT)])
    yield instance
    assert instance.stop() == [0, 0], instance.logs()


def post(server, route, body, session=requests, **kwargs):
    data = body if isinstance(body, str) else json.dumps(body)
    return session.post(server.url + route, headers=JSON, data=data, timeout=60, **kwargs)


def assert_serves(server):
    response = post(server, "/generate", GOOD)
    assert response.status_code == 200, response.text
    events = post(server, "/generate_stream", GOOD).content.decode().split("\n\n")
    assert json.loads(events[-2][len("data:"):])["generated_text"] is not None, events


def test_failing_requests_of_every_kind_never_leak_permits(limited):
    rounds = 3 * (LIMIT + 1)
    with requests.Session() as session:  # keep-alive connections, and fresh ones below
        for body, status in FAILING:
            code = status if isinstance(status, int) else int(status.split()[1])
            for i in range(rounds):
                for route in ("/generate", "/"):
                    response = post(limited, route, body, session if i % 2 else requests)
                    assert response.status_code == code, (route, body, response.text)
                response = post(limited, "/generate_stream", body, session)
                if isinstance(status, int):
                    assert response.status_code == 200
                    frames = response.content.decode().split("\n\n")
                    assert len(frames) == 2 and "error" in json.loads(frames[0][5:]), frames
                else:
                    assert response.status_code == code
    assert_serves(limited)


def metrics(server):
    out = {}
    for line in requests.get(server.url + "/metrics", timeout=10).text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def test_two_thousand_bad_requests_leave_the_server_idle(limited):
    with requests.Session() as session:
        for i in range(2000):
            body, status = FAILING[i % len(FAILING)]
            route = ("/generate", "/generate_stream", "/")[i % 3]
            response = post(limited, route, body, session)
            assert response.status_code in (200, 400, 422), response.text
    s = metrics(limited)
    assert s.get("tgi_queue_size", 0) == 0
    assert s.get("tgi_batch_current_size", 0) == 0
    assert s["tgi_cpp_permits_in_use"] == 0
    assert s.get("tgi_cpp_kv_blocks_used", 0) == 0
    assert s.get('tgi_request_failure{err="generation"}', 0) == 0
    assert limited.shard.poll() is None and limited.router.poll() is None
    assert_serves(limited)


def test_a_client_gone_before_its_answer_frees_its_permit(limited):
    body = json.dumps({"inputs": "Once upon a time", "parameters": {"max_new_tokens": 200}})
    for route in ("/generate", "/generate_stream"):
        for _ in range(LIMIT + 1):
            with socket.create_connection(("127.0.0.1", limited.port)) as conn:
                conn.sendall(f"POST {route} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                             f"\r\nContent-Length: {len(body)}\r\n\r\n{body}".encode())
                time.sleep(0.05)
    # Cancellation takes effect at the next step; within a few steps every permit is back.
    deadline = time.time() + 30
    while post(limited, "/generate", GOOD).status_code == 429 and time.time() < deadline:
        time.sleep(0.1)
    assert_serves(limited)


def raw_request(server, headers):
    """Sends a GET /health with extra header lines; returns the status line and body."""
    with socket.create_connection(("127.0.0.1", server.port)) as conn:
        conn.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = conn.recv(65536)
            assert chunk, f"connection closed without a response: {received!r}"
            received += chunk
        head, _, rest = received.partition(b"\r\n\r\n")
        length = [int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:")]
        while length and len(rest) < length[0]:
            rest += conn.recv(65536)
        return head.split(b"\r\n")[0].decode(), rest


def test_large_headers_get_431_with_a_json_error(limited):
    status, _ = raw_request(limited, b"Cookie: " + b"a" * 64_000 + b"\r\n")
    assert status == "HTTP/1.1 200 OK"  # hyper, TGI's stack, takes a 64 KB header too
    fields = b"".join(b"X-Field-%d: %s\r\n" % (i, b"v" * 500) for i in range(99))  # + Host
    status, _ = raw_request(limited, fields)
    assert status == "HTTP/1.1 200 OK"
    for headers in (b"Cookie: " + b"a" * 70_000 + b"\r\n",
                    b"Cookie: " + b"a" * 200_000 + b"\r\n",
                    b"".join(b"X-Field-%d: %s\r\n" % (i, b"v" * 700) for i in range(120)),
                    b"".join(b"X-Field-%d: v\r\n" % i for i in range(101))):
        status, body = raw_request(limited, headers)
        assert status == "HTTP/1.1 431 Request Header Fields Too Large"
        assert json.loads(body) == {"error": "Request header fields too large",
                                    "error_type": "header_too_large"}
    assert_serves(limited)


def test_stop_with_queued_requests_fails_them_cleanly():
    # One row at a time and a 1 s drain: most requests are still queued when the drain ends.
    server = Server(router_args=["--max-batch-size", "1", "--drain-timeout", "1"])
    outcomes = []

    def non_stream():
        response = post(server, "/generate", {"inputs": "Once upon a time",
                                              "parameters": {"max_new_tokens": 300}})
        if response.status_code == 200:
            return "done"
        assert "error" in response.json(), response.text
        return "error"

    def streaming():
        response = post(server, "/generate_stream", {"inputs": "Once upon a time",
                                                     "parameters": {"max_new_tokens": 300}})
        frames = response.content.decode().split("\n\n")
        assert frames[-1] == ""
        last = json.loads(frames[-2][len("data:"):])
        return "error" if "error" in last else "done"

    def run(target):
        try:
            outcomes.append(target())
        except requests.ConnectionError:
            outcomes.append("refused")

    threads = [threading.Thread(target=run, args=(target,))
               for target in [non_stream, streaming] * 10]
    for thread in threads:
        thread.start()
    time.sleep(1)
    server.router.send_signal(signal.SIGTERM)
    assert server.router.wait(timeout=15) == 0, server.logs()
    for thread in threads:
        thread.join(timeout=30)
    server.shard.send_signal(signal.SIGTERM)
    assert server.shard.wait(timeout=15) == 0, server.logs()
    assert len(outcomes) == 20, outcomes
    assert "error" in outcomes, "the drain was long enough for everything: the test proves nothing"
    assert set(outcomes) <= {"done", "error"}, outcomes
    assert "AddressSanitizer" not in server.logs() and "runtime error" not in server.logs()


def test_a_stopped_shard_fails_the_batch_at_the_rpc_deadline():
    # SIGSTOP is a hang, not a crash: the per-call deadline ends the stream with an error, /health
    # turns 503, and once the shard runs again the router serves again.
    server = Server(router_args=["--shard-rpc-timeout", "2"],
                    env={"TEXT_GENERATION_SERVER_IGNORE_EOS_TOKEN": "true"})
    try:
        response = requests.post(server.url + "/generate_stream", headers=JSON, stream=True,
                                 timeout=60, data=json.dumps({
                                     "inputs": "Once upon a time",
                                     "parameters": {"max_new_tokens": 500}}))
        lines = response.iter_lines()
        first = next(line for line in lines if line)
        assert json.loads(first[len(b"data:"):])["token"]
        server.shard.send_signal(signal.SIGSTOP)
        started = time.time()
        frames = [json.loads(line[len(b"data:"):]) for line in lines if line]
        assert "error" in frames[-1], frames[-1]
        assert frames[-1]["error_type"] == "generation"
        assert "did not answer within --shard-rpc-timeout" in frames[-1]["error"]
        assert len(frames) < 499  # it ended early, not at max_new_tokens
        assert time.time() - started < 30
        assert requests.get(server.url + "/health", timeout=60).status_code == 503
        server.shard.send_signal(signal.SIGCONT)
        deadline = time.time() + 30
        while requests.get(server.url + "/health", timeout=60).status_code != 200:
            assert time.time() < deadline, server.logs()
            time.sleep(0.2)
        assert post(server, "/generate", GOOD).status_code == 200
    finally:
        server.shard.send_signal(signal.SIGCONT)
        assert server.stop() == [0, 0], server.logs()
