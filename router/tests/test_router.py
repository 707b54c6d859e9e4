"""The router over HTTP in front of a real shard on stories260K: oracle tokens, streaming,
validation and body errors, concurrency, the 429 limit and client disconnects."""
import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

JSON = {"Content-Type": "application/json"}


def generate(server, inputs, **parameters):
    response = requests.post(server.url + "/generate", headers=JSON, timeout=120,
                             json={"inputs": inputs, "parameters": parameters})
    assert response.status_code == 200, response.text
    return response


def stream_events(response):
    """The data: payloads of an SSE response, parsed; asserts the framing."""
    events = []
    buffer = b""
    for chunk in response.iter_content(chunk_size=None):
        buffer += chunk
        while b"\n\n" in buffer:
            frame, buffer = buffer.split(b"\n\n", 1)
            assert frame.startswith(b"data:"), frame
            events.append(json.loads(frame[len(b"data:"):]))
    assert buffer == b""
    return events


def stream(server, inputs, **parameters):
    response = requests.post(server.url + "/generate_stream", headers=JSON, stream=True,
                             timeout=120, json={"inputs": inputs, "parameters": parameters})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    return stream_events(response)


def run_concurrently(server, cases):
    """The generated ids of every (prompt, max_new_tokens, streaming) case, all at once."""
    def run(case):
        prompt, max_new, streaming = case
        if streaming:
            return [e["token"]["id"] for e in stream(server, prompt, max_new_tokens=max_new)]
        body = generate(server, prompt, max_new_tokens=max_new, details=True).json()
        return [t["id"] for t in body["details"]["tokens"]]

    with ThreadPoolExecutor(max_workers=len(cases)) as pool:
        return list(pool.map(run, cases))


def test_oracle_cases_through_generate(server, oracle):
    for case in oracle:
        if not case["prompt"]:
            continue  # TGI rejects an empty prompt
        body = generate(server, case["prompt"], max_new_tokens=len(case["generated_tokens"]),
                        details=True).json()
        ids = [token["id"] for token in body["details"]["tokens"]]
        assert ids == case["generated_tokens"], case["name"]
        assert body["generated_text"] == case["generated_text"]
        assert body["details"]["finish_reason"] == "length"
        assert body["details"]["generated_tokens"] == len(ids)


def test_response_headers(server):
    response = generate(server, "Zoo", max_new_tokens=5)
    assert response.headers["x-generated-tokens"] == "5"
    assert response.headers["x-prompt-tokens"] == "4"
    assert response.headers["x-compute-characters"] == "3"
    for name in ("x-compute-time", "x-total-time", "x-validation-time", "x-queue-time",
                 "x-inference-time", "x-time-per-token", "x-compute-type"):
        assert name in response.headers
    assert set(response.json()) == {"generated_text"}


def test_stream_texts_concatenate_to_generated_text(server, oracle):
    case = oracle[3]  # byte fallback, emoji in the prompt
    events = stream(server, case["prompt"], max_new_tokens=len(case["generated_tokens"]),
                    details=True)
    assert [e["index"] for e in events] == list(range(1, len(events) + 1))
    assert [e["token"]["id"] for e in events] == case["generated_tokens"]
    assert all(e["generated_text"] is None for e in events[:-1])
    final = events[-1]
    assert final["generated_text"] == "".join(e["token"]["text"] for e in events)
    assert final["details"]["finish_reason"] == "length"
    assert "\ufffd" not in final["generated_text"]


def test_compat_route_and_tokenize(server):
    response = requests.post(server.url + "/", headers=JSON, timeout=60,
                             json={"inputs": "Zoo", "parameters": {"max_new_tokens": 3}})
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, list) and body[0]["generated_text"].startswith("Zoo")
    tokens = requests.post(server.url + "/tokenize", headers=JSON, json={"inputs": "Zoo"}).json()
    assert [t["id"] for t in tokens] == [1, 410, 469, 347]
    assert tokens[-1] == {"id": 347, "text": "oo", "start": 1, "stop": 3}


