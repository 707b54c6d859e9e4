"""Runs text-generation-launcher against fake (or real) children for the process-level tests.

ctest passes TGI_LAUNCHER_BIN, TGI_MODELS_DIR and, when the shard is built, TGI_REAL_SHARD_BIN.
The fakes (tests/fakes) stand in for the shard and the router through TGI_SHARD_BIN and
TGI_ROUTER_BIN and record their argv, environment and pid in a directory.
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
LAUNCHER_BIN = os.environ["TGI_LAUNCHER_BIN"]
MODEL_DIR = os.path.join(os.environ["TGI_MODELS_DIR"], "stories260K")
FAKE_SHARD = os.path.join(HERE, "fakes", "fake_child.py")
FAKE_ROUTER = os.path.join(HERE, "fakes", "fake_router.sh")

# Variables of the developer's shell that would change the launcher's flags.
_CLEARED = ("HOSTNAME", "PORT", "MODEL_ID", "MAX_BATCH_SIZE", "LOG_LEVEL", "HF_TOKEN",
            "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "HF_ENDPOINT", "HF_MODEL_ID",
            "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES", "HABANA_VISIBLE_DEVICES",
            "JSON_OUTPUT", "NUM_SHARD", "SHARDED", "HUGGINGFACE_HUB_CACHE", "HF_HOME")


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is dead for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_until(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Launcher:
    """One launcher process with its own socket prefix, record directory and log file."""

    def __init__(self, workdir, args=(), env=None, shard_bin=FAKE_SHARD, router_bin=FAKE_ROUTER,
                 model_dir=MODEL_DIR):
        self.workdir = workdir
        self.records = os.path.join(workdir, "records")
        os.makedirs(self.records, exist_ok=True)
        self.uds = os.path.join(workdir, "sock")
        self.log_path = os.path.join(workdir, "launcher.log")
        full_env = {k: v for k, v in os.environ.items() if k not in _CLEARED}
        full_env.update({"TGI_SHARD_BIN": shard_bin, "TGI_ROUTER_BIN": router_bin,
                         "FAKE_RECORD_DIR": self.records,
                         "FAKE_TRIGGER": os.path.join(workdir, "trigger")})
        full_env.update(env or {})
        command = [LAUNCHER_BIN]
        if model_dir is not None:
            command += ["--model-id", model_dir]
        command += ["--shard-uds-path", self.uds, "--port", "39999", *args]
        if "--graceful-termination-timeout" not in args:
            command += ["--graceful-termination-timeout", "10"]
        self.command = command
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(command, env=full_env, stdout=self._log,
                                        stderr=subprocess.STDOUT, start_new_session=True)

    def record(self, label):
        path = os.path.join(self.records, label + ".json")
        if not os.path.exists(path):
            return None
        with open(path) as f:
            return json.load(f)

    def wait_record(self, label, timeout=30):
        wait_until(lambda: self.record(label) is not None or self.process.poll() is not None,
                   timeout, f"{label} to start")
        data = self.record(label)
        assert data is not None, f"{label} never started; launcher log:\n{self.log()}"
        return data

    def trigger(self):
        open(os.path.join(self.workdir, "trigger"), "w").close()

    def signal(self, signum):
        self.process.send_signal(signum)

    def wait(self, timeout=60):
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self._log.flush()

    def log(self):
        self._log.flush()
        with open(self.log_path) as f:
            return f.read()

    def recorded_pids(self):
        pids = []
        for name in os.listdir(self.records):
            if name.endswith(".json"):
                with open(os.path.join(self.records, name)) as f:
                    pids.append(json.load(f)["pid"])
        return pids

    def kill(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        for pid in self.recorded_pids():
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
        self._log.close()


@pytest.fixture
def workdir():
    path = tempfile.mkdtemp(prefix="tgi-launcher-test-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def launch(workdir):
    """launch(args=..., env=...) starts a launcher; every one is killed at the end of the test."""
    started = []

    def start(args=(), env=None, subdir=None, **kwargs):
        directory = os.path.join(workdir, subdir) if subdir else workdir
        os.makedirs(directory, exist_ok=True)
        launcher = Launcher(directory, args=args, env=env, **kwargs)
        started.append(launcher)
        return launcher

    yield start
    for launcher in started:
        launcher.kill()


def run_launcher(args, env=None, timeout=60):
    """Runs the launcher to completion (bad flags, --print-config); returns (code, out, err)."""
    full_env = {k: v for k, v in os.environ.items() if k not in _CLEARED}
    full_env.update({"TGI_SHARD_BIN": FAKE_SHARD, "TGI_ROUTER_BIN": FAKE_ROUTER})
    full_env.update(env or {})
    result = subprocess.run([LAUNCHER_BIN, *args], env=full_env, capture_output=True, text=True,
                            timeout=timeout)
    return result.returncode, result.stdout, result.stderr
