#!/usr/bin/env python3
"""fetch_check.py BRAID_FETCH - the aiohttp seed's client against a server
braid did not write: python3's http.server, started here on loopback.

Checks that braid-fetch prints the served JSON document exactly (plus the
newline print() adds) on 1 and 2 workers' default, that a 404 exits 1 with
the status on stderr, that a refused port exits 1 with the reason, and that
a bad command line exits 2.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

fetch = sys.argv[1]
fail = False


def check(ok, what, detail=""):
    global fail
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        fail = True
        if detail:
            print("     " + detail.replace("\n", "\n     "))


with tempfile.TemporaryDirectory() as root:
    os.makedirs(os.path.join(root, "posts"))
    doc = {"userId": 1, "id": 1, "title": "sunt aut facere", "body": "x" * 5000}
    text = json.dumps(doc, indent=2)
    with open(os.path.join(root, "posts", "1"), "w") as f:
        f.write(text)
    srv = subprocess.Popen([sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1"],
                           cwd=root, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = srv.stdout.readline()
        m = re.search(r"port (\d+)", line)
        if m is None:
            print("FAIL http.server did not start: %r" % line)
            sys.exit(1)
        port = int(m.group(1))
        base = "http://127.0.0.1:%d" % port
        for url in (base + "/posts/1", "http://localhost:%d/posts/1" % port):
            t0 = time.monotonic()
            r = subprocess.run([fetch, url], capture_output=True, text=True, timeout=60)
            check(r.returncode == 0 and r.stdout == text + "\n" and r.stderr == "",
                  "GET %s prints the document (%.0f ms)" % (url, 1000 * (time.monotonic() - t0)),
                  "rc=%d stderr=%r stdout[:200]=%r" % (r.returncode, r.stderr, r.stdout[:200]))
            if r.returncode == 0:
                check(json.loads(r.stdout) == doc, "the output parses back to the same JSON")
        r = subprocess.run([fetch, base + "/missing"], capture_output=True, text=True, timeout=60)
        check(r.returncode == 1 and "404" in r.stderr, "a 404 exits 1 and says so",
              "rc=%d stderr=%r" % (r.returncode, r.stderr))
    finally:
        srv.terminate()
        srv.wait()
    # The server is gone: its port now refuses.
    r = subprocess.run([fetch, "-T", "5", base + "/posts/1"], capture_output=True, text=True,
                       timeout=60)
    check(r.returncode == 1 and "refused" in r.stderr.lower(), "a refused connection exits 1",
          "rc=%d stderr=%r" % (r.returncode, r.stderr))
for bad in (["ftp://x/y"], [], ["-T", "0", base], ["http://"]):
    r = subprocess.run([fetch] + bad, capture_output=True, text=True, timeout=60)
    check(r.returncode == 2 and "usage" in r.stderr, "bad command line %r exits 2" % bad,
          "rc=%d stderr=%r" % (r.returncode, r.stderr))
sys.exit(1 if fail else 0)