def test_info_health_docs(server):
    info = requests.get(server.url + "/info").json()
    assert info["max_input_length"] == 256 and info["max_total_tokens"] == 512
    assert info["version"] == "2.0.4" and info["router"] == "text-generation-router"
    assert info["model_dtype"] == "torch.float32" and info["model_device_type"] == "cpu"
    for path in ("/", "/health", "/ping"):
        response = requests.get(server.url + path)
        assert response.status_code == 200 and response.text == ""
    doc = requests.get(server.url + "/api-doc/openapi.json").json()
    assert "/generate" in doc["paths"]
    assert requests.get(server.url + "/docs").status_code == 200


def test_validation_and_body_errors(server):
    def post(body, path="/generate", headers=JSON):
        return requests.post(server.url + path, data=body, headers=headers, timeout=30)

    response = post(json.dumps({"inputs": "Zoo", "parameters": {"temperature": 0}}))
    assert response.status_code == 422
    assert response.json() == {"error": "Input validation error: `temperature` must be strictly "
                                        "positive", "error_type": "validation"}
    response = post(json.dumps({"inputs": "", "parameters": {}}))
    assert response.json()["error"] == "Input validation error: `inputs` cannot be empty"
    response = post(json.dumps({"inputs": "a " * 300, "parameters": {}}))
    assert response.status_code == 422 and "must have less than 256 tokens" in response.json()["error"]
    assert post("{").status_code == 400
    assert post(json.dumps({"inputs": 5})).status_code == 422
    assert post(json.dumps({"inputs": "Zoo"}), headers={}).status_code == 415
    assert post("x" * 2_100_000).status_code == 413
    assert requests.get(server.url + "/nowhere").status_code == 404
    assert requests.get(server.url + "/generate").status_code == 405
    # Streams answer 200 with one error event.
    events = stream(server, "Zoo", temperature=-1)
    assert events == [{"error": "Input validation error: `temperature` must be strictly positive",
                       "error_type": "validation"}]


def test_concurrent_mixed_requests_match_alone(server):
    prompts = ["Zoo", "Once upon a time", "The dog", "Lily", "Tom", "A bird", "The sun", "Sam"]
    cases = [(prompts[i % len(prompts)], 5 + (i * 7) % 40, i % 2 == 0) for i in range(32)]
    alone = {}
    for prompt, max_new, _ in cases:
        if (prompt, max_new) not in alone:
            body = generate(server, prompt, max_new_tokens=max_new, details=True).json()
            alone[(prompt, max_new)] = [t["id"] for t in body["details"]["tokens"]]

    results = run_concurrently(server, cases)
    for (prompt, max_new, _), ids in zip(cases, results):
        assert ids == alone[(prompt, max_new)], (prompt, max_new)


def test_request_over_the_concurrency_limit_gets_429(server):
    """128 long streams hold every permit; the 129th request is refused while they all run."""
    sessions, responses = [], []
    try:
        for _ in range(128):
            session = requests.Session()
            sessions.append(session)
            responses.append(session.post(
                server.url + "/generate_stream", headers=JSON, stream=True, timeout=120,
                json={"inputs": "Once upon a time", "parameters": {"max_new_tokens": 400,
                                                                   "ignore_eos_token": True}}))
        assert all(r.status_code == 200 for r in responses)
        refused = requests.post(server.url + "/generate", headers=JSON, timeout=30,
                                json={"inputs": "Zoo", "parameters": {"max_new_tokens": 2}})
        assert refused.status_code == 429
        assert refused.json() == {"error": "Model is overloaded", "error_type": "overloaded"}
        # Refused, not queued: every stream is still generating (none has reached its end).
        for response in responses:
            assert b"generated_text\":null" in next(response.iter_content(chunk_size=None))
    finally:
        for response in responses:
            response.close()
        for session in sessions:
            session.close()
    # Once the clients are gone the permits come back.
    deadline = time.time() + 30
    while True:
        response = requests.post(server.url + "/generate", headers=JSON, timeout=60,
                                 json={"inputs": "Zoo", "parameters": {"max_new_tokens": 2}})
        if response.status_code == 200 or time.time() > deadline:
            break
        time.sleep(0.2)
    assert response.status_code == 200


