"""Hub downloads against a local hub-shaped HTTP server on 127.0.0.1 (never the internet):
listing, Authorization, redirects, resume with Range, offline reuse of the cache, unsafe names."""
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import MODEL_DIR, run_launcher

REPO = "org/tiny"
SHA = "0123456789abcdef0123456789abcdef01234567"
TOKEN = "hf_test_token"
SERVED = ["config.json", "generation_config.json", "model.safetensors", "special_tokens_map.json",
          "tokenizer.json", "tokenizer_config.json"]


class HubState:
    def __init__(self):
        self.files = {}
        for name in SERVED + ["tokenizer.model"]:
            with open(os.path.join(MODEL_DIR, name), "rb") as f:
                self.files[name] = f.read()
        self.files["README.md"] = b"# tiny\n"
        self.extra_siblings = []
        self.cut_once = set()        # files whose first full GET is cut halfway
        self.redirect_to_cdn = set() # files served through a redirect to another host name
        self.require_token = False
        self.requests = []
        self.lock = threading.Lock()
        self.port = 0

    def log_request(self, path, headers):
        with self.lock:
            self.requests.append({"path": path, "headers": {k.lower(): v for k, v in headers.items()}})

    def requests_for(self, suffix):
        with self.lock:
            return [r for r in self.requests if urllib.parse.unquote(r["path"]).endswith(suffix)]


class HubHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_json(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        state = self.server.state
        state.log_request(self.path, self.headers)
        path = urllib.parse.unquote(self.path)
        if path.startswith(f"/api/models/{REPO}"):
            if state.require_token and self.headers.get("Authorization") != f"Bearer {TOKEN}":
                return self.send_json(401, {"error": "Invalid credentials in Authorization header"})
            siblings = [{"rfilename": name} for name in state.files] + \
                [{"rfilename": name} for name in state.extra_siblings]
            return self.send_json(200, {"id": REPO, "sha": SHA, "siblings": siblings})
        for prefix, cdn in ((f"/{REPO}/resolve/", False), (f"/cdn/{REPO}/", True)):
            if path.startswith(prefix):
                rest = path[len(prefix):]
                name = rest if cdn else rest.split("/", 1)[1]
                if not cdn and name in state.redirect_to_cdn:
                    self.send_response(302)
                    self.send_header("Location", f"http://localhost:{state.port}/cdn/{REPO}/{name}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                return self.serve_file(state, name)
        self.send_json(404, {"error": "Repository not found"})

    def serve_file(self, state, name):
        if name not in state.files:
            return self.send_json(404, {"error": "Entry not found"})
        data = state.files[name]
        requested = self.headers.get("Range")
        if requested:
            start = int(requested.split("=")[1].split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.send_header("Content-Length", str(len(data) - start))
            self.end_headers()
            self.wfile.write(data[start:])
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if name in state.cut_once:
            state.cut_once.discard(name)
            self.wfile.write(data[:len(data) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        self.wfile.write(data)


@pytest.fixture
def hub():
    state = HubState()
    server = ThreadingHTTPServer(("127.0.0.1", 0), HubHandler)
    server.daemon_threads = True
    server.state = state
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.endpoint = f"http://127.0.0.1:{state.port}"
    state.server = server
    yield state
    server.shutdown()
    server.server_close()


def hub_env(hub, workdir, **extra):
    env = {"HF_ENDPOINT": hub.endpoint, "HUGGINGFACE_HUB_CACHE": os.path.join(workdir, "cache")}
    env.update(extra)
    return env


def snapshot_dir(workdir):
    return os.path.join(workdir, "cache", "models--org--tiny", "snapshots", SHA)


def dead_endpoint():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_download_with_token_redirect_and_resume_then_offline_reuse(launch, hub, workdir):
    hub.cut_once.add("model.safetensors")
    hub.redirect_to_cdn.add("tokenizer.json")
    launcher = launch(subdir="online", model_dir=None, args=["--model-id", REPO],
                      env=hub_env(hub, workdir, HF_TOKEN=TOKEN))
    shard = launcher.wait_record("shard-0", timeout=60)
    snapshot = snapshot_dir(workdir)
    assert shard["argv"][0] == snapshot
    router = launcher.wait_record("router")
    assert router["argv"][router["argv"].index("--tokenizer-name") + 1] == snapshot
    launcher.signal(signal.SIGTERM)
    assert launcher.wait(60) == 0

    for name in SERVED:
        with open(os.path.join(snapshot, name), "rb") as f:
            assert f.read() == hub.files[name], name
    assert sorted(os.listdir(snapshot)) == sorted(SERVED)  # no README, no .incomplete
    with open(os.path.join(workdir, "cache", "models--org--tiny", "refs", "main")) as f:
        assert f.read().strip() == SHA

    listing = hub.requests_for(f"/api/models/{REPO}")
    assert listing and listing[0]["headers"]["authorization"] == f"Bearer {TOKEN}"
    weights = hub.requests_for("/model.safetensors")
    assert len(weights) == 2
    assert "range" not in weights[0]["headers"]
    assert weights[1]["headers"]["range"] == f"bytes={len(hub.files['model.safetensors']) // 2}-"
    assert all(r["headers"]["authorization"] == f"Bearer {TOKEN}" for r in weights)
    cdn = [r for r in hub.requests_for("/tokenizer.json") if r["path"].startswith("/cdn/")]
    assert len(cdn) == 1 and "authorization" not in cdn[0]["headers"]
    log = launcher.log()
    assert "Downloading model.safetensors" in log
    assert "Download of model.safetensors interrupted" in log
    assert "Downloaded model.safetensors" in log

    # HF_HUB_OFFLINE=1: the cached snapshot, and not one request.
    before = len(hub.requests)
    offline = launch(subdir="offline", model_dir=None, args=["--model-id", REPO],
                     env=hub_env(hub, workdir, HF_HUB_OFFLINE="1"))
    assert offline.wait_record("shard-0")["argv"][0] == snapshot
    offline.wait_record("router")
    offline.signal(signal.SIGTERM)
    assert offline.wait(60) == 0
    assert len(hub.requests) == before

    # The hub unreachable: the complete snapshot is used, with a note in the log.
    unreachable = launch(subdir="unreachable", model_dir=None, args=["--model-id", REPO],
                         env=hub_env(hub, workdir, HF_ENDPOINT=dead_endpoint()))
    assert unreachable.wait_record("shard-0")["argv"][0] == snapshot
    unreachable.wait_record("router")
    unreachable.signal(signal.SIGTERM)
    assert unreachable.wait(60) == 0
    assert "cannot reach the hub" in unreachable.log()


def test_partial_file_of_an_earlier_run_is_resumed(launch, hub, workdir):
    snapshot = snapshot_dir(workdir)
    os.makedirs(snapshot)
    with open(os.path.join(snapshot, "model.safetensors.incomplete"), "wb") as f:
        f.write(hub.files["model.safetensors"][:1000])
    launcher = launch(model_dir=None, args=["--model-id", REPO], env=hub_env(hub, workdir))
    launcher.wait_record("router", timeout=60)
    launcher.signal(signal.SIGTERM)
    assert launcher.wait(60) == 0
    weights = hub.requests_for("/model.safetensors")
    assert len(weights) == 1
    assert weights[0]["headers"]["range"] == "bytes=1000-"
    with open(os.path.join(snapshot, "model.safetensors"), "rb") as f:
        assert f.read() == hub.files["model.safetensors"]


def test_print_config_with_a_revision_fetches_only_the_config(hub, workdir):
    code, out, err = run_launcher(["--model-id", REPO, "--revision", "refs/pr/2", "--print-config"],
                                  env=hub_env(hub, workdir))
    assert code == 0, err
    config = json.loads(out)
    assert config["model_dir"] == snapshot_dir(workdir)
    assert config["max_total_tokens"] == 512
    assert config["revision"] == "refs/pr/2"
    assert hub.requests[0]["path"] == f"/api/models/{REPO}/revision/refs%2Fpr%2F2"
    fetched = [r["path"] for r in hub.requests[1:]]
    assert fetched == [f"/{REPO}/resolve/{SHA}/config.json"]
    ref = os.path.join(workdir, "cache", "models--org--tiny", "refs", "refs", "pr", "2")
    with open(ref) as f:
        assert f.read().strip() == SHA


@pytest.mark.parametrize("bad_name", ["../../evil.json", "/etc/evil.json", "sub/../../evil.json"])
def test_unsafe_file_names_from_the_api_are_refused(hub, workdir, bad_name):
    hub.extra_siblings.append(bad_name)
    code, _, err = run_launcher(["--model-id", REPO], env=hub_env(hub, workdir))
    assert code == 1
    assert f"refusing file name `{bad_name}` from the hub API" in err
    assert err.rstrip().endswith("Error: DownloadError")
    assert not hub.requests_for("evil.json")
    for root, _, files in os.walk(workdir):
        assert "evil.json" not in files, root


@pytest.mark.parametrize("model_id", ["org/../../etc", "../org/tiny", "org/tiny/../../x"])
def test_model_ids_that_escape_are_refused(hub, workdir, model_id):
    code, _, err = run_launcher(["--model-id", model_id], env=hub_env(hub, workdir))
    assert code == 1
    assert f"refusing model id `{model_id}`" in err
    assert not hub.requests


def test_private_model_without_a_token_names_hf_token(hub, workdir):
    hub.require_token = True
    code, _, err = run_launcher(["--model-id", REPO], env=hub_env(hub, workdir))
    assert code == 1
    assert "HTTP 401" in err and "HF_TOKEN" in err
    assert "Invalid credentials" in err


def test_offline_without_a_cached_copy_is_an_error(hub, workdir):
    code, _, err = run_launcher(["--model-id", REPO], env=hub_env(hub, workdir, HF_HUB_OFFLINE="1"))
    assert code == 1
    assert "HF_HUB_OFFLINE is set" in err and "is not in the cache" in err
    assert not hub.requests


@pytest.fixture
def tls_hub(hub, workdir):
    """The same hub over HTTPS with a throwaway certificate for localhost and 127.0.0.1."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    cert, key = os.path.join(workdir, "cert.pem"), os.path.join(workdir, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    server = ThreadingHTTPServer(("127.0.0.1", 0), HubHandler)
    server.daemon_threads = True
    server.state = hub
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"https://localhost:{server.server_address[1]}", cert
    server.shutdown()
    server.server_close()


def test_https_hub_with_certificate_verification(tls_hub, hub, workdir):
    endpoint, cert = tls_hub
    code, out, err = run_launcher(["--model-id", REPO, "--print-config"],
                                  env=hub_env(hub, workdir, HF_ENDPOINT=endpoint,
                                              SSL_CERT_FILE=cert))
    assert code == 0, err
    assert json.loads(out)["model_dir"] == snapshot_dir(workdir)
    assert hub.requests_for("/config.json")

    # An untrusted certificate is refused, and no cached copy exists to fall back on.
    shutil.rmtree(os.path.join(workdir, "cache"))
    code, _, err = run_launcher(["--model-id", REPO], env=hub_env(hub, workdir, HF_ENDPOINT=endpoint))
    assert code == 1
    assert "TLS handshake with https://localhost" in err
    assert "certificate verify failed" in err
