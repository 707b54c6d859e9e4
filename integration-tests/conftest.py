"""Starts the real text-generation-launcher (which starts the real shard and router) on the
bundled model, as a user would, and talks HTTP to it.

ctest passes TGI_LAUNCHER_BIN, TGI_MODELS_DIR and TGI_TESTDATA_DIR; the launcher finds the shard
and router binaries in the build tree.
"""
import json
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest
import requests

LAUNCHER_BIN = os.environ["TGI_LAUNCHER_BIN"]
MODEL_DIR = os.path.join(os.environ["TGI_MODELS_DIR"], "stories260K")
ORACLE_PATH = os.path.join(os.environ["TGI_TESTDATA_DIR"], "oracle", "stories260K_greedy.json")
_CLEARED = ("HOSTNAME", "PORT", "MODEL_ID", "LOG_LEVEL", "HF_TOKEN", "HF_ENDPOINT",
            "HF_HUB_OFFLINE", "HUGGINGFACE_HUB_CACHE", "HF_MODEL_ID", "NUM_SHARD",
            "MAX_BATCH_SIZE", "JSON_OUTPUT")


JSON = {"Content-Type": "application/json"}


def generate(launcher, inputs, **parameters):
    response = requests.post(launcher.url + "/generate", headers=JSON, timeout=120,
                             json={"inputs": inputs, "parameters": parameters})
    assert response.status_code == 200, response.text
    return response.json()


def stream(launcher, inputs, **parameters):
    response = requests.post(launcher.url + "/generate_stream", headers=JSON, stream=True,
                             timeout=120, json={"inputs": inputs, "parameters": parameters})
    assert response.status_code == 200
    frames = response.content.decode().split("\n\n")
    assert frames[-1] == ""
    return [json.loads(frame[len("data:"):]) for frame in frames[:-1]]


def long_streams(launcher, count):
    """Starts `count` streams of 500 tokens and returns (threads, results) once each has its first
    bytes. Each result is the stream's whole text, or "error: ..." when the connection broke."""
    results = []
    streaming = threading.Semaphore(0)

    def run():
        try:
            response = requests.post(
                launcher.url + "/generate_stream", headers=JSON, stream=True, timeout=120,
                json={"inputs": "Once upon a time",
                      "parameters": {"max_new_tokens": 500, "ignore_eos_token": True}})
            text = b""
            for chunk in response.iter_content(chunk_size=None):
                if not text:
                    streaming.release()
                text += chunk
            results.append(text.decode())
        except requests.RequestException as error:
            results.append(f"error: {error}")

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for _ in threads:
        assert streaming.acquire(timeout=60)
    return threads, results


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_pids(pid):
    """Every descendant of `pid` (from /proc)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parent = int(f.read().split(") ")[-1].split()[1])
                children.setdefault(parent, []).append(int(entry))
            except (FileNotFoundError, ProcessLookupError, ValueError):
                pass
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


class Launcher:
    def __init__(self, args=(), env=None, wait=True):
        self.dir = tempfile.mkdtemp(prefix="tgi-integration-")
        self.uds = os.path.join(self.dir, "shard")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        full_env = {k: v for k, v in os.environ.items() if k not in _CLEARED}
        full_env.update({"PAD_SEQUENCE_TO_MULTIPLE_OF": "32", "MASTER_PORT": str(free_port())})
        full_env.update(env or {})
        self.log_path = os.path.join(self.dir, "launcher.log")
        self.process = subprocess.Popen(
            [LAUNCHER_BIN, "--port", str(self.port), "--hostname", "127.0.0.1",
             "--shard-uds-path", self.uds, *args],
            env=full_env, stdout=open(self.log_path, "w"), stderr=subprocess.STDOUT)
        if wait:
            self.wait_healthy()

    def wait_healthy(self, timeout=180):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"launcher exited with {self.process.returncode}:\n{self.logs()}")
            try:
                if requests.get(self.url + "/health", timeout=5).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"not healthy after {timeout} s:\n{self.logs()}")

    def logs(self):
        with open(self.log_path) as f:
            return f.read()

    def children(self):
        return child_pids(self.process.pid)

    def stop(self, sig=signal.SIGTERM, timeout=120):
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)


@pytest.fixture(scope="module")
def launcher():
    instance = Launcher()
    yield instance
    children = instance.children()
    assert instance.stop() == 0, instance.logs()
    assert not any(alive(pid) for pid in children)
    assert not os.path.exists(instance.uds + "-0")


@pytest.fixture(scope="session")
def oracle():
    with open(ORACLE_PATH) as f:
        return json.load(f)["cases"]
