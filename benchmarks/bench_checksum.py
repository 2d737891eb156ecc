"""What the integrity check costs: hashing a cached file (sha256, as `ineqbench.ledger.check_intact`
does before a job reads it) against reading the same bytes without hashing, in the same process.

Writes a 1 GiB temporary file (random bytes, so no file system compresses it), reads it once to warm
the page cache, then times three reads of each kind; reports seconds per GiB and the ratio.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from pathlib import Path

from ineqbench.io import sha256_file

GIB = 1 << 30


def timed(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]  # the median


def digest(path: Path, name: str) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, name).hexdigest()


def read_only(path: Path) -> None:
    buffer = bytearray(1 << 20)
    with open(path, "rb") as f:
        while f.readinto(buffer):
            pass


def main() -> None:
    with tempfile.TemporaryDirectory(dir=".") as folder:
        path = Path(folder) / "blob"
        with open(path, "wb") as f:
            for _ in range(GIB >> 26):
                f.write(os.urandom(1 << 26))
        read_only(path)  # warm-up: both kinds then read from the page cache
        t_read = timed(lambda: read_only(path))
        t_hash = timed(lambda: sha256_file(path))
        for name in ("blake2b", "md5"):
            t_other = timed(lambda name=name: digest(path, name), repeats=1)
            print(f"  for comparison, {name}: {t_other:.2f} s per GiB")
    print(
        f"sha256 of 1 GiB: {t_hash:.2f} s (read alone {t_read:.2f} s); hashing costs x{t_hash / t_read:.1f} "
        f"a read from the page cache, {t_hash - t_read:.2f} s per GiB more"
    )


if __name__ == "__main__":
    main()
