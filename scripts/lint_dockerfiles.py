#!/usr/bin/env python3
"""Lints the project's Dockerfiles (hadolint is not installable here). Python 3 stdlib only.

Checks:
  - every COPY/ADD source exists in the build context and is not excluded by .dockerignore;
  - every repository script a RUN calls (./x.sh, scripts/x.py, <WORKDIR>/x.sh) exists;
  - every COPY --from= names an earlier stage (or an image reference);
  - ENTRYPOINT and CMD are JSON arrays of strings (exec form);
  - apt-get install has -y and --no-install-recommends, and its RUN removes /var/lib/apt/lists/*;
  - the instructions are known ones and the first is FROM (after ARGs).

Usage: lint_dockerfiles.py [--context DIR] [DOCKERFILE ...]
  (default: Dockerfile and Dockerfile.gaudi at the repository root, with the root as context)
Prints file:line: message for each problem; exits 1 if there is any.
"""
import argparse
import fnmatch
import glob
import json
import os
import re
import shlex
import sys

INSTRUCTIONS = {"FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY",
                "ENTRYPOINT", "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL",
                "HEALTHCHECK", "SHELL"}
SCRIPT_TOKEN = re.compile(r"^(?:\./)?(?:[\w.-]+/)*[\w.-]+\.(?:sh|py|bash)$")


def logical_lines(text):
    """Yields (line number, instruction text) with continuations joined and comments dropped."""
    current, start = [], None
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if start is None:
            start = number
        if stripped.endswith("\\"):
            current.append(stripped[:-1])
            continue
        current.append(stripped)
        yield start, " ".join(part for part in current if part)
        current, start = [], None
    if current:
        yield start, " ".join(current)


def read_dockerignore(context):
    path = os.path.join(context, ".dockerignore")
    if not os.path.exists(path):
        return []
    patterns = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                patterns.append(line.rstrip("/"))
    return patterns


def ignored(relative, patterns):
    relative = os.path.normpath(relative)
    parts = relative.split(os.sep)
    excluded = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern[1:] if negate else pattern
        pattern = pattern.lstrip("/")
        for depth in range(1, len(parts) + 1):
            prefix = os.sep.join(parts[:depth])
            if fnmatch.fnmatch(prefix, pattern) or (
                    pattern.startswith("**/") and fnmatch.fnmatch(parts[depth - 1], pattern[3:])):
                excluded = not negate
                break
    return excluded


def split_flags(arguments):
    """Splits `--flag=value` options from the rest of a COPY/ADD instruction."""
    flags, rest = {}, []
    for token in arguments:
        if token.startswith("--") and not rest:
            name, _, value = token[2:].partition("=")
            flags[name] = value
        else:
            rest.append(token)
    return flags, rest


def copy_sources(body):
    """The sources and destination of COPY/ADD, in shell or JSON form, plus its flags."""
    tokens = shlex.split(body, posix=True)
    flags, rest = split_flags(tokens)
    remainder = body.split(None, len(flags))[-1] if flags else body
    if remainder.lstrip().startswith("["):
        try:
            rest = json.loads(remainder)
        except json.JSONDecodeError:
            pass
    return flags, rest[:-1], rest[-1] if rest else None


def check_exec_form(keyword, body):
    try:
        value = json.loads(body)
    except json.JSONDecodeError:
        return f"{keyword} must be a JSON array (exec form), got: {body}"
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        return f"{keyword} must be a JSON array of strings, got: {body}"
    return None


def check_apt(body):
    problems = []
    installs = False
    for command in re.split(r"&&|;|\|", body):
        words = command.split()
        if not any(w in ("apt-get", "apt") for w in words) or "install" not in words:
            continue
        installs = True
        has_yes = any(re.fullmatch(r"-[a-zA-Z]*y[a-zA-Z]*", w) or w in ("--yes", "--assume-yes")
                      for w in words)
        if not has_yes:
            problems.append("apt-get install without -y")
        if "--no-install-recommends" not in words:
            problems.append("apt-get install without --no-install-recommends")
    if installs and "rm -rf /var/lib/apt/lists/*" not in body:
        problems.append("apt-get install without rm -rf /var/lib/apt/lists/* in the same RUN")
    return problems


