"""Writes the benchmark bodies and the raw COPY input.

Usage: make_rows.py DIR WORKFLOW_UUID WEBHOOK_UUID COPY_ROWS

DIR gets json_1k, json_64k, json_1m (one JSON object each), ndjson_1000 (1000 lines of
about 200 bytes) and copy.tsv (COPY_ROWS executions made of the same lines, ready for
COPY into the executions table).
"""
import json
import os
import sys
import time
import uuid


def payload(size):
    """A JSON object of exactly `size` bytes."""
    head = '{"event":"bench","data":"'
    tail = '"}'
    return head + "x" * (size - len(head) - len(tail)) + tail


def line(n):
    text = json.dumps({"seq": n, "event": "order.created", "customer": "c_%08d" % n,
                       "amount": n % 997, "currency": "EUR", "tags": ["a", "b"]},
                      separators=(",", ":"))
    return text + " " * max(0, 199 - len(text))


def uuid7(counter):
    """A time-ordered UUID, as Sluice generates them."""
    ms = int(time.time() * 1000)
    value = (ms << 80) | (0x7 << 76) | (counter & ((1 << 76) - 1))
    value = (value & ~(0xC << 60)) | (0x8 << 60)
    return str(uuid.UUID(int=value))


def main():
    out, workflow, webhook, rows = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    for name, size in [("json_1k", 1024), ("json_64k", 64 * 1024), ("json_1m", 1024 * 1024)]:
        with open(os.path.join(out, name), "w") as f:
            f.write(payload(size))
    lines = [line(n) for n in range(1000)]
    with open(os.path.join(out, "ndjson_1000"), "w") as f:
        f.write("\n".join(lines) + "\n")
    now = time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime())
    base = int.from_bytes(os.urandom(6), "big") << 20
    with open(os.path.join(out, "copy.tsv"), "w") as f:
        for n in range(rows):
            request = uuid7(base + n // 1000)
            f.write("\t".join([uuid7(base + n), "copy_%d" % n, workflow, webhook, "1",
                               lines[n % 1000], request, str(n % 1000 + 1), "127.0.0.1",
                               "POST", "application/x-ndjson", now]) + "\n")


main()
