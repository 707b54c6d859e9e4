"""The shard over its real unix socket: oracle tokens, batch invariance, sampling, stopping,
logprobs, warmup and bad inputs."""
import math
import os
import signal
import socket
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

import generate_pb2 as pb
from conftest import MODEL_DIR, SHARD_BIN
from shard_client import ShardClient, make_batch, make_request

LENGTH, EOS_TOKEN, STOP_SEQUENCE = (pb.FINISH_REASON_LENGTH, pb.FINISH_REASON_EOS_TOKEN,
                                    pb.FINISH_REASON_STOP_SEQUENCE)


def run_to_end(client, batches, prefill_first=True):
    """Prefills every batch (one after another, each concatenated into the running batch at its
    next decode) and decodes until all requests finish. Returns {request_id: [Generation...]}."""
    out = {}

    def collect(response):
        for generation in response.generations:
            out.setdefault(generation.request_id, []).append(generation)

    running = None
    for batch in batches:
        response = client.prefill(batch)
        collect(response)
        pending = [running] if running is not None else []
        if response.HasField("batch"):
            pending.append(response.batch)
        running = None
        if pending:
            response = client.decode(pending)
            collect(response)
            running = response.batch if response.HasField("batch") else None
    while running is not None:
        response = client.decode([running])
        collect(response)
        running = response.batch if response.HasField("batch") else None
    return out


def token_ids(generations):
    return [gid for g in generations for gid in g.tokens.ids]


def final(generations):
    assert generations[-1].HasField("generated_text")
    return generations[-1].generated_text


def oracle_request(request_id, case):
    stops_on_eos = case["stopped_on_bos"]
    max_new = len(case["generated_tokens"]) + (16 if stops_on_eos else 0)
    return make_request(request_id, case["prompt"], max_new_tokens=max_new)


def check_oracle(case, generations):
    assert token_ids(generations) == case["generated_tokens"], case["name"]
    expected = EOS_TOKEN if case["stopped_on_bos"] else LENGTH
    assert final(generations).finish_reason == expected
    assert final(generations).generated_tokens == len(case["generated_tokens"])


def test_info_health_discovery(shard):
    info = shard.info()
    assert info.requires_padding
    assert info.dtype == "torch.float32"
    assert info.device_type == "cpu"
    assert info.speculate == 0
    shard.health()
    urls = shard.service_discovery().urls
    assert len(urls) == 1 and urls[0].startswith("unix://") and urls[0].endswith("-0")


def test_every_oracle_case_alone(shard, oracle):
    for i, case in enumerate(oracle):
        out = run_to_end(shard, [make_batch(100 + i, [oracle_request(i, case)])])
        check_oracle(case, out[i])
        streamed = "".join(t for g in out[i] for t in g.tokens.texts)
        assert streamed == case["generated_text"]
        if case["prompt"]:
            # The generated text keeps the leading space of the first generated token, as TGI's
            # decode with the last prompt token as context does.
            assert final(out[i]).text == case["generated_text"]
        else:
            # After a BOS that is skipped, the decoder strips the first space (TGI does the same).
            assert final(out[i]).text == case["generated_text"][1:]


def test_oracle_cases_in_one_batch(shard, oracle):
    requests = [oracle_request(i, case) for i, case in enumerate(oracle)]
    out = run_to_end(shard, [make_batch(200, requests)])
    for i, case in enumerate(oracle):
        check_oracle(case, out[i])


