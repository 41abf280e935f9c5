#!/usr/bin/python3
"""A judge client in 66 lines of Python: MessagePack over ZeroMQ, no code generation.

    /usr/bin/python3 examples/clients/submit.py tcp://127.0.0.1:5555 LANGUAGE SOURCE TESTS_DIR

Sends SUBMIT (a map keyed by judge.proto's field names, docs/PROTOCOL.md), prints each
PROGRESS as it arrives and the RESULT as one JSON line. Exit status 0 for AC, 1 for
another verdict, 2 for an ERROR from the broker. Needs Debian's python3-zmq and
python3-msgpack.
"""
import json
import os
import re
import sys
import uuid

import msgpack
import zmq


def load_tests(directory):
    tests = []
    for name in os.listdir(directory):
        stem, ext = os.path.splitext(name)
        if ext != ".in":
            continue
        answer = next((os.path.join(directory, stem + e) for e in (".ans", ".out")
                       if os.path.exists(os.path.join(directory, stem + e))), None)
        if answer is None:
            continue
        with open(os.path.join(directory, name), "rb") as i, open(answer, "rb") as a:
            tests.append({"name": stem, "input": i.read(), "answer": a.read()})
    # Natural order: "2" before "10".
    return sorted(tests, key=lambda t: [int(p) if p.isdigit() else p
                                        for p in re.split(r"(\d+)", t["name"])])


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    broker, language, source, tests_dir = sys.argv[1:]
    with open(source, "rb") as f:
        job = {"id": uuid.uuid4().hex, "language": language,
               "sources": [{"name": os.path.basename(source), "content": f.read()}],
               "tests": load_tests(tests_dir)}
    sock = zmq.Context().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(broker)
    sock.send_multipart([b"JDG1", b"SUBMIT", b"mp", msgpack.packb(job, use_bin_type=True)])
    while True:
        if not sock.poll(60000):
            sys.exit("no answer from the broker in 60 s")
        version, verb, encoding, body = sock.recv_multipart()
        msg = msgpack.unpackb(body, raw=False)
        if verb == b"ERROR":
            print("judge:", msg["message"], file=sys.stderr)
            sys.exit(2)
        if verb == b"PROGRESS":
            print(f"test {msg['name']}: {msg['verdict']}", file=sys.stderr)
        if verb == b"RESULT":
            print(json.dumps(msg, default=lambda b: b.decode("utf-8", "replace")))
            sys.exit(0 if msg["verdict"] == "AC" else 1)


if __name__ == "__main__":
    main()
