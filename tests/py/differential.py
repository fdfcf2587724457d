"""Helpers for the differential tests (test_differential_*.py): run the same command on
stashd and on redis-server and compare what comes back."""

from __future__ import annotations

import redis


def run(client, cmd):
    """The reply of `cmd`, or the error text, tagged so replies and errors compare exactly."""
    try:
        return ("ok", client.execute_command(*cmd))
    except redis.ResponseError as e:
        return ("err", str(e))
