"""--num-shard N: one model split over N shard processes (Gloo), seen through the HTTP API."""
import os
import signal
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from conftest import LAUNCHER_BIN, Launcher, alive, free_port, generate, long_streams, stream

def shard_pids(launcher):
    """{rank: pid} of the launcher's shard processes."""
    out = {}
    for pid in launcher.children():
        try:
            if "text-generation-shard" not in open(f"/proc/{pid}/cmdline").read():
                continue
            env = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
        except (FileNotFoundError, ProcessLookupError):
            continue
        for entry in env:
            if entry.startswith(b"RANK="):
                out[int(entry[5:])] = pid
    return out


@pytest.fixture(scope="module", params=[2, 4], ids=lambda n: f"{n}-shards")
def sharded(request):
    instance = Launcher(args=["--num-shard", str(request.param)])
    assert sorted(shard_pids(instance)) == list(range(request.param))
    yield instance
    children = instance.children()
    assert instance.stop() == 0, instance.logs()
    assert not any(alive(pid) for pid in children)
    for rank in range(request.param):
        assert not os.path.exists(f"{instance.uds}-{rank}")


def test_oracle_tokens_and_one_shards_logprobs(sharded, launcher, oracle):
    for case in oracle:
        if not case["prompt"]:
            continue
        n = len(case["generated_tokens"])
        body = generate(sharded, case["prompt"], max_new_tokens=n, details=True,
                        decoder_input_details=True)
        assert [t["id"] for t in body["details"]["tokens"]] == case["generated_tokens"]
        assert body["generated_text"] == case["generated_text"]
        events = stream(sharded, case["prompt"], max_new_tokens=n)
        assert [e["token"]["id"] for e in events] == case["generated_tokens"]
        single = generate(launcher, case["prompt"], max_new_tokens=n, details=True,
                          decoder_input_details=True)
        pairs = list(zip(body["details"]["tokens"], single["details"]["tokens"])) + \
            list(zip(body["details"]["prefill"][1:], single["details"]["prefill"][1:]))
        for mine, theirs in pairs:
            assert mine["id"] == theirs["id"]
            assert abs(mine["logprob"] - theirs["logprob"]) <= 1e-4, (mine, theirs)


def test_concurrent_requests_get_the_tokens_they_get_alone(sharded, oracle):
    cases = [c for c in oracle if c["prompt"]] * 3

    def run(case):
        body = generate(sharded, case["prompt"], max_new_tokens=len(case["generated_tokens"]),
                        details=True)
        return [t["id"] for t in body["details"]["tokens"]]

    with ThreadPoolExecutor(max_workers=len(cases)) as pool:
        results = list(pool.map(run, cases))
    assert results == [c["generated_tokens"] for c in cases]


def test_a_split_that_does_not_divide_is_refused_by_name(tmp_path):
    result = subprocess.run([LAUNCHER_BIN, "--num-shard", "3", "--shard-uds-path",
                             str(tmp_path / "shard"), "--port", "0",
                             "--master-port", str(free_port())],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "num_attention_heads (8) do not split evenly across 3 shards" in output, output
    assert not list(tmp_path.glob("shard-*"))


def test_killing_rank_1_mid_decode_fails_requests_and_stops_everything():
    launcher = Launcher(args=["--num-shard", "2"])
    children = launcher.children()
    ranks = shard_pids(launcher)
    threads, results = long_streams(launcher, 2)
    os.kill(ranks[1], signal.SIGKILL)
    code = launcher.process.wait(timeout=150)  # the bound only catches a hang
    assert code != 0
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 2
    # Each stream ends with an error event or a broken connection, not with a finished text.
    assert all("error" in result and '"generated_text":"' not in result for result in results), \
        results
    assert not any(alive(pid) for pid in children)
    assert not os.path.exists(launcher.uds + "-0")
    assert not os.path.exists(launcher.uds + "-1")


def test_kv_heads_replicated_when_fewer_than_ranks(tmp_path):
    """The random `tiny` Llama (4 heads, 2 KV heads) over 4 shards: each rank holds one head and
    a copy of its KV head. Greedy tokens and logprobs match one shard."""
    benchmark = os.environ.get("TGI_BENCHMARK_BIN")
    assert benchmark, "text-generation-benchmark was not built (it writes the random model)"
    model = tmp_path / "tiny"
    subprocess.run([benchmark, "make-model", "--shape", "tiny", "--output", str(model)],
                   check=True, capture_output=True)
    prompts = ["Once upon a time", "The little dog", "Zoo"]
    answers = {}
    for shards in (1, 4):
        instance = Launcher(args=["--model-id", str(model), "--num-shard", str(shards),
                                  "--max-input-tokens", "64", "--max-total-tokens", "128"])
        try:
            answers[shards] = [generate(instance, p, max_new_tokens=8, details=True)
                               for p in prompts]
        finally:
            assert instance.stop() == 0, instance.logs()
    for one, four in zip(answers[1], answers[4]):
        assert [t["id"] for t in four["details"]["tokens"]] == \
            [t["id"] for t in one["details"]["tokens"]]
        for mine, theirs in zip(four["details"]["tokens"], one["details"]["tokens"]):
            assert abs(mine["logprob"] - theirs["logprob"]) <= 1e-4, (mine, theirs)