def test_oracle_cases_concatenated_at_different_steps(shard, oracle):
    """Each case joins the running batch at a different decode step."""
    out = {}
    running = None
    for i, case in enumerate(oracle):
        response = shard.prefill(make_batch(300 + i, [oracle_request(i, case)]))
        for g in response.generations:
            out.setdefault(g.request_id, []).append(g)
        pending = ([running] if running else []) + ([response.batch] if response.HasField("batch") else [])
        for _ in range(3 + 5 * i):
            if not pending:
                break
            response = shard.decode(pending)
            for g in response.generations:
                out.setdefault(g.request_id, []).append(g)
            pending = [response.batch] if response.HasField("batch") else []
            # The merged batch keeps the id of the first batch in the list.
            if pending and running:
                assert pending[0].id == running.id
        running = pending[0] if pending else None
    while running:
        response = shard.decode([running])
        for g in response.generations:
            out.setdefault(g.request_id, []).append(g)
        running = response.batch if response.HasField("batch") else None
    for i, case in enumerate(oracle):
        check_oracle(case, out[i])


def test_filter_midway_keeps_the_others_exact(shard, oracle):
    requests = [oracle_request(i, case) for i, case in enumerate(oracle)]
    response = shard.prefill(make_batch(400, requests))
    out = {}
    for g in response.generations:
        out.setdefault(g.request_id, []).append(g)
    batch = response.batch
    for step in range(12):
        response = shard.decode([batch])
        for g in response.generations:
            out.setdefault(g.request_id, []).append(g)
        batch = response.batch
        if step == 5:
            batch = shard.filter_batch(batch.id, [0, 2])
            assert sorted(batch.request_ids) == [0, 2] and batch.size == 2
    while True:
        response = shard.decode([batch])
        for g in response.generations:
            out.setdefault(g.request_id, []).append(g)
        if not response.HasField("batch"):
            break
        batch = response.batch
    for i in (0, 2):
        check_oracle(oracle[i], out[i])
    for i in (1, 3):
        # The prefill token and six decode steps before the filter.
        assert token_ids(out[i]) == oracle[i]["generated_tokens"][:7]


def sample(client, batch_id, requests):
    out = run_to_end(client, [make_batch(batch_id, requests)])
    return {rid: token_ids(gens) for rid, gens in out.items()}, out


def test_seeded_sampling_is_reproducible_and_independent_of_companions(shard):
    params = dict(do_sample=True, seed=1234, temperature=0.9, top_k=50)
    alone, _ = sample(shard, 500, [make_request(7, "Once upon a time", 30, **params)])
    again, _ = sample(shard, 501, [make_request(7, "Once upon a time", 30, **params)])
    assert alone[7] == again[7]
    companions = [make_request(1, "The dog", 25, do_sample=True, seed=99),
                  make_request(7, "Once upon a time", 30, **params),
                  make_request(3, "Zoo", 40)]
    mixed, out = sample(shard, 502, companions)
    assert mixed[7] == alone[7]
    assert final(out[7]).seed == 1234
    assert not final(out[3]).HasField("seed")  # greedy requests report no seed
    other_seed, _ = sample(shard, 503, [make_request(7, "Once upon a time", 30,
                                                     **{**params, "seed": 4321})])
    assert other_seed[7] != alone[7]


def test_max_new_tokens_gives_length(shard):
    _, out = sample(shard, 600, [make_request(1, "Zoo", 3)])
    assert final(out[1]).finish_reason == LENGTH
    assert final(out[1]).generated_tokens == 3


def test_max_new_tokens_one_finishes_at_prefill(shard):
    response = shard.prefill(make_batch(601, [make_request(1, "Zoo", 1)]))
    assert not response.HasField("batch")
    assert len(response.generations) == 1
    assert response.generations[0].generated_text.finish_reason == LENGTH


def test_eos_token_stops(shard, oracle):
    # Greedy after "Zoo" ends its story with BOS (id 1), an EOS id of generation_config.json, after
    # 231 tokens; the first 57 are the oracle's.
    _, out = sample(shard, 602, [make_request(1, "Zoo", 400)])
    ids = token_ids(out[1])
    assert final(out[1]).finish_reason == EOS_TOKEN
    assert len(ids) == 231 and ids[-1] == 1
    assert all(t not in (1, 2) for t in ids[:-1])
    assert ids[:57] == oracle[1]["generated_tokens"]


