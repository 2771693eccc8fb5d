"""The access log writes one structured line per request."""

from __future__ import annotations

import json
import os

from timbel.core.logging import AccessLog


def _written(log_json: bool) -> str:
    read_fd, write_fd = os.pipe()
    try:
        AccessLog(as_json=log_json, fd=write_fd).write(
            method="GET", route="/api/v1/users/{user_id}", status=404, ms=1.25, request_id="abc123"
        )
        return os.read(read_fd, 4096).decode("utf-8")
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_json_lines_carry_the_request_fields() -> None:
    line = _written(True)
    assert line.endswith("\n") and line.count("\n") == 1
    record = json.loads(line)
    assert record["event"] == "request"
    assert record["route"] == "/api/v1/users/{user_id}"
    assert (record["method"], record["status"], record["ms"], record["request_id"]) == (
        "GET",
        404,
        1.25,
        "abc123",
    )
    assert record["timestamp"].endswith("Z")


def test_terminal_lines_are_readable() -> None:
    line = _written(False)
    assert "request" in line and "route=/api/v1/users/{user_id}" in line and "status=404" in line


def test_a_broken_stream_never_fails_the_request() -> None:
    read_fd, write_fd = os.pipe()
    os.close(read_fd)  # nobody reads: the write fails with a broken pipe
    try:
        log = AccessLog(as_json=True, fd=write_fd)
        log.write(method="GET", route="/", status=200, ms=0.1, request_id="x")
    finally:
        os.close(write_fd)