def check_run_scripts(body, context, workdir):
    problems = []
    try:
        tokens = shlex.split(body, posix=True)
    except ValueError:
        tokens = body.split()
    for token in tokens:
        token = token.strip(";&|()")
        if "$" in token or not SCRIPT_TOKEN.match(token.lstrip("/")):
            continue
        if token.startswith("/"):
            if not workdir or not token.startswith(workdir.rstrip("/") + "/"):
                continue  # a file of the image, not of the repository
            relative = token[len(workdir.rstrip("/")) + 1:]
        else:
            relative = token[2:] if token.startswith("./") else token
            if "/" not in relative and not token.startswith("./"):
                continue  # a bare word such as setup.py passed as an argument
        if not os.path.exists(os.path.join(context, relative)):
            problems.append(f"RUN calls {token}, which is not in the repository ({relative})")
    return problems


def lint(path, context):
    problems = []
    with open(path) as f:
        text = f.read()
    patterns = read_dockerignore(context)
    stages = []
    workdir = ""
    seen_from = False
    for number, line in logical_lines(text):
        keyword, _, body = line.partition(" ")
        keyword, body = keyword.upper(), body.strip()

        def report(message):
            problems.append(f"{path}:{number}: {message}")

        if keyword not in INSTRUCTIONS:
            report(f"unknown instruction {keyword}")
            continue
        if not seen_from and keyword not in ("FROM", "ARG"):
            report(f"{keyword} before the first FROM")
        if keyword == "FROM":
            seen_from = True
            workdir = ""
            match = re.search(r"\s+AS\s+(\S+)\s*$", body, re.IGNORECASE)
            stages.append(match.group(1).lower() if match else None)
        elif keyword == "WORKDIR":
            workdir = body if body.startswith("/") else os.path.join(workdir or "/", body)
        elif keyword in ("COPY", "ADD"):
            flags, sources, destination = copy_sources(body)
            if destination is None or not sources:
                report(f"{keyword} needs a source and a destination")
                continue
            if "from" in flags:
                source_stage = flags["from"].lower()
                known = [s for s in stages[:-1] if s]
                is_index = source_stage.isdigit() and int(source_stage) < len(stages) - 1
                is_image = ":" in source_stage or "/" in source_stage
                if source_stage not in known and not is_index and not is_image:
                    report(f"{keyword} --from={flags['from']}: no earlier stage has that name")
                continue
            for source in sources:
                if keyword == "ADD" and re.match(r"^https?://", source):
                    continue
                if "$" in source:
                    continue
                matches = glob.glob(os.path.join(context, source))
                if not matches:
                    report(f"{keyword} source {source} does not exist in the build context")
                elif source not in (".", "./") and ignored(source, patterns):
                    report(f"{keyword} source {source} is excluded by .dockerignore")
        elif keyword in ("ENTRYPOINT", "CMD"):
            message = check_exec_form(keyword, body)
            if message:
                report(message)
        elif keyword == "RUN":
            for message in check_apt(body) + check_run_scripts(body, context, workdir):
                report(message)
    if not seen_from:
        problems.append(f"{path}: no FROM instruction")
    return problems


def main(argv=None):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--context", default=root, help="the build context (default: repo root)")
    parser.add_argument("files", nargs="*")
    args = parser.parse_args(argv)
    files = args.files or [os.path.join(root, "Dockerfile"), os.path.join(root, "Dockerfile.gaudi")]
    problems = []
    for path in files:
        problems += lint(path, args.context)
    for problem in problems:
        print(problem)
    if not problems:
        print(f"lint_dockerfiles: {len(files)} file(s) OK")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
