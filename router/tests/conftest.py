"""Starts a real text-generation-shard and text-generation-router on the bundled model.

ctest passes TGI_SHARD_BIN, TGI_ROUTER_BIN, TGI_MODELS_DIR and TGI_TESTDATA_DIR.
"""
import json
import os
import signal
import socket
import subprocess
import tempfile
import time

import pytest
import requests

MODEL_DIR = os.path.join(os.environ["TGI_MODELS_DIR"], "stories260K")
ORACLE_PATH = os.path.join(os.environ["TGI_TESTDATA_DIR"], "oracle", "stories260K_greedy.json")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A shard and a router on a private socket and port; logs kept for the tests to read."""

    def __init__(self, router_args=(), env=None):
        self.dir = tempfile.mkdtemp(prefix="tgi-router-test-")
        self.uds = os.path.join(self.dir, "shard")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        full_env = dict(os.environ, PAD_SEQUENCE_TO_MULTIPLE_OF="16", MAX_TOTAL_TOKENS="512",
                        LOG_LEVEL="debug")
        full_env.update(env or {})
        self.shard_log = os.path.join(self.dir, "shard.log")
        self.router_log = os.path.join(self.dir, "router.log")
        self.shard = subprocess.Popen(
            [os.environ["TGI_SHARD_BIN"], MODEL_DIR, "--uds-path", self.uds, "--num-threads", "1"],
            env=full_env, stdout=open(self.shard_log, "w"), stderr=subprocess.STDOUT)
        self._wait(lambda: os.path.exists(self.uds + "-0"), self.shard, "shard")
        self.router = subprocess.Popen(
            [os.environ["TGI_ROUTER_BIN"], "--tokenizer-name", MODEL_DIR,
             "--master-shard-uds-path", self.uds + "-0", "--hostname", "127.0.0.1",
             "--port", str(self.port), "--max-input-tokens", "256", "--max-total-tokens", "512",
             "--max-batch-prefill-tokens", "1024", *router_args],
            env=full_env, stdout=open(self.router_log, "w"), stderr=subprocess.STDOUT)
        self._wait(self._healthy, self.router, "router")

    def _healthy(self):
        try:
            return requests.get(self.url + "/health", timeout=5).status_code == 200
        except requests.ConnectionError:
            return False

    def _wait(self, ready, process, name):
        deadline = time.time() + 120
        while not ready():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}: {self.logs()}")
            if time.time() > deadline:
                raise RuntimeError(f"{name} not ready: {self.logs()}")
            time.sleep(0.1)

    def logs(self):
        text = ""
        for path in (self.shard_log, self.router_log):
            if os.path.exists(path):
                with open(path) as f:
                    text += f"--- {path}\n" + f.read()
        return text

    def shard_log_text(self):
        with open(self.shard_log) as f:
            return f.read()

    def stop(self):
        codes = []
        for process in (self.router, self.shard):
            process.send_signal(signal.SIGTERM)
            codes.append(process.wait(timeout=60))
        return codes


@pytest.fixture(scope="module")
def server():
    instance = Server()
    yield instance
    assert instance.stop() == [0, 0], instance.logs()


@pytest.fixture(scope="session")
def oracle():
    with open(ORACLE_PATH) as f:
        return json.load(f)["cases"]
