"""Runs the real text-generation-benchmark against real shards and launchers on the bundled
stories260K model (and on tiny random models it writes itself).

ctest passes TGI_BENCHMARK_BIN, TGI_SHARD_BIN, TGI_LAUNCHER_BIN and TGI_MODELS_DIR.
"""
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time

import pytest
import requests

BENCHMARK_BIN = os.environ["TGI_BENCHMARK_BIN"]
SHARD_BIN = os.environ["TGI_SHARD_BIN"]
LAUNCHER_BIN = os.environ["TGI_LAUNCHER_BIN"]
STORIES = os.path.join(os.environ["TGI_MODELS_DIR"], "stories260K")

# TGI's benchmark reads its flags from these too; a developer's shell must not change the tests.
_CLEARED = ("TOKENIZER_NAME", "REVISION", "SEQUENCE_LENGTH", "DECODE_LENGTH", "RUNS", "WARMUPS",
            "MASTER_SHARD_UDS_PATH", "TEMPERATURE", "TOP_K", "TOP_P", "TYPICAL_P",
            "REPETITION_PENALTY", "FREQUENCY_PENALTY", "WATERMARK", "DO_SAMPLE", "TOP_N_TOKENS",
            "TGI_BENCHMARK_CACHE", "HOSTNAME", "PORT", "MODEL_ID", "LOG_LEVEL", "MAX_BATCH_SIZE",
            "NUM_SHARD", "JSON_OUTPUT")


def clean_env(extra=None):
    env = {k: v for k, v in os.environ.items() if k not in _CLEARED}
    env.update(extra or {})
    return env


def run_benchmark(args, env=None, timeout=300):
    """Runs the benchmark; returns the CompletedProcess (stdout and stderr as text)."""
    return subprocess.run([BENCHMARK_BIN, *args], env=clean_env(env), capture_output=True,
                          text=True, timeout=timeout)


def markdown_tables(text):
    """Every markdown table of `text` as (header cells, rows of cells)."""
    tables, current = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            current.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif current:
            tables.append((current[0], [row for row in current[2:]]))
            current = []
    return tables


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Shard:
    """A text-generation-shard on stories260K on a private socket."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="tgi-benchmark-test-")
        self.socket = os.path.join(self.dir, "shard-0")
        self.log = open(os.path.join(self.dir, "shard.log"), "w")
        self.process = subprocess.Popen(
            [SHARD_BIN, STORIES, "--uds-path", os.path.join(self.dir, "shard")],
            env=clean_env(), stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while not os.path.exists(self.socket):
            assert self.process.poll() is None, "the shard exited"
            assert time.time() < deadline, "the shard is not ready after 60 s"
            time.sleep(0.05)

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        self.log.close()


class Launcher:
    """A text-generation-launcher on stories260K, healthy."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="tgi-benchmark-test-")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(os.path.join(self.dir, "launcher.log"), "w")
        env = clean_env({"TEXT_GENERATION_SERVER_IGNORE_EOS_TOKEN": "true",
                         "MASTER_PORT": str(free_port())})
        self.process = subprocess.Popen(
            [LAUNCHER_BIN, "--model-id", STORIES, "--port", str(self.port), "--hostname",
             "127.0.0.1", "--shard-uds-path", os.path.join(self.dir, "shard")],
            env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while True:
            assert self.process.poll() is None, "the launcher exited"
            assert time.time() < deadline, "the launcher is not healthy after 120 s"
            try:
                if requests.get(self.url + "/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.1)

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)
        self.log.close()


@pytest.fixture(scope="module")
def shard():
    instance = Shard()
    yield instance
    instance.stop()


@pytest.fixture(scope="module")
def launcher():
    instance = Launcher()
    yield instance
    instance.stop()


@pytest.fixture
def workdir(tmp_path):
    return tmp_path


def load_json(path):
    with open(path) as f:
        return json.load(f)


def no_carriage_returns(text):
    """Progress redrawn in place would leave \\r in captured output."""
    return "\r" not in text and not re.search("\x1b\\[", text)
