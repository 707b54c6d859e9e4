"""Process-level tests of the launcher with fake children: readiness, crashes, signals, cleanup."""
import json
import os
import signal

import pytest

from conftest import MODEL_DIR, pid_alive, run_launcher, wait_until


def assert_all_gone(launcher):
    for pid in launcher.recorded_pids():
        wait_until(lambda: not pid_alive(pid), 10, f"pid {pid} to exit")
    for name in os.listdir(launcher.workdir):
        assert not name.startswith("sock-"), f"socket {name} left behind"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_ready_then_stop_signal_stops_everything_cleanly(launch, signum):
    launcher = launch()
    router = launcher.wait_record("router")
    shard = launcher.record("shard-0")
    assert router["master_socket_exists"], "router started before the shard was ready"
    assert router["argv"][router["argv"].index("--master-shard-uds-path") + 1] == launcher.uds + "-0"
    assert shard["argv"][0] == MODEL_DIR
    assert shard["argv"][shard["argv"].index("--uds-path") + 1] == launcher.uds
    launcher.signal(signum)
    assert launcher.wait(60) == 0
    log = launcher.log()
    assert "Shard ready in" in log
    assert "Starting Webserver" in log
    assert "Terminating router" in log
    assert "Error:" not in log
    assert_all_gone(launcher)


def test_children_output_is_relayed_with_their_label(launch):
    launcher = launch()
    launcher.wait_record("router")
    wait_until(lambda: "[router] fake router says hello" in launcher.log(), 10, "relayed line")
    launcher.signal(signal.SIGTERM)
    assert launcher.wait(60) == 0
    log = launcher.log()
    assert "[shard-0] fake shard-0 says hello" in log
    assert "[shard-0] plain stdout line from shard-0" in log


def test_json_output_reaches_children_and_relayed_records_keep_json(launch):
    launcher = launch(args=["--json-output"])
    router = launcher.wait_record("router")
    assert "--json-output" in router["argv"]
    assert "--json-output" in launcher.record("shard-0")["argv"]
    wait_until(lambda: "fake router says hello" in launcher.log(), 10, "relayed line")
    launcher.signal(signal.SIGTERM)
    assert launcher.wait(60) == 0
    records = [json.loads(line) for line in launcher.log().splitlines() if line.startswith("{")]
    assert records, launcher.log()
    hello = [r for r in records if r["fields"]["message"] == "fake shard-0 says hello"]
    assert hello and hello[0]["target"] == "shard-0" and hello[0]["level"] == "INFO"
    assert any(r["target"] == "launcher" and "Starting Webserver" in r["fields"]["message"]
               for r in records)


def test_shard_crash_stops_the_router_and_reports_the_shard(launch):
    launcher = launch(env={"FAKE_SHARD_MODE": "crash_on_trigger"})
    router = launcher.wait_record("router")
    launcher.trigger()
    assert launcher.wait(60) == 1
    log = launcher.log()
    assert "Shard 0 crashed" in log
    assert "shard-0 (pid" in log and "rank=0) exited with exit code 3" in log
    for i in range(3):
        assert f"shard-0 crash line {i}" in log
    assert "Terminating router" in log
    assert log.rstrip().endswith("Error: ShardFailed")
    assert not pid_alive(router["pid"])
    assert_all_gone(launcher)


def test_router_crash_stops_the_shards(launch):
    launcher = launch(args=["--num-shard", "2"], env={"FAKE_ROUTER_MODE": "exit3"})
    assert launcher.wait(60) == 1
    log = launcher.log()
    assert "Webserver Crashed" in log
    assert "router (pid" in log and "exited with exit code 3" in log
    assert "router fatal error line 2" in log
    assert "Shutting down shards" in log
    assert log.rstrip().endswith("Error: WebserverFailed")
    assert launcher.record("shard-0") and launcher.record("shard-1")
    assert_all_gone(launcher)


def test_shard_failing_at_startup_names_rank_and_stderr(launch):
    launcher = launch(args=["--num-shard", "2"], env={"FAKE_SHARD_MODE_1": "exit3"})
    assert launcher.wait(60) == 1
    log = launcher.log()
    assert "Shard 1 failed to start" in log
    assert "rank=1) exited with exit code 3" in log
    assert "shard-1 fatal error line 0" in log
    assert log.rstrip().endswith("Error: ShardCannotStart")
    assert launcher.record("router") is None
    assert_all_gone(launcher)


