"""A stop signal to the launcher in every phase of a server's life: while the shard loads, while
the router warms up, during a long prefill and under streaming load. Everything must be gone
soon after (TGI's launcher stops its children at once), with exit code 0 and no socket left; a
request in flight finishes or ends with a clean error, never a bare hang."""
import json
import os
import shutil
import signal
import subprocess
import threading
import time

import pytest
import requests

from conftest import MODEL_DIR, Launcher, alive

JSON = {"Content-Type": "application/json"}
BENCHMARK_BIN = os.environ.get("TGI_BENCHMARK_BIN")  # writes the random benchmark models
STOP_BOUND_S = 10  # "everything is gone within 10 s" (issue: SIGTERM during warmup)


def wait_for(condition, timeout, what):
    deadline = time.time() + timeout
    while not condition():
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def process_named(launcher, name):
    for pid in launcher.children():
        try:
            with open(f"/proc/{pid}/cmdline") as f:
                if name in f.read():
                    return pid
        except FileNotFoundError:
            pass
    return None


def refuses_connections(launcher):
    try:
        requests.get(launcher.url + "/health", timeout=2)
        return False
    except requests.ConnectionError:
        return True


def stop_and_check(launcher):
    children = launcher.children()
    assert launcher.stop(timeout=STOP_BOUND_S) == 0, launcher.logs()
    wait_for(lambda: not any(alive(pid) for pid in children), 2, "children to be reaped")
    assert not os.path.exists(launcher.uds + "-0")


def test_sigterm_while_the_shard_loads(tmp_path):
    # The weights are a FIFO nobody writes: the shard blocks in loading for as long as it lives.
    model = tmp_path / "model"
    shutil.copytree(MODEL_DIR, model)
    (model / "model.safetensors").unlink()
    os.mkfifo(model / "model.safetensors")
    launcher = Launcher(["--model-id", str(model)], wait=False)
    wait_for(lambda: process_named(launcher, "text-generation-shard"), 30, "the shard process")
    time.sleep(1)
    assert not os.path.exists(launcher.uds + "-0"), "the shard must still be loading"
    stop_and_check(launcher)


def test_sigterm_during_warmup(tmp_path):
    # On CPU warmup is one call, the largest step: without chunked prefill, 16 prompts of 500
    # tokens on the 110M-parameter benchmark model, seconds of work (the bundled model, or one
    # chunk, would be done before the signal comes).
    assert BENCHMARK_BIN, "text-generation-benchmark was not built (it needs OpenBLAS)"
    model = tmp_path / "bench-110m"
    subprocess.run([BENCHMARK_BIN, "make-model", "--shape", "bench-110m", "--output", str(model)],
                   check=True, capture_output=True)
    launcher = Launcher(["--model-id", str(model), "--max-input-tokens", "500",
                         "--max-total-tokens", "512", "--max-batch-prefill-tokens", "8000",
                         "--max-batch-size", "16", "--max-prefill-chunk-tokens", "0"], wait=False)
    wait_for(lambda: process_named(launcher, "text-generation-router"), 60, "the router process")
    time.sleep(1)
    assert os.path.exists(launcher.uds + "-0")
    assert refuses_connections(launcher), "the router must still be warming up"
    stop_and_check(launcher)


def run_in_threads(count, target):
    outcomes = []
    threads = [threading.Thread(target=lambda: outcomes.append(target())) for _ in range(count)]
    for thread in threads:
        thread.start()
    return threads, outcomes


def stream_outcome(launcher, inputs, max_new_tokens):
    """'done' (final event), 'error' (one error event, last), or 'refused'."""
    try:
        response = requests.post(launcher.url + "/generate_stream", headers=JSON, stream=True,
                                 timeout=60, json={"inputs": inputs,
                                                   "parameters": {"max_new_tokens": max_new_tokens}})
    except requests.ConnectionError:
        return "refused"
    frames = response.content.decode().split("\n\n")
    assert frames[-1] == "", frames[-1]
    events = [json.loads(frame[len("data:"):]) for frame in frames[:-1] if frame]
    finals = [e for e in events if e.get("generated_text") is not None or "error" in e]
    assert len(finals) == 1 and finals[0] is events[-1], events[-3:]
    return "error" if "error" in events[-1] else "done"


def test_sigterm_during_a_long_prefill():
    launcher = Launcher(["--max-input-tokens", "500", "--max-total-tokens", "512",
                         "--max-batch-prefill-tokens", "16000"], env={"WARMUP_ENABLED": "false"})
    prompt = "Once upon a time there was a little girl. " * 45  # close to 500 tokens
    threads, outcomes = run_in_threads(16, lambda: stream_outcome(launcher, prompt, 8))
    time.sleep(0.3)
    stop_and_check(launcher)
    for thread in threads:
        thread.join(timeout=30)
    assert len(outcomes) == 16
    assert set(outcomes) <= {"done", "error", "refused"}, outcomes


def test_sigterm_under_streaming_load():
    launcher = Launcher()
    threads, outcomes = run_in_threads(8, lambda: stream_outcome(launcher, "Zoo", 200))
    time.sleep(0.3)
    stop_and_check(launcher)
    for thread in threads:
        thread.join(timeout=30)
    assert len(outcomes) == 8
    assert set(outcomes) <= {"done", "error", "refused"}, outcomes
    assert "done" in outcomes or "error" in outcomes, outcomes
