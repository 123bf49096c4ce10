#!/usr/bin/env python3
"""Lets a fresh clone reuse the shared build cache.

Cargo decides whether a workspace crate is stale by file modification times, and a fresh clone
(CI's) gives every file the time of the clone, so every crate of the workspace was rebuilt (about
9 minutes here) although the cache held artifacts built from the very same sources.

    record   before the test command builds: each tracked file's content hash and mtime
    seal     after it built and ran everything: the record stands for what the cache holds, if
             no tracked file changed meanwhile (otherwise the record is dropped)
    restore  in any checkout: a file whose content is the recorded content gets the recorded
             mtime back, so cargo finds it as old as the artifacts built from it

Restoring is only done when it cannot make cargo skip a needed rebuild: the record must be sealed
and no build may have written to the cache since (cargo rewrites a unit's fingerprint whenever it
compiles it). A file whose content differs from the record keeps the time of the clone and is
rebuilt as before. The file lives in the cache directory (CARGO_TARGET_DIR), beside what it
describes.
"""

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path


def tracked(repo: Path) -> list[str]:
    out = subprocess.run(
        ["git", "-C", str(repo), "ls-files", "-z"], check=True, capture_output=True
    ).stdout
    return [p for p in out.decode().split("\0") if p]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(repo: Path) -> dict[str, list]:
    files = {}
    for rel in tracked(repo):
        path = repo / rel
        if path.is_file() and not path.is_symlink():
            files[rel] = [digest(path), path.stat().st_mtime_ns]
    return files


def directories(files) -> dict[str, list[str]]:
    """Each folder holding tracked files, with its tracked entries (files and folders)."""
    entries: dict[str, set[str]] = {}
    for rel in files:
        child = rel
        while "/" in child:
            parent, name = child.rsplit("/", 1)
            entries.setdefault(parent, set()).add(name)
            child = parent
    return {d: sorted(names) for d, names in entries.items()}


def snapshot_dirs(repo: Path, files) -> dict[str, list]:
    return {d: [names, (repo / d).stat().st_mtime_ns] for d, names in directories(files).items()}


def fingerprint_dirs(target: Path, extra: list[Path]) -> list[Path]:
    dirs = [target / profile / ".fingerprint" for profile in ("release", "debug")]
    for root in extra:
        dirs.append(root / "release" / ".fingerprint")
        dirs.extend(root.glob("*/release/.fingerprint"))
    return [d for d in dirs if d.is_dir()]


def newest_build(dirs: list[Path]) -> int:
    newest = 0
    for d in dirs:
        with os.scandir(d) as units:
            for unit in units:
                newest = max(newest, unit.stat().st_mtime_ns)
                if unit.is_dir():
                    with os.scandir(unit.path) as files:
                        for f in files:
                            newest = max(newest, f.stat().st_mtime_ns)
    return newest


def write(path: Path, record: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record))
    os.replace(tmp, path)


def main() -> int:
    if len(sys.argv) != 2 or sys.argv[1] not in ("record", "seal", "restore"):
        print("usage: source-times.py record|seal|restore", file=sys.stderr)
        return 2
    repo = Path(__file__).resolve().parent.parent
    target = Path(os.environ["CARGO_TARGET_DIR"])
    # The fuzz targets build into a cache of their own (fuzz/run.sh), from the same sources.
    cache = Path(os.environ.get("CONSENTRY_CACHE", Path.home() / ".cache"))
    others = [cache / "consentry-fuzz-target"]
    manifest = target / "consentry-source-times.json"
    command = sys.argv[1]

    if command == "record":
        target.mkdir(parents=True, exist_ok=True)
        files = snapshot(repo)
        write(manifest, {"files": files, "dirs": snapshot_dirs(repo, files), "sealed_ns": None})
        return 0

    try:
        record = json.loads(manifest.read_text())
    except (OSError, ValueError):
        return 0

    if command == "seal":
        now = snapshot(repo)
        if {k: v[0] for k, v in now.items()} != {k: v[0] for k, v in record["files"].items()}:
            manifest.unlink(missing_ok=True)
            print("source-times: sources changed while the tests ran; not sealed", file=sys.stderr)
            return 0
        record["sealed_ns"] = time.time_ns()
        write(manifest, record)
        return 0

    # restore
    sealed = record.get("sealed_ns")
    if sealed is None:
        return 0
    if newest_build(fingerprint_dirs(target, others)) > sealed:
        print("source-times: the cache was built after the record; not restoring", file=sys.stderr)
        return 0
    restored = 0
    unchanged = set()
    for rel, (hash_, mtime) in record["files"].items():
        path = repo / rel
        try:
            if path.is_symlink() or digest(path) != hash_:
                continue
            unchanged.add(rel)
            if path.stat().st_mtime_ns <= mtime:
                continue
        except OSError:
            continue
        os.utime(path, ns=(mtime, mtime))
        restored += 1
    # Cargo also reads a watched folder's own time (a file removed from it shows only there), so
    # a folder gets its time back only if it holds the same tracked entries and none below it
    # changed.
    now = directories(tracked(repo))
    changed = directories(rel for rel in record["files"] if rel not in unchanged)
    for d, (names, mtime) in record.get("dirs", {}).items():
        if now.get(d) != names or d in changed:
            continue
        path = repo / d
        if path.stat().st_mtime_ns > mtime:
            os.utime(path, ns=(mtime, mtime))
    if restored:
        print(f"source-times: {restored} unchanged files dated as when the cache was built", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
