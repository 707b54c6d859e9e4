#!/usr/bin/python3
"""Stands in for text-generation-shard and text-generation-router in the launcher's tests.

It writes its argv, environment and pid to $FAKE_RECORD_DIR/<label>.json, then behaves as its
mode says. A shard (the default role; `--role router` is added by the router wrapper) listens on
the unix socket {--uds-path}-{RANK} once "ready", and removes it on SIGTERM.

Modes, from FAKE_SHARD_MODE_<rank> / FAKE_SHARD_MODE or FAKE_ROUTER_MODE:
  ready            become ready (shard: bind the socket) and wait for SIGTERM (exit 0)
  exit3            print three lines to stderr and exit with status 3 at once
  never_ready      wait for SIGTERM without ever creating the socket
  crash_on_trigger become ready, then exit 3 (after stderr lines) once $FAKE_TRIGGER exists
  ignore_term      become ready and ignore SIGTERM
"""
import json
import os
import signal
import socket
import sys
import time


def record(label, extra):
    directory = os.environ.get("FAKE_RECORD_DIR")
    if not directory:
        return
    data = {"argv": sys.argv[1:], "env": dict(os.environ), "pid": os.getpid()}
    data.update(extra)
    path = os.path.join(directory, label + ".json")
    with open(path + ".tmp", "w") as f:
        json.dump(data, f)
    os.rename(path + ".tmp", path)


def log_json(label, message):
    line = {"timestamp": time.time(), "level": "INFO", "target": label,
            "fields": {"message": message}}
    print(json.dumps(line), file=sys.stderr, flush=True)


def main():
    args = sys.argv[1:]
    role = "shard"
    if args and args[0] == "--role":
        role, args = args[1], args[2:]
        sys.argv = [sys.argv[0]] + args
    if role == "shard":
        rank = int(os.environ.get("RANK", "0"))
        label = f"shard-{rank}"
        mode = os.environ.get(f"FAKE_SHARD_MODE_{rank}", os.environ.get("FAKE_SHARD_MODE", "ready"))
        uds = args[args.index("--uds-path") + 1]
        socket_path = f"{uds}-{rank}"
    else:
        label = "router"
        mode = os.environ.get("FAKE_ROUTER_MODE", "ready")
        socket_path = None
        master = args[args.index("--master-shard-uds-path") + 1]

    extra = {"mode": mode}
    if socket_path:
        extra["socket_existed_at_start"] = os.path.exists(socket_path)
    else:
        extra["master_socket_exists"] = os.path.exists(master)

    server = None

    def stop(signum, frame):
        if server is not None:
            server.close()
            if os.path.exists(socket_path):
                os.unlink(socket_path)
        sys.exit(0)

    signal.signal(signal.SIGTERM, signal.SIG_IGN if mode == "ignore_term" else stop)
    signal.signal(signal.SIGINT, stop)

    if mode == "exit3":
        record(label, extra)
        for i in range(3):
            print(f"{label} fatal error line {i}", file=sys.stderr, flush=True)
        sys.exit(3)

    print(f"plain stdout line from {label}", flush=True)
    log_json(label, f"fake {label} says hello")
    if socket_path and mode != "never_ready":
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(socket_path)
        server.listen(1)
    record(label, extra)

    trigger = os.environ.get("FAKE_TRIGGER")
    while True:
        time.sleep(0.05)
        if mode == "crash_on_trigger" and trigger and os.path.exists(trigger):
            for i in range(3):
                print(f"{label} crash line {i}", file=sys.stderr, flush=True)
            # A crash leaves its socket behind: the launcher must remove it.
            os._exit(3)


if __name__ == "__main__":
    main()
