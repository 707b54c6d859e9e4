"""POST /v1/chat/completions and GET /v1/models over HTTP, in front of a real shard on
stories260K (which has no chat template: the router gets a fixture tokenizer_config.json with one
through --tokenizer-config-path), behind --api-key. The answers are compared with /generate on
the prompt the fixture template renders (PROMPT, as Python's Jinja2 renders it under
transformers' trim_blocks / lstrip_blocks)."""
import json
import os
import shutil
import subprocess
import tempfile

import pytest
import requests

from conftest import MODEL_DIR, Server

API_KEY = "chat-test-key"
AUTH = {"Content-Type": "application/json", "Authorization": "Bearer " + API_KEY}
TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if message['role'] == 'system' %}{{ message['content'] }}\n"
    "{% elif message['role'] == 'user' %}User: {{ message['content'] }}\n"
    "{% elif message['role'] == 'assistant' %}Assistant: {{ message['content'] }}{{ eos_token }}\n"
    "{% else %}{{ raise_exception('Unknown role: ' + message['role']) }}{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}Assistant:{% endif %}")
MESSAGES = [{"role": "system", "content": "A story."},
            {"role": "user", "content": [{"type": "text", "text": "Once upon"},
                                         {"type": "text", "text": " a time"}]}]
PROMPT = "<s>A story.\nUser: Once upon a time\nAssistant:"
# The tokenizer adds BOS itself, so the template's "<s>" is not sent twice: the shard gets the
# prompt after it, as TGI 2.3+ encodes a chat prompt without special tokens.
AFTER_BOS = PROMPT[len("<s>"):]


def write_config(directory, template):
    with open(os.path.join(MODEL_DIR, "tokenizer_config.json")) as f:
        config = json.load(f)
    if template is not None:
        config["chat_template"] = template
    path = os.path.join(directory, "tokenizer_config.json")
    with open(path, "w") as f:
        json.dump(config, f)
    return path


@pytest.fixture(scope="module")
def chat_server():
    directory = tempfile.mkdtemp(prefix="tgi-chat-test-")
    config = write_config(directory, TEMPLATE)
    instance = Server(router_args=("--tokenizer-config-path", config, "--api-key", API_KEY))
    yield instance
    assert instance.stop() == [0, 0], instance.logs()
    shutil.rmtree(directory)


def chat(server, headers=AUTH, **body):
    body.setdefault("messages", MESSAGES)
    return requests.post(server.url + "/v1/chat/completions", headers=headers, json=body,
                         timeout=120, stream=bool(body.get("stream")))


