"""text-generation-benchmark end to end: TGI's mode against a running shard, the driver modes
that start the shard or the launcher on a model (written first when it is a named shape), and the
HTTP load mode with its error accounting. Small batch sizes and few runs: seconds each. Nothing
here asserts on how fast anything is."""
import os

from conftest import (STORIES, free_port, load_json, markdown_tables, no_carriage_returns,
                      run_benchmark)

PARAMETER_ROWS = ["Model", "Sequence Length", "Decode Length", "Top N Tokens", "N Runs",
                  "Warmups", "Temperature", "Top K", "Top P", "Typical P", "Repetition Penalty",
                  "Frequency Penalty", "Watermark", "Do Sample"]
LATENCY_HEADER = ["Step", "Batch Size", "Average", "Lowest", "Highest", "p50", "p90", "p99"]
THROUGHPUT_HEADER = ["Step", "Batch Size", "Average", "Lowest", "Highest"]


def test_tgi_mode_against_a_running_shard(shard, workdir):
    report = workdir / "report.json"
    # RUNS comes from the environment, as TGI's clap `env` flags allow.
    result = run_benchmark(["--tokenizer-name", STORIES, "-m", shard.socket, "-b", "1", "-b", "2",
                            "-s", "10", "-d", "4", "-w", "1", "--no-roofline", "--json",
                            str(report)], env={"RUNS": "2"})
    assert result.returncode == 0, result.stderr
    tables = markdown_tables(result.stdout)
    assert len(tables) == 3, result.stdout
    (parameters_header, parameters), (latency_header, latency), (throughput_header, throughput) = tables
    assert parameters_header == ["Parameter", "Value"]
    assert [row[0] for row in parameters] == PARAMETER_ROWS
    assert dict(parameters)["N Runs"] == "2"
    assert dict(parameters)["Decode Length"] == "4"
    assert dict(parameters)["Temperature"] == "None"
    assert latency_header == LATENCY_HEADER
    assert [row[0] for row in latency] == ["Prefill", "", "Decode (token)", "", "Decode (total)", ""]
    assert all(cell.endswith(" ms") for row in latency for cell in row[2:] if cell)
    assert throughput_header == THROUGHPUT_HEADER
    assert [row[0] for row in throughput] == ["Prefill", "", "Decode", ""]
    assert all(cell.endswith(" tokens/secs") for row in throughput for cell in row[2:] if cell)

    data = load_json(report)
    assert data["parameters"]["runs"] == 2
    assert [b["batch_size"] for b in data["batches"]] == [1, 2]
    for batch in data["batches"]:
        for key in ("prefill_latency_ms", "prefill_throughput", "decode_latency_ms",
                    "decode_token_latency_ms", "decode_throughput"):
            assert len(batch[key]) == 2 and all(v > 0 for v in batch[key]), key
        # decode_length 4: Prefill makes the first token, then three Decode steps.
        assert batch["decode_steps"] == [3, 3]
        assert batch["summary"]["decode_latency_ms"]["min"] == min(batch["decode_latency_ms"])
    assert data["shard"]["dtype"] == "torch.float32"
    # stderr is not a terminal here: plain progress lines, nothing redrawn.
    assert "batch size 2: run 2/2" in result.stderr
    assert no_carriage_returns(result.stderr)


def test_tgi_mode_needs_a_tokenizer_and_a_shard(workdir):
    result = run_benchmark(["-b", "1"])
    assert result.returncode != 0
    assert "--tokenizer-name is required" in result.stderr
    result = run_benchmark(["-t", STORIES, "-m", str(workdir / "nothing-0"), "-b", "1"])
    assert result.returncode != 0
    assert "Could not connect" in result.stderr


def test_driver_writes_a_named_model_starts_the_shard_and_prints_the_roofline(workdir):
    cache = workdir / "cache"
    report = workdir / "report.json"
    plot = workdir / "plot.png"
    result = run_benchmark(["--model", "tiny", "--model-cache", str(cache), "-b", "1", "-b", "2",
                            "-r", "1", "-d", "3", "--json", str(report), "--plot", str(plot),
                            "--bandwidth-bytes", str(32 << 20), "--sgemm-size", "128"])
    assert result.returncode == 0, result.stderr
    model = cache / "tiny-float32-seed0"
    for name in ("config.json", "generation_config.json", "model.safetensors", "tokenizer.json"):
        assert (model / name).exists(), name
    tables = markdown_tables(result.stdout)
    headers = [header for header, _ in tables]
    assert headers[3] == ["Machine", "Value"]
    assert headers[4] == ["Step", "Batch Size", "Measured", "Roofline", "Ratio", "Bound",
                          "Achieved"]
    assert headers[5] == ["Server", "Value"]
    data = load_json(report)
    assert [(r["step"], r["batch_size"]) for r in data["roofline"]] == [
        ("Prefill", 1), ("Prefill", 2), ("Decode", 1), ("Decode", 2)]
    assert all(r["ratio"] > 0 and r["bound"] in ("memory", "compute") for r in data["roofline"])
    assert data["machine"]["read_bandwidth_bytes_per_second"] > 0
    assert data["server"]["ready_seconds"] > 0
    assert data["server"]["shard_rss_bytes"] > 0
    server = data["server"]
    assert server["shards"] == 1
    assert 0 < server["shard_anon_rss_bytes"] < server["shard_rss_bytes"]
    assert server["shard_anon_rss_bytes"] + server["shard_file_rss_bytes"] <= server["shard_rss_bytes"] * 1.05
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # The second run finds the model in the cache instead of writing it again.
    written = (model / "model.safetensors").stat().st_mtime_ns
    again = run_benchmark(["--model", "tiny", "--model-cache", str(cache), "-b", "1", "-r", "1",
                           "-d", "2", "--no-roofline"])
    assert again.returncode == 0, again.stderr
    assert (model / "model.safetensors").stat().st_mtime_ns == written