def test_ignore_eos_token_keeps_going(shard):
    _, out = sample(shard, 603, [make_request(1, "Zoo", 260, ignore_eos=True)])
    assert final(out[1]).finish_reason == LENGTH
    assert final(out[1]).generated_tokens == 260
    assert token_ids(out[1])[230] == 1


def test_server_wide_ignore_eos(start_shard):
    process = start_shard({"TEXT_GENERATION_SERVER_IGNORE_EOS_TOKEN": "true"})
    out = run_to_end(process.client, [make_batch(1, [make_request(1, "Zoo", 240)])])
    assert final(out[1]).finish_reason == LENGTH


def test_stop_sequence_inside_a_token(shard, oracle):
    case = oracle[2]  # "Once upon a time" -> ", there was a little girl named Lily."
    text = case["generated_text"]
    stop = text[: text.index("little") + 3]  # ends inside the token(s) of "little"
    stop = stop[-6:]
    _, out = sample(shard, 604, [make_request(1, case["prompt"], 50, stop=[stop])])
    done = final(out[1])
    assert done.finish_reason == STOP_SEQUENCE
    assert done.text.endswith("little") or stop in done.text
    assert token_ids(out[1]) == case["generated_tokens"][: len(token_ids(out[1]))]


def test_top_n_tokens_and_logprobs(shard):
    _, out = sample(shard, 605, [make_request(1, "Once upon a time", 5, top_n_tokens=3)])
    for generation in out[1]:
        assert len(generation.top_tokens) == 1
        top = generation.top_tokens[0]
        assert 3 <= len(top.ids)
        assert list(top.logprobs) == sorted(top.logprobs, reverse=True)
        # Greedy: the chosen token is the most likely one, with the same logprob.
        assert generation.tokens.ids[0] == top.ids[0]
        assert math.isclose(generation.tokens.logprobs[0], top.logprobs[0], rel_tol=1e-5)
        assert generation.tokens.logprobs[0] <= 0


def test_prefill_logprobs(shard, oracle):
    case = oracle[2]
    response = shard.prefill(make_batch(606, [make_request(1, case["prompt"], 1,
                                                           prefill_logprobs=True)]))
    prefill = response.generations[0].prefill_tokens
    assert list(prefill.ids) == case["prompt_tokens_with_bos"]
    assert math.isnan(prefill.logprobs[0])
    assert all(lp <= 0 for lp in prefill.logprobs[1:])
    assert len(prefill.texts) == len(prefill.ids)