def chat_frames(response):
    """The data: payloads of a chat SSE stream: parsed JSON chunks, then the literal [DONE]."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/event-stream"
    frames = [frame for frame in response.content.split(b"\n\n") if frame]
    assert all(frame.startswith(b"data:") for frame in frames), frames
    payloads = [frame[len(b"data:"):] for frame in frames]
    assert payloads[-1] == b"[DONE]"
    return [json.loads(payload) for payload in payloads[:-1]]


def generate_on(server, prompt, **parameters):
    response = requests.post(server.url + "/generate", headers=AUTH, timeout=120,
                             json={"inputs": prompt, "parameters": parameters})
    assert response.status_code == 200, response.text
    return response


def tokenize(server, text):
    response = requests.post(server.url + "/tokenize", headers=AUTH, json={"inputs": text})
    assert response.status_code == 200, response.text
    return [token["id"] for token in response.json()]


def test_greedy_chat_equals_generate_on_the_rendered_prompt(chat_server):
    response = chat(chat_server, model="whatever", max_tokens=12, temperature=0)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object"] == "chat.completion" and body["id"] == ""
    assert body["model"] == MODEL_DIR
    assert body["system_fingerprint"] == "2.0.4-native"
    assert isinstance(body["created"], int) and body["created"] > 0
    choice = body["choices"][0]
    assert choice["index"] == 0 and choice["message"]["role"] == "assistant"
    assert choice["logprobs"] is None and choice["finish_reason"] == "length"

    ids = tokenize(chat_server, AFTER_BOS)
    assert ids[0] == 1 and ids[1] != 1
    assert tokenize(chat_server, PROMPT)[:2] == [1, 1]  # what sending it whole would cost
    expected = generate_on(chat_server, AFTER_BOS, max_new_tokens=12, details=True)
    assert choice["message"]["content"] == expected.json()["generated_text"]
    assert body["usage"] == {"prompt_tokens": len(ids), "completion_tokens": 12,
                             "total_tokens": len(ids) + 12}
    assert response.headers["x-prompt-tokens"] == str(len(ids))
    assert response.headers["x-generated-tokens"] == "12"
    assert response.headers["x-compute-characters"] == str(len(AFTER_BOS))
    for name in ("x-compute-time", "x-total-time", "x-validation-time", "x-queue-time",
                 "x-inference-time", "x-time-per-token", "x-compute-type"):
        assert name in response.headers


def test_logprobs_match_generate_details(chat_server):
    body = chat(chat_server, max_tokens=4, temperature=0, logprobs=True, top_logprobs=2).json()
    content = body["choices"][0]["logprobs"]["content"]
    details = generate_on(chat_server, AFTER_BOS, max_new_tokens=4,
                          details=True, top_n_tokens=2).json()["details"]
    assert [c["token"] for c in content] == [t["text"] for t in details["tokens"]]
    expected = [t["logprob"] for t in details["tokens"]]
    assert [c["logprob"] for c in content] == pytest.approx(expected)
    assert all(len(c["top_logprobs"]) == 2 for c in content)
    assert content[0]["top_logprobs"][0]["token"] == details["top_tokens"][0][0]["text"]


def test_stream_chunks_concatenate_to_the_completion(chat_server):
    whole = chat(chat_server, max_tokens=10, temperature=0).json()
    chunks = chat_frames(chat(chat_server, max_tokens=10, temperature=0, stream=True))
    assert len(chunks) == 10
    assert all(c["object"] == "chat.completion.chunk" and c["usage"] is None for c in chunks)
    assert all(c["choices"][0]["delta"]["role"] == "assistant" for c in chunks)
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"
    text = "".join(c["choices"][0]["delta"]["content"] for c in chunks)
    assert text == whole["choices"][0]["message"]["content"]
    assert "x-compute-characters" in chat(chat_server, max_tokens=1, stream=True).headers


def test_stream_include_usage(chat_server):
    whole = chat(chat_server, max_tokens=6, temperature=0).json()
    chunks = chat_frames(chat(chat_server, max_tokens=6, temperature=0, stream=True,
                              stream_options={"include_usage": True}))
    assert all(c["usage"] is None for c in chunks[:-1])
    assert chunks[-1]["usage"] == whole["usage"]
    assert chunks[-1]["usage"]["completion_tokens"] == 6


def test_eos_is_finish_reason_stop(chat_server):
    # Greedy from MESSAGES ends the story with EOS after 235 tokens (stories260K).
    body = chat(chat_server, max_tokens=300, temperature=0).json()
    choice = body["choices"][0]
    assert choice["finish_reason"] == "stop"
    details = generate_on(chat_server, AFTER_BOS, max_new_tokens=300,
                          details=True).json()["details"]
    assert details["finish_reason"] == "eos_token"
    assert body["usage"]["completion_tokens"] == details["generated_tokens"] < 300
    chunks = chat_frames(chat(chat_server, max_tokens=300, temperature=0, stream=True))
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"][0]["delta"]["content"] == ""  # EOS is special
    assert "".join(c["choices"][0]["delta"]["content"] for c in chunks) == \
        choice["message"]["content"]


def test_stop_sequence_and_length(chat_server):
    free = chat(chat_server, max_tokens=8, temperature=0).json()["choices"][0]
    assert free["finish_reason"] == "length"
    text = free["message"]["content"]
    stop = text[len(text) // 2:len(text) // 2 + 3]
    assert stop.strip(), text
    for stops in (stop, [stop, "unlikely-stop-string"]):
        choice = chat(chat_server, max_tokens=8, temperature=0, stop=stops).json()["choices"][0]
        # TGI 2.3+ reports "stop" only for EOS; a stop sequence stays "stop_sequence".
        assert choice["finish_reason"] == "stop_sequence"
        assert choice["message"]["content"].endswith(stop)
        assert len(choice["message"]["content"]) < len(text)


def test_template_raise_exception_is_a_template_error(chat_server):
    response = chat(chat_server, messages=[{"role": "robot", "content": "beep"}])
    assert response.status_code == 422
    assert response.json() == {"error": "Template error: Unknown role: robot",
                               "error_type": "template_error"}


def test_n_other_than_one_is_rejected(chat_server):
    response = chat(chat_server, n=2, max_tokens=2)
    assert response.status_code == 422
    assert response.json() == {"error": "Input validation error: `n` must be 1. Given: 2",
                               "error_type": "validation"}
    assert chat(chat_server, n=1, max_tokens=2).status_code == 200


def test_validation_errors_keep_tgis_messages(chat_server):
    response = chat(chat_server, max_tokens=2, top_p=1.0)
    assert response.status_code == 422
    assert response.json() == {
        "error": "Input validation error: `top_p` must be > 0.0 and < 1.0",
        "error_type": "validation"}
    response = chat(chat_server, max_tokens=2,
                    response_format={"type": "json", "value": {"type": "object"}})
    assert response.status_code == 422
    assert response.json() == {"error": "Input validation error: grammar is not supported",
                               "error_type": "validation"}
    response = chat(chat_server, max_tokens=-1)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text.startswith("Failed to deserialize the JSON body into the target type: "
                                    "max_tokens: invalid value: integer `-1`, expected u32")
    response = requests.post(chat_server.url + "/v1/chat/completions", data="{",
                             headers=AUTH, timeout=30)
    assert response.status_code == 400
    # Inside a stream, validation errors are events (HTTP 200), then [DONE].
    chunks = chat_frames(chat(chat_server, max_tokens=2, top_p=1.0, stream=True))
    assert chunks == [{"error": "Input validation error: `top_p` must be > 0.0 and < 1.0",
                       "error_type": "validation"}]


def test_models_route(chat_server):
    response = requests.get(chat_server.url + "/v1/models", timeout=30)
    assert response.status_code == 200
    assert response.json() == {"object": "list", "data": [
        {"id": MODEL_DIR, "object": "model", "created": 0, "owned_by": MODEL_DIR}]}


def test_api_key_guards_chat_but_not_models(chat_server):
    plain = {"Content-Type": "application/json"}
    assert chat(chat_server, headers=plain, max_tokens=1).status_code == 401
    wrong = dict(plain, Authorization="Bearer nope")
    response = chat(chat_server, headers=wrong, max_tokens=1)
    assert response.status_code == 401 and response.text == ""
    # The key is exact (only the scheme word ignores case): see test_api_key.py.
    upper = dict(plain, Authorization="bearer " + API_KEY.upper())
    assert chat(chat_server, headers=upper, max_tokens=1).status_code == 401
    right = dict(plain, Authorization="bearer " + API_KEY)
    assert chat(chat_server, headers=right, max_tokens=1).status_code == 200
    assert requests.get(chat_server.url + "/v1/models", timeout=30).status_code == 200


def test_openapi_lists_the_routes(chat_server):
    paths = requests.get(chat_server.url + "/api-doc/openapi.json", timeout=30).json()["paths"]
    assert "post" in paths["/v1/chat/completions"] and "get" in paths["/v1/models"]


def test_without_a_template_chat_is_a_template_error():
    directory = tempfile.mkdtemp(prefix="tgi-chat-test-")
    try:
        config = write_config(directory, None)
        server = Server(router_args=("--tokenizer-config-path", config))
        try:
            response = chat(server, headers={"Content-Type": "application/json"})
            assert response.status_code == 422
            assert response.json() == {"error": "Template error: template not found",
                                       "error_type": "template_error"}
        finally:
            assert server.stop() == [0, 0], server.logs()
    finally:
        shutil.rmtree(directory)


@pytest.mark.parametrize("template,message", [
    ("{% for m in messages %}\n{% include 'x.jinja' %}{% endfor %}",
     "unsupported Jinja construct 'include' at line 2"),
    ("{% if messages %}open", "unexpected end of template, expected 'elif' at line 1"),
])
def test_a_template_that_does_not_parse_stops_the_router_at_start_up(template, message):
    directory = tempfile.mkdtemp(prefix="tgi-chat-test-")
    try:
        config = write_config(directory, template)
        # The template is parsed before the router looks for a shard: none is needed here.
        result = subprocess.run(
            [os.environ["TGI_ROUTER_BIN"], "--tokenizer-name", MODEL_DIR,
             "--tokenizer-config-path", config,
             "--master-shard-uds-path", os.path.join(directory, "no-shard")],
            capture_output=True, text=True, timeout=60)
        assert result.returncode == 1
        assert f"Invalid chat template in {config}: {message}" in result.stdout + result.stderr
    finally:
        shutil.rmtree(directory)
