"""Starts real text-generation-shard processes on the bundled model for the gRPC tests.

ctest passes the paths through the environment: TGI_SHARD_BIN, TGI_PROTO_PYTHON_DIR,
TGI_MODELS_DIR and TGI_TESTDATA_DIR.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import pytest

sys.path.insert(0, os.environ["TGI_PROTO_PYTHON_DIR"])
sys.path.insert(0, os.path.dirname(__file__))

from shard_client import ShardClient  # noqa: E402

SHARD_BIN = os.environ["TGI_SHARD_BIN"]
MODEL_DIR = os.path.join(os.environ["TGI_MODELS_DIR"], "stories260K")
ORACLE_PATH = os.path.join(os.environ["TGI_TESTDATA_DIR"], "oracle", "stories260K_greedy.json")


class ShardProcess:
    """One shard process on a private socket; stop() checks that it removed its socket."""

    def __init__(self, env=None, args=()):
        self.dir = tempfile.mkdtemp(prefix="tgi-shard-test-")
        self.uds = os.path.join(self.dir, "shard")
        self.socket = self.uds + "-0"
        full_env = dict(os.environ)
        full_env.update({"PAD_SEQUENCE_TO_MULTIPLE_OF": "16", "MAX_TOTAL_TOKENS": "512"})
        full_env.update(env or {})
        self.log_path = os.path.join(self.dir, "shard.log")
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [SHARD_BIN, MODEL_DIR, "--uds-path", self.uds, "--num-threads", "1", *args],
            env=full_env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while not os.path.exists(self.socket):
            if self.process.poll() is not None:
                raise RuntimeError(f"shard exited with {self.process.returncode}: {self.logs()}")
            if time.time() > deadline:
                raise RuntimeError(f"shard not ready after 60 s: {self.logs()}")
            time.sleep(0.05)
        self.client = ShardClient(self.socket)

    def logs(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def stop(self):
        self.client.close()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=30)
        self.log.close()
        return code


@pytest.fixture(scope="module")
def shard():
    process = ShardProcess()
    yield process.client
    assert process.stop() == 0, process.logs()
    assert not os.path.exists(process.socket)


@pytest.fixture
def start_shard():
    """Starts shards with their own environment; each is stopped at the end of the test."""
    started = []

    def start(env=None, args=()):
        process = ShardProcess(env, args)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.process.poll() is None:
            process.stop()


@pytest.fixture(scope="session")
def oracle():
    with open(ORACLE_PATH) as f:
        return json.load(f)["cases"]
