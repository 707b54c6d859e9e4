"""A user's view of the whole server: the launcher on the bundled model, over HTTP."""
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from conftest import JSON, LAUNCHER_BIN, MODEL_DIR, Launcher, alive, generate, long_streams, stream

def test_oracle_cases_through_generate_and_stream(launcher, oracle):
    for case in oracle:
        if not case["prompt"]:
            continue
        n = len(case["generated_tokens"])
        body = generate(launcher, case["prompt"], max_new_tokens=n, details=True)
        assert [t["id"] for t in body["details"]["tokens"]] == case["generated_tokens"]
        assert body["generated_text"] == case["generated_text"]
        events = stream(launcher, case["prompt"], max_new_tokens=n)
        assert [e["token"]["id"] for e in events] == case["generated_tokens"]
        assert events[-1]["generated_text"] == case["generated_text"]


def test_info_and_tokenize(launcher):
    info = requests.get(launcher.url + "/info").json()
    assert info["model_id"].endswith("stories260K")
    assert info["max_total_tokens"] == 512 and info["max_input_length"] == 511
    tokens = requests.post(launcher.url + "/tokenize", headers=JSON,
                           json={"inputs": "Once upon"}).json()
    assert [t["text"] for t in tokens][1:] == ["Once", " upon"]


def test_concurrent_requests(launcher):
    prompts = ["Zoo", "Once upon a time", "Lily", "The dog"] * 4
    alone = {p: generate(launcher, p, max_new_tokens=16)["generated_text"] for p in set(prompts)}
    with ThreadPoolExecutor(max_workers=16) as pool:
        texts = list(pool.map(lambda p: generate(launcher, p, max_new_tokens=16)["generated_text"],
                              prompts))
    assert texts == [alone[p] for p in prompts]


def test_bad_flags_exit_with_tgi_messages():
    cases = [
        (["--max-input-tokens", "600", "--max-total-tokens", "512"], 1,
         # TGI's launcher prints this message with its missing backtick.
         "ArgumentValidation(\"`max_input_tokens must be < `max_total_tokens`\")"),
        (["--validation-workers", "0"], 1, "`validation_workers` must be > 0"),
        (["--no-such-flag"], 2, "--no-such-flag"),
    ]
    for args, code, message in cases:
        result = subprocess.run([LAUNCHER_BIN, *args], capture_output=True, text=True, timeout=60)
        assert result.returncode == code, (args, result.stdout, result.stderr)
        assert message in result.stdout + result.stderr


def test_killed_shard_fails_requests_and_stops_everything():
    launcher = Launcher()
    children = launcher.children()
    # The shard is killed once every stream has its first token (a fast shard finishes 500
    # tokens of this tiny model in well under a second).
    threads, results = long_streams(launcher, 4)
    shard = [pid for pid in children
             if "text-generation-shard" in open(f"/proc/{pid}/cmdline").read()]
    assert shard, children
    os.kill(shard[0], signal.SIGKILL)
    code = launcher.process.wait(timeout=60)  # the bound only catches a hang
    assert code != 0
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 4
    assert all("error" in result and '"generated_text":"' not in result for result in results), \
        results
    assert "shard-0" in launcher.logs() or "Shard 0" in launcher.logs()
    assert not any(alive(pid) for pid in children)
    assert not os.path.exists(launcher.uds + "-0")


def test_sigterm_under_load_ends_cleanly():
    launcher = Launcher()
    children = launcher.children()
    outcomes = []

    def request():
        try:
            response = requests.post(launcher.url + "/generate", headers=JSON, timeout=120,
                                     json={"inputs": "Zoo", "parameters": {"max_new_tokens": 60}})
            outcomes.append(response.status_code)
        except requests.RequestException:
            outcomes.append("refused")

    threads = [threading.Thread(target=request) for _ in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    assert launcher.stop() == 0, launcher.logs()
    for thread in threads:
        thread.join(timeout=60)
    assert len(outcomes) == 8
    assert all(o in (200, "refused") for o in outcomes), outcomes
    assert not any(alive(pid) for pid in children)
    assert not os.path.exists(launcher.uds + "-0")


def test_serving_properties_configuration(tmp_path):
    model = tmp_path / "model"
    shutil.copytree(MODEL_DIR, model)
    (model / "serving.properties").write_text(
        "option.max_input_len=200\noption.max_output_len=100\noption.max_rolling_batch_size=8\n")
    launcher = Launcher(args=["--model-id", str(model)])
    try:
        info = requests.get(launcher.url + "/info").json()
        assert info["max_input_length"] == 200
        assert info["max_total_tokens"] == 300
        assert info["max_batch_size"] == 8
        assert generate(launcher, "Zoo", max_new_tokens=4)["generated_text"]
    finally:
        assert launcher.stop() == 0


def test_hub_model_id_downloads_from_a_local_hub_and_serves(tmp_path, oracle):
    """--model-id org/tiny with HF_ENDPOINT on 127.0.0.1: the launcher downloads the bundled
    model's files into the cache (with HF_TOKEN) and serves them."""
    import http.server
    import urllib.parse

    files = {name: open(os.path.join(MODEL_DIR, name), "rb").read()
             for name in os.listdir(MODEL_DIR)}
    seen_tokens = []

    class Hub(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def reply(self, status, data, content_type="application/octet-stream"):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            seen_tokens.append(self.headers.get("Authorization"))
            path = urllib.parse.unquote(self.path)
            if path.startswith("/api/models/org/tiny"):
                listing = {"id": "org/tiny", "sha": "a" * 40,
                           "siblings": [{"rfilename": name} for name in files]}
                return self.reply(200, json.dumps(listing).encode(), "application/json")
            prefix = "/org/tiny/resolve/"
            if path.startswith(prefix):
                name = path[len(prefix):].split("/", 1)[1]
                if name in files:
                    return self.reply(200, files[name])
            self.reply(404, b'{"error":"Entry not found"}', "application/json")

    hub = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    threading.Thread(target=hub.serve_forever, daemon=True).start()
    cache = tmp_path / "cache"
    try:
        launcher = Launcher(args=["--model-id", "org/tiny"], env={
            "HF_ENDPOINT": f"http://127.0.0.1:{hub.server_address[1]}",
            "HUGGINGFACE_HUB_CACHE": str(cache), "HF_TOKEN": "hf_secret"})
        try:
            case = oracle[1]
            body = generate(launcher, case["prompt"], max_new_tokens=len(case["generated_tokens"]),
                            details=True)
            assert [t["id"] for t in body["details"]["tokens"]] == case["generated_tokens"]
        finally:
            assert launcher.stop() == 0
    finally:
        hub.shutdown()
        hub.server_close()
    assert "Bearer hf_secret" in seen_tokens
    snapshot = cache / "models--org--tiny" / "snapshots" / ("a" * 40)
    assert (snapshot / "model.safetensors").read_bytes() == files["model.safetensors"]