def metric(server, name):
    for line in requests.get(server.url + "/metrics", timeout=10).text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_client_disconnect_mid_stream_frees_its_row(server):
    dropped = metric(server, 'tgi_request_failure{err="dropped"}')
    body = json.dumps({"inputs": "Once upon a time",
                       "parameters": {"max_new_tokens": 400, "ignore_eos_token": True}}).encode()
    with socket.create_connection(("127.0.0.1", server.port)) as conn:
        conn.sendall(b"POST /generate_stream HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                     b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        received = b""
        while received.count(b"data:") < 3:
            received += conn.recv(4096)
    # The scheduler drops the request at its next step and filters it out of the batch.
    deadline = time.time() + 30
    while time.time() < deadline and (metric(server, 'tgi_request_failure{err="dropped"}') == dropped
                                      or metric(server, "tgi_batch_current_size") != 0):
        time.sleep(0.05)
    assert metric(server, 'tgi_request_failure{err="dropped"}') == dropped + 1
    assert metric(server, "tgi_batch_current_size") == 0
    assert metric(server, "tgi_cpp_permits_in_use") == 0
    # The server still serves.
    assert generate(server, "Zoo", max_new_tokens=3).json()["generated_text"]


def test_best_of_and_return_full_text(server):
    body = generate(server, "Once upon a time", max_new_tokens=8, best_of=2, do_sample=True,
                    details=True).json()
    details = body["details"]
    assert len(details["best_of_sequences"]) == 1
    loser = details["best_of_sequences"][0]
    assert loser["generated_tokens"] == 8 and loser["seed"] is not None
    mean = lambda tokens: sum(t["logprob"] for t in tokens) / len(tokens)
    assert mean(details["tokens"]) >= mean(loser["tokens"])  # the winner has the best mean
    full = generate(server, "Zoo", max_new_tokens=4, return_full_text=True).json()
    plain = generate(server, "Zoo", max_new_tokens=4).json()
    assert full["generated_text"] == "Zoo" + plain["generated_text"]
    events = stream(server, "Zoo", max_new_tokens=2, best_of=2, do_sample=True)
    assert events == [{"error": "Input validation error: `best_of` != 1 is not supported when "
                                "streaming tokens", "error_type": "validation"}]


def test_chunked_prefill_gives_the_same_tokens_and_prompt_logprobs(server):
    # Prompts computed 4 tokens a step, joining streams that are already generating, against the
    # module's server (its 128-token chunks hold these prompts whole).
    from conftest import Server
    chunked = Server(router_args=["--max-prefill-chunk-tokens", "4"])
    try:
        prompts = ["Once upon a time, there was a little girl named Lily. She loved to play",
                   "Zoo", "The dog ran to the park and saw a big red ball. He wanted", "Tom"]
        cases = [(prompts[i % len(prompts)], 10 + (i * 5) % 30, i % 2 == 0) for i in range(16)]
        alone = {}
        for prompt, max_new, _ in cases:
            if (prompt, max_new) not in alone:
                body = generate(chunked, prompt, max_new_tokens=max_new, details=True,
                                decoder_input_details=True).json()
                alone[(prompt, max_new)] = [t["id"] for t in body["details"]["tokens"]]
                # The same tokens and prompt logprobs as whole prompts (the module's server).
                whole = generate(server, prompt, max_new_tokens=max_new, details=True,
                                 decoder_input_details=True).json()
                assert alone[(prompt, max_new)] == [t["id"] for t in whole["details"]["tokens"]]
                for a, b in zip(body["details"]["prefill"], whole["details"]["prefill"]):
                    assert a["id"] == b["id"]
                    assert (a["logprob"] is None) == (b["logprob"] is None)
                    if a["logprob"] is not None:
                        assert abs(a["logprob"] - b["logprob"]) < 1e-4

        results = run_concurrently(chunked, cases)
        for (prompt, max_new, _), ids in zip(cases, results):
            assert ids == alone[(prompt, max_new)], (prompt, max_new)
    finally:
        assert chunked.stop() == [0, 0], chunked.logs()