def test_two_shards_get_ranks_and_split_the_cpus(launch):
    launcher = launch(args=["--num-shard", "2"],
                      env={"FAKE_SHARD_MODE_1": "crash_on_trigger", "BATCH_BUCKET_SIZE": "16",
                           "LOG_LEVEL": "debug"})
    launcher.wait_record("router")
    cpus = len(os.sched_getaffinity(0))
    for rank in range(2):
        shard = launcher.record(f"shard-{rank}")
        env, argv = shard["env"], shard["argv"]
        assert env["RANK"] == str(rank) and env["WORLD_SIZE"] == "2"
        assert env["MASTER_ADDR"] == "localhost" and env["MASTER_PORT"] == "29500"
        assert env["MAX_TOTAL_TOKENS"] == "512"
        assert env["BATCH_BUCKET_SIZE"] == "16"
        assert "LOG_LEVEL" not in env
        assert argv[argv.index("--num-threads") + 1] == str(max(1, cpus // 2))
        assert argv[argv.index("--max-total-tokens") + 1] == "512"
        assert argv[argv.index("--dtype") + 1] == "float32"
        assert argv[argv.index("--logger-level") + 1] == "debug"
        assert len(os.sched_getaffinity(shard["pid"])) == max(1, cpus // 2)
    launcher.trigger()
    assert launcher.wait(60) == 1
    log = launcher.log()
    assert "Shard 1 crashed" in log
    assert "Terminating shard-0" in log
    assert_all_gone(launcher)


def test_startup_timeout_gives_up_with_a_clear_message(launch):
    # Long enough for one "Waiting for shard to be ready..." line (every 10 s).
    launcher = launch(args=["--shard-startup-timeout", "11"], env={"FAKE_SHARD_MODE": "never_ready"})
    assert launcher.wait(60) == 1
    log = launcher.log()
    assert "Waiting for shard to be ready... rank=0" in log
    assert "Shard 0 did not become ready within 11 s" in log
    assert "--shard-startup-timeout" in log
    assert log.rstrip().endswith("Error: ShardCannotStart")
    assert_all_gone(launcher)


def test_a_child_that_ignores_sigterm_is_killed_after_the_graceful_timeout(launch):
    launcher = launch(args=["--graceful-termination-timeout", "1"],
                      env={"FAKE_ROUTER_MODE": "ignore_term"})
    launcher.wait_record("router")
    launcher.signal(signal.SIGTERM)
    assert launcher.wait(60) == 0
    log = launcher.log()
    assert "Killing router" in log
    assert "router killed" in log
    assert_all_gone(launcher)


def test_stale_socket_is_removed_before_the_shard_starts(launch, workdir):
    stale = os.path.join(workdir, "sock-0")
    open(stale, "w").close()
    launcher = launch()
    shard = launcher.wait_record("shard-0")
    assert shard["socket_existed_at_start"] is False
    launcher.wait_record("router")
    launcher.signal(signal.SIGTERM)
    assert launcher.wait(60) == 0
    assert not os.path.exists(stale)


def test_sigkilled_launcher_leaves_no_orphans(launch):
    launcher = launch(args=["--num-shard", "2"])
    launcher.wait_record("router")
    pids = launcher.recorded_pids()
    assert len(pids) == 3
    os.kill(launcher.process.pid, signal.SIGKILL)
    launcher.process.wait()
    for pid in pids:
        wait_until(lambda: not pid_alive(pid), 15, f"orphan {pid} to exit")


def test_missing_child_binary_is_reported(launch):
    launcher = launch(router_bin="/nonexistent/text-generation-router")
    assert launcher.wait(60) == 1
    log = launcher.log()
    assert "TGI_ROUTER_BIN=/nonexistent/text-generation-router is not an executable file" in log
    assert log.rstrip().endswith("Error: WebserverCannotStart")


@pytest.mark.parametrize("args,message", [
    (["--max-input-tokens", "600"],
     'Error: ArgumentValidation("`max_input_tokens must be < `max_total_tokens`")'),
    (["--max-batch-prefill-tokens", "10"],
     'Error: ArgumentValidation("`max_batch_prefill_tokens` must be >= `max_input_tokens`. '
     'Given: 10 and 511")'),
    (["--validation-workers", "0"],
     'Error: ArgumentValidation("`validation_workers` must be > 0")'),
    (["--max-input-tokens", "10", "--max-input-length", "10"],
     'Error: ArgumentValidation("Both `max_input_tokens` (10) and `max_input_length` (10) are '
     'set.'),
    (["--sharded", "true", "--num-shard", "1"],
     'Error: ArgumentValidation("`sharded` is true but `num_shard` <= 1")'),
    (["--max-batch-total-tokens", "100"],
     'Error: ArgumentValidation("`max_batch_prefill_tokens` must be <= `max_batch_total_tokens`.'
     ' Given: 561 and 100")'),
    (["--ngrok"],
     'Error: ArgumentValidation("`ngrok-authtoken` must be set when using ngrok tunneling")'),
])
def test_argument_errors_exit_1_with_tgis_message(args, message):
    code, out, err = run_launcher(["--model-id", MODEL_DIR, *args])
    assert code == 1
    assert message in err


def test_usage_errors_exit_2():
    code, _, err = run_launcher(["--no-such-flag"])
    assert code == 2
    assert "error: unexpected argument '--no-such-flag' found" in err
    code, _, err = run_launcher(["--port", "not-a-port"])
    assert code == 2
    assert err.startswith("error: ")


def test_help_and_version():
    code, out, _ = run_launcher(["--help"])
    assert code == 0
    assert "Usage: text-generation-launcher [OPTIONS]" in out
    assert "--max-batch-prefill-tokens <MAX_BATCH_PREFILL_TOKENS>" in out
    code, out, _ = run_launcher(["--version"])
    assert code == 0 and out.startswith("text-generation-launcher ")


def test_without_model_id_the_bundled_model_is_served():
    code, out, err = run_launcher(["--print-config"])
    assert code == 0, err
    config = json.loads(out)
    assert os.path.basename(config["model_dir"]) == "stories260K"
    assert config["max_total_tokens"] == 512
    assert config["dtype"] == "float32"
    assert config["port"] == 3000


def test_port_environment_variable():
    code, out, err = run_launcher(["--print-config"], env={"PORT": "8080"})
    assert code == 0, err
    config = json.loads(out)
    assert config["port"] == 8080
    assert "8080" in config["router"]["args"]


def test_missing_local_model_is_a_download_error():
    code, _, err = run_launcher(["--model-id", "/no/such/model"])
    assert code == 1
    assert "does not exist" in err
    assert err.rstrip().endswith("Error: DownloadError")
