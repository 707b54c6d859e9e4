"""--api-key on a real router: every generation route refuses a missing, wrong, case-changed,
scheme-less, doubly spaced or extended key with 401 and an empty body, the right key gets 200, and the public
routes answer without a key. The key never appears in the router's log."""
import pytest
import requests

from conftest import Server

KEY = "Secret-Key-42"
GOOD = {"inputs": "Zoo", "parameters": {"max_new_tokens": 2}}
# Every generation route the router serves, with a body it accepts.
GENERATION = [("/generate", GOOD), ("/generate_stream", GOOD), ("/", GOOD),
              ("/tokenize", {"inputs": "Zoo"})]
PUBLIC = ["/", "/health", "/ping", "/info", "/metrics", "/api-doc/openapi.json", "/docs"]
# (A key with a trailing space is not among them: HTTP strips a field value's trailing
# whitespace (RFC 9110 §5.5), so `Bearer K ` arrives as `Bearer K`; http_auth_test checks that
# the check itself refuses it.)
BAD = [None, "Bearer wrong", f"Bearer {KEY.lower()}", f"Bearer {KEY.upper()}", KEY,
       f"Bearer  {KEY}", f"Basic {KEY}", f"Bearer {KEY[:-1]}", f"Bearer {KEY}x", f"Bearer {KEY}\tx"]


@pytest.fixture(scope="module")
def keyed():
    instance = Server(router_args=["--api-key", KEY])
    yield instance
    assert instance.stop() == [0, 0], instance.logs()


@pytest.mark.parametrize("path,body", GENERATION)
@pytest.mark.parametrize("authorization", BAD)
def test_a_bad_key_gets_401_with_an_empty_body(keyed, path, body, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    r = requests.post(keyed.url + path, json=body, headers=headers, timeout=60)
    assert r.status_code == 401
    assert r.content == b""


@pytest.mark.parametrize("path,body", GENERATION)
@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_the_right_key_passes(keyed, path, body, scheme):
    r = requests.post(keyed.url + path, json=body,
                      headers={"Authorization": f"{scheme} {KEY}"}, timeout=60)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("path", PUBLIC)
def test_public_routes_need_no_key(keyed, path):
    assert requests.get(keyed.url + path, timeout=60).status_code == 200


def test_the_key_is_not_logged(keyed):
    requests.post(keyed.url + "/generate", json=GOOD, headers={"Authorization": "Bearer x"},
                  timeout=60)
    assert KEY not in keyed.logs()
