"""scripts/lint_dockerfiles.py passes the project's Dockerfiles and rejects broken ones."""
import os
import subprocess
import sys

import pytest

ROOT = os.environ.get("TGI_SOURCE_DIR",
                      os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LINT = os.path.join(ROOT, "scripts", "lint_dockerfiles.py")

GOOD_TAIL = 'ENTRYPOINT ["text-generation-launcher"]\n'


def lint(paths, context=ROOT):
    result = subprocess.run([sys.executable, LINT, "--context", str(context), *paths],
                            capture_output=True, text=True)
    return result.returncode, result.stdout


def test_project_dockerfiles_pass():
    code, out = lint([os.path.join(ROOT, "Dockerfile"), os.path.join(ROOT, "Dockerfile.gaudi")])
    assert code == 0, out
    assert "2 file(s) OK" in out


def test_a_clean_snippet_passes(tmp_path):
    path = tmp_path / "Dockerfile"
    path.write_text("ARG BASE=debian:bookworm\n"
                    "FROM ${BASE} AS build\n"
                    "WORKDIR /src\n"
                    "COPY scripts/install-deps.sh scripts/\n"
                    "RUN ./scripts/install-deps.sh \\\n"
                    "    && /src/scripts/test.sh\n"
                    "FROM debian:bookworm\n"
                    "RUN apt-get update && apt-get install -y --no-install-recommends \\\n"
                    "      ca-certificates \\\n"
                    " && rm -rf /var/lib/apt/lists/*\n"
                    "COPY --from=build /opt/tgi/ /usr/local/\n"
                    "COPY --from=0 /src/models /usr/local/share/\n"
                    "CMD [\"--json-output\"]\n" + GOOD_TAIL)
    code, out = lint([str(path)])
    assert code == 0, out


@pytest.mark.parametrize("snippet,message", [
    ("FROM debian:bookworm\nCOPY no/such/file /x\n" + GOOD_TAIL,
     "COPY source no/such/file does not exist"),
    ("FROM debian:bookworm\nADD missing.tar.gz /x\n" + GOOD_TAIL,
     "ADD source missing.tar.gz does not exist"),
    ("FROM debian:bookworm\nWORKDIR /src\nRUN ./scripts/no-such-script.sh\n" + GOOD_TAIL,
     "RUN calls ./scripts/no-such-script.sh"),
    ("FROM debian:bookworm\nWORKDIR /src\nRUN /src/scripts/gone.py --flag\n" + GOOD_TAIL,
     "RUN calls /src/scripts/gone.py"),
    ("FROM debian:bookworm AS build\nFROM debian:bookworm\nCOPY --from=biuld /a /b\n" + GOOD_TAIL,
     "--from=biuld: no earlier stage"),
    ("FROM debian:bookworm\nENTRYPOINT text-generation-launcher --json-output\n",
     "ENTRYPOINT must be a JSON array"),
    ("FROM debian:bookworm\nCMD --json-output\n" + GOOD_TAIL,
     "CMD must be a JSON array"),
    ("FROM debian:bookworm\nCMD [\"a\", 1]\n" + GOOD_TAIL,
     "CMD must be a JSON array of strings"),
    ("FROM debian:bookworm\nRUN apt-get update && apt-get install --no-install-recommends curl"
     " && rm -rf /var/lib/apt/lists/*\n" + GOOD_TAIL,
     "apt-get install without -y"),
    ("FROM debian:bookworm\nRUN apt-get update && apt-get install -y curl"
     " && rm -rf /var/lib/apt/lists/*\n" + GOOD_TAIL,
     "apt-get install without --no-install-recommends"),
    ("FROM debian:bookworm\nRUN apt-get update && apt-get install -y --no-install-recommends curl\n"
     + GOOD_TAIL,
     "without rm -rf /var/lib/apt/lists/*"),
    ("RUN echo hi\nFROM debian:bookworm\n" + GOOD_TAIL,
     "RUN before the first FROM"),
    ("FROM debian:bookworm\nCOPPY a b\n" + GOOD_TAIL,
     "unknown instruction COPPY"),
])
def test_broken_snippets_are_rejected(tmp_path, snippet, message):
    path = tmp_path / "Dockerfile"
    path.write_text(snippet)
    code, out = lint([str(path)])
    assert code == 1
    assert message in out, out
    assert f"{path}:" in out


def test_sources_excluded_by_dockerignore_are_rejected(tmp_path):
    (tmp_path / ".dockerignore").write_text("build*/\n**/*.pyc\n")
    (tmp_path / "build-x").mkdir()
    (tmp_path / "build-x" / "bin").write_text("x")
    (tmp_path / "tool.pyc").write_text("x")
    (tmp_path / "kept.txt").write_text("x")
    path = tmp_path / "Dockerfile"
    path.write_text("FROM debian:bookworm\nCOPY build-x/bin /a\nCOPY tool.pyc /b\n"
                    "COPY kept.txt /c\n" + GOOD_TAIL)
    code, out = lint([str(path)], context=tmp_path)
    assert code == 1
    assert "COPY source build-x/bin is excluded by .dockerignore" in out
    assert "COPY source tool.pyc is excluded by .dockerignore" in out
    assert "kept.txt" not in out
