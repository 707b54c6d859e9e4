#!/bin/sh
# The fake router: the same script as the fake shard, in the router role.
exec /usr/bin/python3 "$(dirname "$0")/fake_child.py" --role router "$@"