def test_warmup_over_buckets(shard):
    batches = []
    for batch_id, (size, length) in enumerate([(4, 16), (4, 32), (8, 16), (1, 32)]):
        text = " ".join(["_test"] * max(1, length // 3))
        batches.append(make_batch(batch_id, [
            make_request(10 * batch_id + j, text, 4, truncate=32, ignore_eos=True,
                         do_sample=True, temperature=0.9, top_k=10, top_p=0.9, typical_p=0.9,
                         repetition_penalty=1.2, frequency_penalty=0.1, seed=j)
            for j in range(size)]))
    response = shard.warmup(batches, max_input_length=32, max_prefill_tokens=256,
                            max_total_tokens=64)
    assert response.HasField("max_supported_total_tokens")
    assert response.max_supported_total_tokens > 10000
    # Warmup leaves no batch behind: decoding an id it used fails.
    with pytest.raises(grpc.RpcError) as error:
        shard.decode([pb.CachedBatch(id=0)])
    assert error.value.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize("bad,code,message", [
    (lambda c: c.decode([pb.CachedBatch(id=987654)]), grpc.StatusCode.NOT_FOUND, "987654"),
    (lambda c: c.filter_batch(987654, [1]), grpc.StatusCode.NOT_FOUND, "987654"),
    (lambda c: c.prefill(make_batch(700, [])), grpc.StatusCode.INVALID_ARGUMENT, "no requests"),
    (lambda c: c.prefill(make_batch(701, [make_request(1, "Zoo", 5, truncate=0)])),
     grpc.StatusCode.INVALID_ARGUMENT, "truncate"),
    (lambda c: c.prefill(make_batch(702, [make_request(1, "Zoo", 0)])),
     grpc.StatusCode.INVALID_ARGUMENT, "max_new_tokens"),
    (lambda c: c.prefill(make_batch(703, [make_request(1, "Zoo", 600)])),
     grpc.StatusCode.INVALID_ARGUMENT, "max_total_tokens"),
])
def test_bad_requests_get_a_clear_error_and_the_shard_keeps_serving(shard, oracle, bad, code,
                                                                    message):
    with pytest.raises(grpc.RpcError) as error:
        bad(shard)
    assert error.value.code() == code
    assert message in error.value.details()
    out = run_to_end(shard, [make_batch(799, [oracle_request(0, oracle[1])])])
    check_oracle(oracle[1], out[0])


def test_skip_tokenizer_ids_and_out_of_vocabulary(start_shard, oracle):
    process = start_shard({"SKIP_TOKENIZER_IN_TGI": "true"})
    client = process.client
    case = oracle[1]
    inputs = ",".join(str(t) for t in case["prompt_tokens_with_bos"])
    out = run_to_end(client, [make_batch(1, [make_request(0, inputs, len(case["generated_tokens"]))])])
    assert token_ids(out[0]) == case["generated_tokens"]
    assert all(text == "" for g in out[0] for text in g.tokens.texts)
    for inputs, message in [("1,5,99999", "outside the vocabulary"), ("", "comma-separated"),
                            ("1,x", "comma-separated")]:
        with pytest.raises(grpc.RpcError) as error:
            client.prefill(make_batch(2, [make_request(0, inputs, 5)]))
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert message in error.value.details()
    client.health()


class RankClients:
    """The same RPC to every rank at once (their collectives meet), as the router sends it;
    checks that the ranks answer alike and returns rank 0's answer."""

    def __init__(self, clients):
        self.clients = clients
        self.pool = ThreadPoolExecutor(max_workers=len(clients))

    def _all(self, method, *args):
        answers = list(self.pool.map(lambda c: getattr(c, method)(*args), self.clients))
        for other in answers[1:]:
            assert [list(g.tokens.ids) for g in other.generations] == \
                [list(g.tokens.ids) for g in answers[0].generations]
        return answers[0]

    def prefill(self, batch):
        return self._all("prefill", batch)

    def decode(self, batches):
        return self._all("decode", batches)


def test_two_ranks_over_grpc_give_the_oracle_tokens(oracle):
    """Two shard processes, one model split over them (Gloo through MASTER_ADDR/MASTER_PORT):
    ServiceDiscovery lists both sockets and the oracle cases come out of Prefill/Decode."""
    directory = tempfile.mkdtemp(prefix="tgi-shard-tp-")
    uds = os.path.join(directory, "shard")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    processes, logs = [], []
    for rank in range(2):
        env = dict(os.environ, RANK=str(rank), WORLD_SIZE="2", MASTER_ADDR="127.0.0.1",
                   MASTER_PORT=str(port), PAD_SEQUENCE_TO_MULTIPLE_OF="16",
                   MAX_TOTAL_TOKENS="512")
        logs.append(open(os.path.join(directory, f"shard-{rank}.log"), "w"))
        processes.append(subprocess.Popen(
            [SHARD_BIN, MODEL_DIR, "--uds-path", uds, "--num-threads", "1", "--sharded"],
            env=env, stdout=logs[-1], stderr=subprocess.STDOUT))
    try:
        deadline = time.time() + 60
        while not all(os.path.exists(f"{uds}-{rank}") for rank in range(2)):
            assert all(p.poll() is None for p in processes), [open(l.name).read() for l in logs]
            assert time.time() < deadline
            time.sleep(0.05)
        clients = [ShardClient(f"{uds}-{rank}") for rank in range(2)]
        assert list(clients[0].service_discovery().urls) == [f"unix://{uds}-0", f"unix://{uds}-1"]
        ranks = RankClients(clients)
        requests = [oracle_request(i, case) for i, case in enumerate(oracle)]
        out = run_to_end(ranks, [make_batch(1, requests[:2]), make_batch(2, requests[2:])])
        for i, case in enumerate(oracle):
            check_oracle(case, out[i])
        for client in clients:
            client.close()
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        codes = [process.wait(timeout=30) for process in processes]
        for log in logs:
            log.close()
    assert codes == [0, 0]
    assert not any(os.path.exists(f"{uds}-{rank}") for rank in range(2))


def test_long_prompt_joins_a_short_running_batch(shard, oracle):
    """The newcomer's write position is ahead of the running batch's: the merged batch gets new
    storage and every row is realigned; nobody's tokens change."""
    short, long_case = oracle[1], oracle[3]  # "Zoo" (4 tokens), the 29-token byte-fallback prompt
    long_prompt = " ".join([long_case["prompt"]] * 3)
    alone = run_to_end(shard, [make_batch(900, [make_request(1, long_prompt, 30)])])
    response = shard.prefill(make_batch(901, [oracle_request(0, short)]))
    out = {0: list(response.generations)}
    running = shard.decode([response.batch])
    out[0].extend(running.generations)
    response = shard.prefill(make_batch(902, [make_request(1, long_prompt, 30)]))
    out[1] = list(response.generations)
    batch = running.batch
    pending = [batch, response.batch]
    while pending:
        response = shard.decode(pending)
        for g in response.generations:
            out[g.request_id].append(g)
        pending = [response.batch] if response.HasField("batch") else []
    check_oracle(short, out[0])
    assert token_ids(out[1]) == token_ids(alone[1])


def test_batch_grows_past_its_bucket(shard, oracle):
    """Nine requests joining one by one cross the decode bucket of 8 rows."""
    prompts = ["Zoo", "Once upon a time", "The dog", "Lily", "Tom", "A bird", "The sun", "Sam",
               "One day"]
    expected = {}
    for i, prompt in enumerate(prompts):
        expected[i] = token_ids(run_to_end(shard, [make_batch(1000 + i, [make_request(i, prompt, 12)])])[i])
    batches = [make_batch(1100 + i, [make_request(i, prompt, 12)]) for i, prompt in enumerate(prompts)]
    out = run_to_end(shard, batches)
    for i in range(len(prompts)):
        assert token_ids(out[i]) == expected[i], prompts[i]


def test_clear_cache_one_or_all(shard):
    for batch_id in (1200, 1201, 1202):
        assert shard.prefill(make_batch(batch_id, [make_request(batch_id, "Zoo", 10)])).batch.id == batch_id
    shard.clear_cache(1200)
    with pytest.raises(grpc.RpcError) as error:
        shard.decode([pb.CachedBatch(id=1200)])
    assert error.value.code() == grpc.StatusCode.NOT_FOUND
    assert shard.decode([pb.CachedBatch(id=1201)]).HasField("batch")
    shard.clear_cache()
    for batch_id in (1201, 1202):
        with pytest.raises(grpc.RpcError) as error:
            shard.decode([pb.CachedBatch(id=batch_id)])
        assert error.value.code() == grpc.StatusCode.NOT_FOUND


def test_filter_to_nothing_drops_the_batch(shard):
    shard.prefill(make_batch(1300, [make_request(1, "Zoo", 10), make_request(2, "Tom", 10)]))
    assert shard.filter_batch(1300, [2]).size == 1
    assert shard.filter_batch(1300, []).size == 0
    with pytest.raises(grpc.RpcError) as error:
        shard.decode([pb.CachedBatch(id=1300)])
    assert error.value.code() == grpc.StatusCode.NOT_FOUND