def test_bfloat16_models_load_and_run(workdir):
    model = workdir / "tiny-bf16"
    made = run_benchmark(["make-model", "--shape", "tiny", "--dtype", "bfloat16", "--seed", "3",
                          "--output", str(model)])
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == str(model)
    report = workdir / "report.json"
    result = run_benchmark(["--model", str(model), "--dtype", "bfloat16", "-b", "1", "-r", "1",
                            "-d", "3", "--no-roofline", "--json", str(report)])
    assert result.returncode == 0, result.stderr
    assert load_json(report)["shard"]["dtype"] == "torch.bfloat16"


def test_http_mode_streams_concurrently_without_errors(launcher, workdir):
    report = workdir / "http.json"
    result = run_benchmark(["http", "--url", launcher.url, "--tokenizer-name", STORIES,
                            "--concurrency", "1,2", "--requests", "4", "--prompt-length", "10",
                            "--max-new-tokens", "8", "--no-roofline", "--json", str(report)])
    assert result.returncode == 0, result.stderr
    data = load_json(report)
    assert [level["concurrency"] for level in data["levels"]] == [1, 2]
    for level in data["levels"]:
        assert level["requests"] == 4
        assert level["succeeded"] == 4
        assert level["errors"] == {}
        assert level["generated_tokens"] == 32
        assert [r["tokens"] for r in level["per_request"]] == [8] * 4
        assert [r["reported_tokens"] for r in level["per_request"]] == [8] * 4
        assert all(r["ttft_ms"] > 0 and r["tpot_ms"] > 0 for r in level["per_request"])
    tables = markdown_tables(result.stdout)
    assert tables[1][0] == ["Concurrency", "Requests", "Errors", "Requests/s", "Tokens/s",
                            "TTFT p50", "TTFT p90", "TTFT p99", "TPOT p50", "TPOT p90",
                            "TPOT p99"]
    assert "No errors." in result.stdout
    assert no_carriage_returns(result.stderr)


def test_http_mode_counts_every_error_by_kind(launcher, workdir):
    report = workdir / "errors.json"
    common = ["--concurrency", "2", "--requests", "3", "--warmup-requests", "0", "--no-roofline",
              "--json", str(report), "-t", STORIES]
    # max_new_tokens past max_total_tokens: TGI answers 200 and streams one error event.
    result = run_benchmark(["http", "--url", launcher.url, "--max-new-tokens", "100000", *common])
    assert result.returncode == 0, result.stderr
    level = load_json(report)["levels"][0]
    assert level["succeeded"] == 0
    assert list(level["errors"]) == ["SSE error: validation"]
    assert level["errors"]["SSE error: validation"]["count"] == 3
    assert "max_new_tokens" in level["errors"]["SSE error: validation"]["first_message"]
    assert "SSE error: validation" in result.stdout

    # A route the server does not have: an HTTP status.
    result = run_benchmark(["http", "--url", launcher.url, "--api", "openai", *common])
    assert result.returncode == 0, result.stderr
    errors = load_json(report)["levels"][0]["errors"]
    assert len(errors) == 1 and list(errors)[0].startswith("HTTP 4"), errors
    assert sum(e["count"] for e in errors.values()) == 3

    # Nobody listening: connection errors.
    closed = f"http://127.0.0.1:{free_port()}"
    result = run_benchmark(["http", "--url", closed, *common])
    assert result.returncode == 0, result.stderr
    errors = load_json(report)["levels"][0]["errors"]
    assert sum(e["count"] for e in errors.values()) == 3
    assert all(kind.startswith("connection: ") for kind in errors)


def test_http_driver_starts_the_launcher_and_reports_its_start(workdir):
    report = workdir / "driver.json"
    result = run_benchmark(["http", "--model", STORIES, "--concurrency", "2", "--requests", "2",
                            "--max-new-tokens", "4", "--no-roofline", "--json", str(report)])
    assert result.returncode == 0, result.stderr
    data = load_json(report)
    assert data["levels"][0]["succeeded"] == 2
    assert data["levels"][0]["generated_tokens"] == 8
    assert data["server"]["binary"] == "text-generation-launcher"
    assert data["server"]["ready_seconds"] > 0
    assert data["server"]["shard_rss_bytes"] > 0
    assert data["server"]["shards"] == 1
    assert data["server"]["shard_anon_rss_bytes"] > 0
    assert markdown_tables(result.stdout)[-1][0] == ["Server", "Value"]
