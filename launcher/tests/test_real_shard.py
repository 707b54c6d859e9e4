"""The launcher with the real text-generation-shard (when it is built) and the fake router."""
import os
import signal

import pytest

from conftest import pid_alive, wait_until

REAL_SHARD = os.environ.get("TGI_REAL_SHARD_BIN", "")


@pytest.mark.skipif(not os.access(REAL_SHARD, os.X_OK),
                    reason=f"text-generation-shard is not built ({REAL_SHARD or 'unset'})")
def test_real_shard_becomes_ready_and_stops_cleanly(launch):
    launcher = launch(shard_bin=REAL_SHARD, args=["--max-total-tokens", "128",
                                                  "--max-input-tokens", "64"],
                      env={"PAD_SEQUENCE_TO_MULTIPLE_OF": "16"})
    router = launcher.wait_record("router", timeout=300)
    socket_path = launcher.uds + "-0"
    assert router["master_socket_exists"]
    assert os.path.exists(socket_path)
    # The real shard records nothing: find it through /proc by its command line.
    children = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().split(b"\0")
        except OSError:
            continue
        if cmdline and cmdline[0] == REAL_SHARD.encode() and socket_path.encode()[:-2] in cmdline:
            children.append(int(pid))
    assert len(children) == 1, children
    wait_until(lambda: "[shard-0]" in launcher.log(), 10, "the shard's log lines")
    launcher.signal(signal.SIGTERM)
    assert launcher.wait(120) == 0
    assert not os.path.exists(socket_path)
    wait_until(lambda: not pid_alive(children[0]), 10, "the shard to exit")
    log = launcher.log()
    assert "Shard ready in" in log
    assert "shard-0 terminated" in log
