"""GET /metrics: TGI's series with exact values after a known sequence of requests, accepted by
promtool, and scraped by a real Prometheus server that answers a query for them."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest
import requests

from conftest import Server, free_port

JSON = {"Content-Type": "application/json"}


def samples(server):
    response = requests.get(server.url + "/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    out = {}
    for line in response.text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out, response.text


def wait_until(condition, timeout=30):
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def single():
    # One permit, so that a long stream makes the next request a 429.
    instance = Server(router_args=["--max-concurrent-requests", "1"])
    yield instance
    assert instance.stop() == [0, 0], instance.logs()


def test_a_known_sequence_gives_exact_counts(single):
    ok = requests.post(single.url + "/generate", headers=JSON, timeout=60,
                       json={"inputs": "Zoo", "parameters": {"max_new_tokens": 5}})
    assert ok.status_code == 200
    streamed = requests.post(single.url + "/generate_stream", headers=JSON, timeout=60,
                             json={"inputs": "Zoo", "parameters": {"max_new_tokens": 4}})
    assert streamed.content.count(b"data:") == 4
    invalid = requests.post(single.url + "/generate", headers=JSON, timeout=60,
                            json={"inputs": "Zoo", "parameters": {"top_p": 7}})
    assert invalid.status_code == 422
    # A long stream holds the only permit; the next request is refused; then the stream's client
    # goes away mid-stream (a cancelled stream: "dropped").
    with socket.create_connection(("127.0.0.1", single.port)) as conn:
        body = json.dumps({"inputs": "Once upon a time", "parameters": {"max_new_tokens": 400}})
        conn.sendall(f"POST /generate_stream HTTP/1.1\r\nHost: x\r\nContent-Type: "
                     f"application/json\r\nContent-Length: {len(body)}\r\n\r\n{body}".encode())
        received = b""
        while received.count(b"data:") < 2:
            received += conn.recv(4096)
        refused = requests.post(single.url + "/generate", headers=JSON, timeout=60,
                                json={"inputs": "Zoo", "parameters": {"max_new_tokens": 2}})
        assert refused.status_code == 429
    wait_until(lambda: samples(single)[0].get('tgi_request_failure{err="dropped"}') == 1)
    wait_until(lambda: samples(single)[0].get("tgi_batch_current_size") == 0)

    s, _ = samples(single)
    assert s["tgi_request_count"] == 5
    assert s["tgi_request_success"] == 2
    assert s['tgi_request_failure{err="validation"}'] == 1
    assert s['tgi_request_failure{err="overloaded"}'] == 1
    assert s['tgi_request_failure{err="dropped"}'] == 1
    assert 'tgi_request_failure{err="generation"}' not in s
    assert s["tgi_request_duration_count"] == 2
    assert s["tgi_request_generated_tokens_count"] == 2
    assert s["tgi_request_generated_tokens_sum"] == 9
    assert s["tgi_request_input_length_count"] == 3  # the validated ones
    assert s["tgi_request_max_new_tokens_sum"] == 5 + 4 + 400
    assert s["tgi_queue_size"] == 0
    assert s["tgi_cpp_permits_in_use"] == 0
    assert s['tgi_batch_inference_count{method="prefill"}'] == 3
    assert s['tgi_batch_inference_success{method="prefill"}'] == 3
    assert s['tgi_batch_inference_count{method="decode"}'] == \
        s['tgi_batch_inference_success{method="decode"}']
    assert s["tgi_batch_next_size_count"] == 3
    assert len([k for k in s if k.startswith("tgi_request_duration_bucket")]) == 36
    # tgi-cpp's own: bucket shapes, positions, the KV pool back to empty.
    prefill_shapes = {k: v for k, v in s.items()
                      if k.startswith('tgi_cpp_batch_shape_steps_total{') and 'method="prefill"' in k}
    assert sum(prefill_shapes.values()) == 3, prefill_shapes
    assert all('batch="4"' in k for k in prefill_shapes), prefill_shapes  # PREFILL_BATCH_BUCKET_SIZE
    assert s['tgi_cpp_positions_total{kind="padding",method="prefill"}'] == 0  # CPU computes no padding
    tokens = lambda text: len(requests.post(single.url + "/tokenize", headers=JSON, timeout=10,
                                            json={"inputs": text}).json())
    assert s['tgi_cpp_positions_total{kind="real",method="prefill"}'] == \
        2 * tokens("Zoo") + tokens("Once upon a time")
    assert s["tgi_cpp_kv_blocks_reserved"] > 0
    assert s["tgi_cpp_kv_blocks_used"] == 0
    assert s["tgi_cpp_kv_block_size"] == 16


def test_promtool_accepts_the_exposition(single):
    _, text = samples(single)
    checked = subprocess.run(["promtool", "check", "metrics"], input=text, text=True,
                             capture_output=True, timeout=60)
    # promtool exits 1 when the exposition does not parse and 3 for lint advice. The only advice
    # allowed is about names TGI fixed (counters without "_total", "tgi_request_count"), which
    # dashboards depend on.
    assert checked.returncode in (0, 3), checked.stdout + checked.stderr
    allowed = re.compile(r'^tgi_(?!cpp_)\w+ (counter metrics should have "_total" suffix|'
                         r'non-histogram and non-summary metrics should not have "_count" suffix)$')
    for line in (checked.stdout + checked.stderr).splitlines():
        assert allowed.match(line), line


def test_a_real_prometheus_scrapes_the_router(single, tmp_path):
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(f"""global:
  scrape_interval: 1s
scrape_configs:
  - job_name: tgi
    static_configs:
      - targets: ["127.0.0.1:{single.port}"]
""")
    prometheus = subprocess.Popen(
        ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=open(tmp_path / "prometheus.log", "w"), stderr=subprocess.STDOUT)
    try:
        expected = samples(single)[0]["tgi_request_success"]

        def scraped():
            try:
                result = requests.get(f"http://127.0.0.1:{port}/api/v1/query",
                                      params={"query": "tgi_request_success"}, timeout=5).json()
            except (requests.ConnectionError, ValueError):
                return False
            values = result.get("data", {}).get("result", [])
            return bool(values) and float(values[0]["value"][1]) == expected

        wait_until(scraped, timeout=60)
    finally:
        prometheus.send_signal(signal.SIGTERM)
        prometheus.wait(timeout=30)
