#!/usr/bin/env python3
"""readme_check.py SRCDIR - the README's promises about itself:
its first fenced block is exactly the two set-up lines, and the Embedding
section's example is examples/embed.c verbatim (which the build compiles
and the 'embed-example' test runs)."""
import os
import re
import sys

src = sys.argv[1]
readme = open(os.path.join(src, "README.md")).read()
fail = False
blocks = re.findall(r"```[a-z]*\n(.*?)```", readme, re.S)
first = blocks[0].strip("\n").split("\n")
if len(first) != 2 or not first[0].startswith("bash scripts/install-deps.sh") \
        or first[1] != "bash scripts/test-all.sh":
    print("FAIL the first code block is not the two set-up lines: %r" % first)
    fail = True
else:
    print("ok   the first code block holds the two set-up lines")
embed = open(os.path.join(src, "examples", "embed.c")).read()
if embed not in blocks:
    print("FAIL the Embedding example differs from examples/embed.c")
    fail = True
else:
    print("ok   the Embedding example is examples/embed.c")
sys.exit(1 if fail else 0)
