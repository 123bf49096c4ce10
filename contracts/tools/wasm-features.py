#!/usr/bin/env python3
"""Lists the post-MVP instructions in a wasm module's code (bulk memory, sign extension,
saturating float-to-int, SIMD, ...), decoding every function body instruction by instruction.
pallet-contracts 40.1.0 with Determinism::Enforced accepts MVP plus nothing else that matters
here (bulk memory is refused). Exit status 1 if any bulk-memory or sign-ext instruction is found.

Usage: wasm-features.py module.wasm
"""
import sys

def leb(b, i, signed=False):
    r = s = 0
    while True:
        x = b[i]; i += 1
        r |= (x & 0x7f) << s; s += 7
        if not x & 0x80:
            break
    if signed and x & 0x40:
        r -= 1 << s
    return r, i

def scan(b):
    assert b[:4] == b"\0asm", "not a wasm module"
    i = 8; found = {}; imports = []
    while i < len(b):
        sid = b[i]; i += 1
        size, i = leb(b, i); end = i + size
        if sid == 2:
            n, j = leb(b, i)
            for _ in range(n):
                l, j = leb(b, j); mod = b[j:j+l].decode(); j += l
                l, j = leb(b, j); name = b[j:j+l].decode(); j += l
                kind = b[j]; j += 1
                if kind == 0: _, j = leb(b, j)
                elif kind == 1: j += 1; fl = b[j]; j += 1; _, j = leb(b, j); j = leb(b, j)[1] if fl & 1 else j
                elif kind == 2:
                    fl = b[j]; j += 1; _, j = leb(b, j)
                    if fl & 1: _, j = leb(b, j)
                elif kind == 3: j += 2
                imports.append(f"{mod}.{name}")
        if sid == 10:
            n, j = leb(b, i)
            for _ in range(n):
                sz, j = leb(b, j); fend = j + sz
                nl, j = leb(b, j)
                for _ in range(nl):
                    _, j = leb(b, j); j += 1
                while j < fend:
                    op = b[j]; j += 1
                    if op in (0x02, 0x03, 0x04):
                        bt = b[j]
                        if bt == 0x40 or bt >= 0x6f: j += 1
                        else: _, j = leb(b, j, True)
                    elif op in (0x0c, 0x0d, 0x10, 0x20, 0x21, 0x22, 0x23, 0x24, 0xd2):
                        _, j = leb(b, j)
                    elif op == 0x0e:
                        c, j = leb(b, j)
                        for _ in range(c + 1): _, j = leb(b, j)
                    elif op == 0x11: _, j = leb(b, j); _, j = leb(b, j)
                    elif op == 0x1c: c, j = leb(b, j); j += c
                    elif 0x28 <= op <= 0x3e: _, j = leb(b, j); _, j = leb(b, j)
                    elif op in (0x3f, 0x40): j += 1
                    elif op == 0x41: _, j = leb(b, j, True)
                    elif op == 0x42: _, j = leb(b, j, True)
                    elif op == 0x43: j += 4
                    elif op == 0x44: j += 8
                    elif 0xc0 <= op <= 0xc4:
                        found["sign-ext"] = found.get("sign-ext", 0) + 1
                    elif op == 0xd0: j += 1
                    elif op == 0xfc:
                        sub, j = leb(b, j)
                        name = "saturating-float-to-int" if sub <= 7 else "bulk-memory"
                        found[name] = found.get(name, 0) + 1
                        if sub in (8,): _, j = leb(b, j); j += 1
                        elif sub in (9, 13, 15, 16, 17): _, j = leb(b, j)
                        elif sub in (10, 12, 14): _, j = leb(b, j); _, j = leb(b, j)
                        elif sub == 11: j += 1
                    elif op == 0xfd:
                        found["simd"] = found.get("simd", 0) + 1
                        raise SystemExit("SIMD found; not decoding further")
                    elif op <= 0xd2 or op in (0x1a, 0x1b, 0x0b, 0x0f, 0x00, 0x01, 0x05):
                        pass
                    else:
                        raise SystemExit(f"unknown opcode {op:#x}")
                j = fend
        i = end
    return found, imports

if __name__ == "__main__":
    found, imports = scan(open(sys.argv[1], "rb").read())
    print("imports:", ", ".join(imports))
    print("post-MVP instructions:", found or "none")
    sys.exit(1 if found.get("bulk-memory") or found.get("sign-ext") else 0)
