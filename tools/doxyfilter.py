#!/usr/bin/env python3
"""doxyfilter.py FILE - show braid.h to Doxygen as documented as it is.

braid.h is written for people: plain C comments above what they describe,
often one comment for a family of declarations (braid_event_new, _free,
_set ...), and trailing comments on struct members. Doxygen only reads
/** comments, and gives a comment to one declaration. This filter (the
INPUT_FILTER of docs/Doxyfile) rewrites, on the fly and without touching
the file:
  - the file's opening comment into the \\file documentation;
  - a comment followed by several declarations (BRAID_API functions,
    #defines, typedefs, struct members) into a member group whose first member carries the
    comment (DISTRIBUTE_GROUP_DOC gives it to the others);
  - every other comment that precedes a declaration into a /** comment,
    and a comment after a member on its line into /**< .
Lines keep their numbers (Doxygen's warnings point at the real lines):
the group markers are added on existing lines.
"""
import re
import sys

src = open(sys.argv[1]).read().split("\n")
out = list(src)
DECL = re.compile(r"^\s*(BRAID_API\b|#define\s+BRAID_|typedef\b|[A-Za-z_][\w\s\*\(\),]*;)")

i = 0
first_comment_done = False
closers = set()  # lines that start with a group's closing marker
while i < len(src):
    line = src[i]
    m = re.match(r"^(\s*)/\*(?!\*)(.*)$", line)
    if not m:
        # A trailing comment on a member or a #define.
        t = re.match(r"^(.*?(?:;|\w))(\s+)/\*(?!\*)(\s.*)$", out[i])
        if t and not line.lstrip().startswith("#include"):
            out[i] = t.group(1) + t.group(2) + "/**<" + t.group(3)
        i += 1
        continue
    # A comment block: find its end.
    j = i
    while "*/" not in src[j]:
        j += 1
    if not first_comment_done:
        out[i] = m.group(1) + "/** \\file braid.h" + m.group(2)
        first_comment_done = True
        i = j + 1
        continue
    out[i] = m.group(1) + "/**" + m.group(2)
    # The declarations it describes: the run of lines after it, up to a
    # blank line or another comment.
    k = j + 1
    decls = []
    while k < len(src) and src[k].strip() and not src[k].lstrip().startswith("/*"):
        code = re.sub(r"/\*.*?\*/", "", src[k]).rstrip()
        # A declaration starts here: a function, macro, typedef, or a
        # struct member (indented, ends with ';', not a continuation).
        if re.match(r"^\s*(BRAID_API\b|#define\s+BRAID_|typedef\b)", src[k]) or (
                re.match(r"^\s+[A-Za-z_]", src[k]) and code.endswith(";")
                and not re.match(r"^\s+[^(]*\)\s*;", code)):
            decls.append(k)
        k += 1
    # (A run with #if branches is not a family: Doxygen sees one branch.)
    conditional = any(re.match(r"^\s*#\s*(if|else|elif|endif)", src[x]) for x in range(j + 1, k))
    if len(decls) >= 2 and not conditional:
        out[i] = m.group(1) + "/**@{*/ " + out[i].lstrip()
        # Close at the start of the line after the run (a blank line or the
        # next comment): a marker at the end of a #define would be taken as
        # part of its value.
        closers.add(k)
    i = j + 1

for k in sorted(closers):
    if k >= len(out):
        out.append("/**@}*/")
    else:
        out[k] = "/**@}*/ " + out[k].lstrip() if out[k].strip() else "/**@}*/"
sys.stdout.write("\n".join(out))
