"""IMDB sentiment with PyTorch: the model and its recipe, training (CUDA when
present, else CPU), the baselines, the conversion back to rnn_core, and two
commands that record runs as artifacts with their provenance.

One run (the configuration from the flags, or a preset)::

    python -m rnn_core.sentiment --data PATH --name imdb_run [--preset oh2lstmp] [--hidden 256 ...]

The prepared GPU command: a validation sweep of a grid of configurations run
concurrently, the best (lowest validation loss) trained with three seeds, the
test set evaluated once, the reported model re-run in numpy on the whole test
set, its weights kept (float16 .npz) and everything written with provenance::

    python -m rnn_core.sentiment sweep --data PATH --grid gpu --name imdb_gpu

Precision: the recurrent layer always runs in float32 (on CUDA with TF32
matrix products unless ``--no-tf32``); no autocast, because autocast casts
cuDNN RNNs to float16 whatever dtype it is given and there is no loss scaler.
Evaluation and the parity check run with TF32 off. Importing this module needs
torch. Introduced in the chapter *IMDB sentiment on a GPU*.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import dataclasses
import hashlib
import importlib
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from tqdm import tqdm   # text bars: live in Jupyter and Colab, plain on the website

from .activations import log_softmax
from .artifacts import ARTIFACTS, current_commit, provenance, save_artifact
from .imdb import Vocabulary, length_buckets, load_imdb, pad, tokenize, validation_split
from .layers import Dense, Embedding, Recurrent

MODULES = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}
CELLS = tuple(MODULES) + ("none",)            # 'none': embeddings + pooling + linear, no recurrence
POOLINGS = ("last", "mean", "max", "maxmean")
TRUNCATIONS = ("head", "head_tail")
WEIGHTS_LIMIT_BYTES = 25_000_000              # keep a reported model's weights up to 25 MB


@dataclasses.dataclass
class Config:
    """Everything that defines a run (recorded in its artifact). The defaults
    are the recipe of the chapter: whole reviews, a bidirectional LSTM with
    forget-gate bias 1, max+mean pooling, embedding and word dropout, AdamW
    with warm-up and cosine decay, selection on the validation loss."""
    cell: str = "lstm"                # 'rnn', 'gru', 'lstm' or 'none' (no recurrence)
    bidirectional: bool = True
    pooling: str = "maxmean"          # 'last', 'mean', 'max' or 'maxmean' (over real steps)
    num_layers: int = 1
    embed_dim: int = 256
    hidden: int = 256
    forget_bias: float = 1.0          # the LSTM's b_f (bias_ih + bias_hh in PyTorch)
    dropout: float = 0.5              # on the pooled features
    embed_dropout: float = 0.3        # on the embedding vectors' entries
    word_dropout: float = 0.1         # tokens replaced by <unk> while training
    max_vocab: int = 30_000
    min_freq: int = 2
    max_len: int | None = None        # None: whole reviews
    truncate: str = "head_tail"       # with max_len: keep the beginning, or beginning and end
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.05        # AdamW, on weight matrices (not embeddings, not biases)
    warmup: float = 0.05              # fraction of the steps with a linear warm-up
    schedule: str = "cosine"          # 'cosine' (to zero) or 'constant'
    clip_norm: float = 1.0
    epochs: int = 6
    patience: int = 3                 # stop after this many epochs without a better selection
    select: str = "loss"              # choose the epoch by validation 'loss' or 'accuracy'
    tf32: bool = True                 # TF32 matrix products on CUDA while training
    val_fraction: float = 0.1
    split_seed: int = 0               # the validation split: the same for every seed
    train_subset: int | None = None   # use only this many training reviews (CPU demos)
    val_subset: int | None = None     # and only this many validation reviews
    seed: int = 0


# The style of Johnson & Zhang's (2016) oh-2LSTMp: 30k vocabulary, 500 units
# per direction, whole documents, max pooling, dropout 0.5 on top. Their
# one-hot input is an embedding lookup; here it is 256-dimensional (so that
# the weights stay under the size limit), and AdamW replaces SGD.
PRESETS = {
    "default": {},
    "oh2lstmp": dict(cell="lstm", bidirectional=True, pooling="max", hidden=500, embed_dim=256,
                     dropout=0.5, max_vocab=30_000, max_len=None),
    # the CPU demos of the chapter: 2,000 reviews cut to their first 200 tokens
    "small": dict(train_subset=2000, val_subset=1000, max_len=200, truncate="head", embed_dim=32,
                  hidden=32, epochs=3, patience=3, batch_size=64, lr=5e-3, dropout=0.2,
                  embed_dropout=0.1, word_dropout=0.0, min_freq=2, warmup=0.0),
    "tiny": dict(embed_dim=8, hidden=8, epochs=2, patience=2, batch_size=16, lr=1e-2,
                 min_freq=1, dropout=0.0, embed_dropout=0.0, word_dropout=0.0),
}

# Grids for the sweep: (name, preset, overrides). One factor at a time around
# the default, the oh-2LSTMp style, and a baseline without recurrence (reported,
# never selected).
GRIDS = {
    "gpu": [("default", "default", {}),
            ("max_pooling", "default", dict(pooling="max")),
            ("more_dropout", "default", dict(embed_dropout=0.5, word_dropout=0.2)),
            ("oh2lstmp", "oh2lstmp", {}),
            ("no_recurrence", "default", dict(cell="none", lr=5e-3))],
    "tiny": [("default", "tiny", {}),
             ("max_pooling", "tiny", dict(pooling="max")),
             ("no_recurrence", "tiny", dict(cell="none"))],
}
BASELINE_RUNS = ("no_recurrence",)


def config_from(preset="default", **overrides) -> Config:
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {', '.join(map(repr, PRESETS))}, got {preset!r}")
    return Config(**{**PRESETS[preset], **overrides})


def _check_config(c: Config):
    for name, value, allowed in (("cell", c.cell, CELLS), ("pooling", c.pooling, POOLINGS),
                                 ("truncate", c.truncate, TRUNCATIONS),
                                 ("schedule", c.schedule, ("cosine", "constant")),
                                 ("select", c.select, ("loss", "accuracy"))):
        if value not in allowed:
            raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    if c.cell == "none" and c.pooling == "last":
        raise ValueError("a model without recurrence has no last state: pooling must be "
                         "'mean', 'max' or 'maxmean'")
    for name in ("dropout", "embed_dropout", "word_dropout"):
        if not 0 <= getattr(c, name) < 1:
            raise ValueError(f"{name} must be in [0, 1), got {getattr(c, name)!r}")


def _init_recurrent(rnn, forget_bias):
    """Xavier on the input weights, orthogonal on the recurrent ones (per gate),
    zero biases except the LSTM's forget gate: bias_ih_f = b_f, bias_hh_f = 0,
    so that PyTorch's sum of the two is exactly b_f."""
    n_a = rnn.hidden_size
    with torch.no_grad():
        for name, p in rnn.named_parameters():
            blocks = p.split(n_a, 0)
            if name.startswith("weight_ih"):
                for b in blocks:
                    nn.init.xavier_uniform_(b)
            elif name.startswith("weight_hh"):
                for b in blocks:
                    nn.init.orthogonal_(b)
            else:
                p.zero_()
                if isinstance(rnn, nn.LSTM) and name.startswith("bias_ih"):
                    p[n_a:2 * n_a] = forget_bias          # PyTorch's gate order: i, f, g, o


class SentimentNet(nn.Module):
    """Embedding (+ dropout) -> RNN/GRU/LSTM (packed, optionally bidirectional;
    none for cell='none') -> last state, or mean / max / max and mean over the
    real steps -> dropout -> Linear (2 logits)."""

    def __init__(self, vocab_size, c: Config):
        super().__init__()
        _check_config(c)
        self.pooling, self.cell = c.pooling, c.cell
        self.embedding = nn.Embedding(vocab_size, c.embed_dim, padding_idx=0)
        self.embed_dropout = nn.Dropout(c.embed_dropout)
        if c.cell == "none":
            self.rnn, n_feat = None, c.embed_dim
        else:
            self.rnn = MODULES[c.cell](c.embed_dim, c.hidden, num_layers=c.num_layers,
                                       bidirectional=c.bidirectional,
                                       dropout=c.dropout if c.num_layers > 1 else 0.0)
            _init_recurrent(self.rnn, c.forget_bias)
            n_feat = c.hidden * (2 if c.bidirectional else 1)
        self.dropout = nn.Dropout(c.dropout)
        self.out = nn.Linear(n_feat * (2 if c.pooling == "maxmean" else 1), 2)

    def forward(self, ids, lengths):
        """ids (T, m) int64 with padding 0, lengths (m,) on the CPU -> logits (m, 2)."""
        emb = self.embed_dropout(self.embedding(ids))
        if self.rnn is None:
            h_n, padded = None, emb
        else:
            out, h = self.rnn(pack_padded_sequence(emb, lengths, enforce_sorted=False))
            h_n = h[0] if isinstance(h, tuple) else h
            if self.pooling != "last":
                padded, _ = pad_packed_sequence(out, total_length=ids.shape[0])
        if self.pooling == "last":
            feats = torch.cat([h_n[-2], h_n[-1]], 1) if self.rnn.bidirectional else h_n[-1]
        else:
            real = (torch.arange(ids.shape[0])[:, None] < lengths[None, :]).to(padded.device)
            parts = []
            if self.pooling in ("max", "maxmean"):
                parts.append(padded.masked_fill(~real[:, :, None], float("-inf")).amax(0))
            if self.pooling in ("mean", "maxmean"):
                summed = (padded * real[:, :, None]).sum(0)
                parts.append(summed / lengths.to(padded.device, padded.dtype)[:, None])
            feats = torch.cat(parts, 1)
        return self.out(self.dropout(feats))


# ---------------------------------------------------------------- data

def cut(ids, max_len, truncate="head_tail"):
    """At most max_len ids: the beginning, or (head_tail) the first and last halves."""
    if max_len is None or len(ids) <= max_len:
        return ids
    if truncate == "head":
        return ids[:max_len]
    head = (max_len + 1) // 2
    return np.concatenate([ids[:head], ids[len(ids) - (max_len - head):]])


def tokenize_all(data) -> dict:
    """{'train': token lists, 'test': ...}: tokenise once, prepare many runs."""
    return {split: [tokenize(t) for t in reviews.texts] for split, reviews in data.items()}


def split_indices(n_train, c: Config):
    """The training and validation review indices ``prepare`` uses: the
    validation split (split_seed), then the subsets when the config asks."""
    tr_idx, va_idx = validation_split(n_train, c.val_fraction, seed=c.split_seed)
    if c.train_subset is not None:
        tr_idx = np.sort(np.random.default_rng(c.split_seed).choice(tr_idx, size=c.train_subset,
                                                                    replace=False))
    if c.val_subset is not None:
        va_idx = np.sort(np.random.default_rng(c.split_seed + 1).choice(va_idx, size=c.val_subset,
                                                                        replace=False))
    return tr_idx, va_idx


def prepare(data, c: Config, tokens=None):
    """Split off validation (split_seed), build the vocabulary from the training
    reviews only, encode and cut. ``tokens`` from :func:`tokenize_all` saves
    tokenising again."""
    tokens = tokens or tokenize_all(data)
    train = data["train"]
    tr_idx, va_idx = split_indices(len(train), c)
    vocab = Vocabulary([tokens["train"][i] for i in tr_idx], min_freq=c.min_freq,
                       max_size=c.max_vocab)
    enc = lambda split, idx: [cut(vocab.encode(tokens[split][i]), c.max_len, c.truncate)
                              for i in idx]
    out = {"vocab": vocab, "train": (enc("train", tr_idx), train.labels[tr_idx]),
           "val": (enc("train", va_idx), train.labels[va_idx]), "train_index": tr_idx}
    if "test" in data:
        out["test"] = (enc("test", range(len(data["test"]))), data["test"].labels)
    return out


def _batches(encoded, labels, batch_size, rng, word_dropout=0.0):
    lengths = np.array([len(e) for e in encoded])
    for idx in length_buckets(lengths, batch_size, rng):
        ids, lens, _ = pad([encoded[i] for i in idx])
        if word_dropout:
            drop = (rng.random(ids.shape) < word_dropout) & (ids > 0)
            ids[drop] = 1                                          # <unk>
        yield torch.from_numpy(ids.T.copy()), torch.from_numpy(lens), torch.from_numpy(labels[idx])


@contextlib.contextmanager
def exact_float32():
    """TF32 off for the duration (evaluation, parity checks)."""
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def evaluate(net, encoded, labels, device=None, batch_size=256):
    """(accuracy, mean cross-entropy, logits (n, 2) in the original order), in float32."""
    device = device or next(net.parameters()).device
    net.eval()
    logits = np.zeros((len(encoded), 2), dtype=np.float32)
    order = np.argsort([len(e) for e in encoded], kind="stable")
    with torch.no_grad(), exact_float32():
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            ids, lens, _ = pad([encoded[i] for i in idx])
            out = net(torch.from_numpy(ids.T.copy()).to(device), torch.from_numpy(lens))
            logits[idx] = out.float().cpu().numpy()
    logp = log_softmax(logits, axis=1)
    loss = float(-logp[np.arange(len(labels)), labels].mean())
    return float((logits.argmax(1) == labels).mean()), loss, logits


def _optimizer(net, c: Config):
    """AdamW; weight decay on weight matrices only (not embeddings, not biases)."""
    decay, no_decay = [], []
    for name, p in net.named_parameters():
        (no_decay if name.startswith("embedding") or p.ndim < 2 else decay).append(p)
    return torch.optim.AdamW([{"params": decay, "weight_decay": c.weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=c.lr)


def lr_factor(step, total, c: Config):
    """Linear warm-up over c.warmup of the steps, then cosine decay to zero (or constant)."""
    warm = int(c.warmup * total)
    if step < warm:
        return (step + 1) / warm
    if c.schedule == "constant":
        return 1.0
    return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warm) / max(1, total - warm))))


def dtype_used(device, tf32=True) -> str:
    """The precision training runs in: float32 everywhere, with TF32 matrix
    products (cuDNN RNN and matmul) on CUDA when allowed."""
    if torch.device(device).type == "cuda" and tf32:
        return "float32 (TF32 matrix products)"
    return "float32"


def fit(prepared, c: Config, device=None, progress=True, time_limit=None):
    """Train with AdamW, warm-up and cosine decay, clipping, dropout; keep the
    epoch with the best validation loss (or accuracy). ``time_limit`` (seconds):
    after the first epoch the planned epochs shrink to fit it (the schedule is
    re-planned), and training stops when it is spent. Returns (network, history)."""
    _check_config(c)
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = c.tf32
    torch.manual_seed(c.seed)
    rng = np.random.default_rng(c.seed)
    net = SentimentNet(len(prepared["vocab"]), c).to(device)
    opt = _optimizer(net, c)
    (tr_x, tr_y), (va_x, va_y) = prepared["train"], prepared["val"]
    per_epoch = math.ceil(len(tr_y) / c.batch_size)
    plan = {"epochs": c.epochs}
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: lr_factor(s, plan["epochs"] * per_epoch, c))
    history = {k: [] for k in ("epoch", "train_loss", "val_loss", "val_accuracy", "lr",
                               "seconds", "tokens_per_second")}
    history["stopped"] = "planned epochs"
    best, best_score, bad, start = None, math.inf, 0, time.perf_counter()
    epoch = 0
    while epoch < plan["epochs"]:
        epoch += 1
        net.train()
        losses, tokens, t0 = [], 0, time.perf_counter()
        batches = _batches(tr_x, tr_y, c.batch_size, rng, c.word_dropout)
        for ids, lens, y in tqdm(batches, total=per_epoch, desc=f"epoch {epoch}",
                                 disable=not progress, leave=False):
            loss = nn.functional.cross_entropy(net(ids.to(device), lens), y.to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), c.clip_norm)
            opt.step()
            sched.step()
            losses.append(loss.detach())                 # no device sync per step
            tokens += int(lens.sum())
            if time_limit is not None and time.perf_counter() - start > time_limit:
                history["stopped"] = "time limit, within an epoch"
                break
        losses = torch.stack(losses).float().cpu().numpy()      # waits for the device
        seconds = time.perf_counter() - t0
        acc, vloss, _ = evaluate(net, va_x, va_y, device)
        for key, value in (("epoch", epoch), ("train_loss", float(np.mean(losses))),
                           ("val_loss", vloss), ("val_accuracy", acc),
                           ("lr", opt.param_groups[0]["lr"]), ("seconds", seconds),
                           ("tokens_per_second", tokens / seconds)):
            history[key].append(value)
        if progress:
            print(f"epoch {epoch}: train loss {np.mean(losses):.4f}, validation loss {vloss:.4f}, "
                  f"accuracy {acc:.4f}, {tokens / seconds:,.0f} tokens/s")
        score = vloss if c.select == "loss" else -acc
        if score < best_score:
            best, best_score, bad = copy.deepcopy(net.state_dict()), score, 0
        else:
            bad += 1
        if history["stopped"] != "planned epochs":
            break
        if bad >= c.patience:
            history["stopped"] = "patience"
            break
        if time_limit is not None:
            elapsed = time.perf_counter() - start
            fits = epoch + int((time_limit - elapsed) // (elapsed / epoch))
            if fits < plan["epochs"]:
                plan["epochs"] = max(epoch, fits)        # the cosine re-planned to end in time
                history["stopped"] = "planned epochs" if fits > epoch else "time limit"
                if fits <= epoch:
                    break
    history["epochs_planned"] = plan["epochs"]
    history["best_epoch"] = int(np.argmin(history["val_loss"] if c.select == "loss"
                                          else -np.array(history["val_accuracy"]))) + 1
    if best is None:
        measure = "loss" if c.select == "loss" else "accuracy"
        raise FloatingPointError(f"no finite validation {measure} in {len(history['val_loss'])} "
                                 "epochs: the training diverged; lower the learning rate")
    net.load_state_dict(best)
    return net, history


# ---------------------------------------------------------------- baselines

def majority_baseline(train_labels, test_labels) -> float:
    """Accuracy of always answering the training set's most frequent label."""
    return float((test_labels == np.bincount(train_labels).argmax()).mean())


def tfidf_baseline(train_texts, train_labels, test_texts, test_labels, C=10.0) -> float:
    """Logistic regression on TF-IDF of word unigrams and bigrams (sublinear tf)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    vec = TfidfVectorizer(tokenizer=tokenize, lowercase=False, token_pattern=None,
                          ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    X = vec.fit_transform(train_texts)
    clf = LogisticRegression(C=C, max_iter=2000).fit(X, train_labels)
    return float((clf.predict(vec.transform(test_texts)) == test_labels).mean())


# ---------------------------------------------------------------- back to numpy

class NumpySentiment:
    """The network in rnn_core's numpy layers: Embedding -> Recurrent (the fast
    path of the cells of the LSTM / GRU / RNN chapters; none for cell 'none') ->
    pooling over the real steps -> Dense. Forward only (eval mode: no dropout).
    Parameters are named as in SequenceModel ('input.E', 'rnn.l0.Wf', 'dense.W')."""

    def __init__(self, embedding, recurrent, dense, pooling):
        self.input, self.recurrent, self.dense, self.pooling = embedding, recurrent, dense, pooling
        layers = {"input": embedding, "rnn": recurrent, "dense": dense}
        self.parameters = {f"{prefix}.{key}": value for prefix, layer in layers.items()
                           if layer is not None for key, value in layer.parameters.items()}

    def forward(self, ids, mask):
        """ids (m, T_x), mask (m, T_x) -> logits (2, m)."""
        h = self.input.forward(ids)                                 # (n_e, m, T_x)
        final = None
        if self.recurrent is not None:
            h, final = self.recurrent.forward(h, mask)
        if self.pooling == "last":
            return self.dense.forward(final)
        parts, real = [], mask[None] > 0
        if self.pooling in ("max", "maxmean"):
            parts.append(np.where(real, h, -np.inf).max(axis=2))
        if self.pooling in ("mean", "maxmean"):
            parts.append((h * real).sum(axis=2) / mask.sum(axis=1))
        return self.dense.forward(np.concatenate(parts, axis=0).astype(h.dtype))


def to_rnn_core(net: SentimentNet, dtype=np.float64) -> NumpySentiment:
    """The trained network as numpy layers of rnn_core (eval mode: no dropout).
    PyTorch's two biases per gate are summed (b_f = bias_ih_f + bias_hh_f)."""
    from .torch_bridge import parameters_from_torch
    rng = np.random.default_rng(0)
    get = lambda t: t.detach().cpu().double().numpy()
    E = get(net.embedding.weight)
    emb = Embedding(E.shape[0], E.shape[1], rng, dtype)
    emb.parameters["E"][:] = E.T
    rec = None
    if net.rnn is not None:
        rnn = net.rnn
        cell = {nn.LSTM: "lstm", nn.GRU: "gru", nn.RNN: "rnn"}[type(rnn)]
        rec = Recurrent(cell, rnn.input_size, rnn.hidden_size, rng, num_layers=rnn.num_layers,
                        bidirectional=rnn.bidirectional,
                        activation=getattr(rnn, "nonlinearity", "tanh"), dtype=dtype)
        cpu = copy.deepcopy(rnn).double().cpu()
        for k in range(rnn.num_layers):
            for d in range(2 if rnn.bidirectional else 1):
                prefix = f"l{k}" + ("_reverse" if d else "") + "."
                for name, value in parameters_from_torch(cpu, k, d).items():
                    rec.parameters[prefix + name][:] = value
    W = get(net.out.weight)
    dense = Dense(W.shape[1], W.shape[0], rng, dtype)
    dense.parameters["W"][:] = W
    dense.parameters["b"][:] = get(net.out.bias)[:, None]
    return NumpySentiment(emb, rec, dense, net.pooling)


def numpy_logits(model: NumpySentiment, encoded, batch_size=128) -> np.ndarray:
    """Logits (n, 2) of the numpy model on encoded reviews, batched by length."""
    out = np.zeros((len(encoded), 2), dtype=np.float64)
    order = np.argsort([len(e) for e in encoded], kind="stable")
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        ids, _, mask = pad([encoded[i] for i in idx])
        out[idx] = model.forward(ids, mask.astype(model.dense.parameters["W"].dtype)).T
    return out


def _numpy_job(state, config_dict, vocab_size, encoded):
    net = SentimentNet(vocab_size, Config(**config_dict))
    net.load_state_dict(state)
    return numpy_logits(to_rnn_core(net.eval(), np.float32), encoded)


def numpy_logits_parallel(net, config: Config, encoded, workers) -> np.ndarray:
    """numpy_logits in float32 on ``workers`` processes (the per-step products
    run on one BLAS thread each, so processes are what uses the cores), each
    given an equal share of every length."""
    order = np.argsort([len(e) for e in encoded], kind="stable")
    shares = [order[k::workers] for k in range(workers)]
    state = {k: v.detach().cpu() for k, v in net.state_dict().items()}
    job = importlib.import_module("rnn_core.sentiment")
    saved = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    os.environ.update({k: "1" for k in saved})               # inherited by the workers
    try:
        with _pool(workers) as pool:
            parts = [pool.submit(job._numpy_job, state, dataclasses.asdict(config),
                                 net.embedding.num_embeddings, [encoded[i] for i in share])
                     for share in shares]
            out = np.zeros((len(encoded), 2))
            for share, part in zip(shares, parts):
                out[share] = part.result()
    finally:
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    return out


PART_BYTES = 15 * 2 ** 20     # the device run brings files back up to 16 MiB each


def save_weights(net, vocab, config: Config, path, part_bytes=PART_BYTES) -> dict:
    """The network's weights in float16, its vocabulary and config, as one .npz
    (written in parts of at most ``part_bytes`` when larger: NAME.part0.npz, ...).
    Returns {'files', 'bytes', 'sha256' (of the whole .npz), 'dtype'}."""
    import io
    arrays = {"param." + k: v.detach().cpu().numpy().astype(np.float16)
              for k, v in net.state_dict().items()}
    arrays["vocab"] = np.array(vocab.itos)
    arrays["config"] = np.array(json.dumps(dataclasses.asdict(config)))
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    blob, path = buffer.getvalue(), Path(path)
    if len(blob) <= part_bytes:
        paths = [path]
    else:
        paths = [path.with_name(f"{path.stem}.part{k}{path.suffix}")       # packaged as *.npz
                 for k in range(math.ceil(len(blob) / part_bytes))]
    for stale in [path, *path.parent.glob(f"{path.stem}.part*{path.suffix}")]:
        stale.unlink(missing_ok=True)        # a file of an earlier save must not be read back
    for k, p in enumerate(paths):
        p.write_bytes(blob[k * part_bytes:(k + 1) * part_bytes])
    return {"files": [p.name for p in paths], "bytes": len(blob),
            "sha256": hashlib.sha256(blob).hexdigest(), "dtype": "float16"}


def load_weights(path, sha256=None):
    """(SentimentNet in float32 with the float16 weights, Vocabulary, Config) from
    save_weights; ``path`` is the .npz (its parts NAME.part0.npz, ... are joined)."""
    import io
    path = Path(path)
    parts = [path] if path.exists() else sorted(
        path.parent.glob(f"{path.stem}.part*{path.suffix}"),
        key=lambda p: int(p.name[len(path.stem) + 5:-len(path.suffix)]))
    if not parts:
        raise FileNotFoundError(f"no weights at {path}")
    blob = b"".join(p.read_bytes() for p in parts)
    if sha256 is not None and hashlib.sha256(blob).hexdigest() != sha256:
        raise ValueError(f"{path} does not match its recorded sha256")
    with np.load(io.BytesIO(blob), allow_pickle=False) as f:
        config = Config(**json.loads(str(f["config"])))
        vocab = Vocabulary([])
        vocab.itos = [str(t) for t in f["vocab"]]
        vocab.stoi = {t: i for i, t in enumerate(vocab.itos)}
        net = SentimentNet(len(vocab), config)
        net.load_state_dict({k[len("param."):]: torch.from_numpy(f[k].astype(np.float32))
                             for k in f.files if k.startswith("param.")})
    return net.eval(), vocab, config


def round_to_float16(net):
    """A copy of the network whose weights are rounded to float16 (kept in float32)."""
    net16 = copy.deepcopy(net)
    with torch.no_grad():
        for p in net16.state_dict().values():
            p.copy_(p.half().float())
    return net16


def device_description(device) -> dict:
    device = torch.device(device)
    if device.type == "cuda":
        return {"device": torch.cuda.get_device_name(device), "cuda": torch.version.cuda,
                "torch": torch.__version__, "cudnn": torch.backends.cudnn.version()}
    return {"device": "cpu", "cuda": None, "torch": torch.__version__, "cudnn": None}


# ---------------------------------------------------------------- one run

def run(config: Config, source=None, device=None, progress=True, with_baselines=True):
    """Load, prepare, train, evaluate on the test set once, with baselines.
    Returns (result dict, trained network, prepared data)."""
    start = time.perf_counter()
    data = load_imdb(source)
    prepared = prepare(data, config)
    net, history = fit(prepared, config, device, progress)
    dev = next(net.parameters()).device
    test_acc, test_loss, _ = evaluate(net, *prepared["test"], dev)
    result = {"config": dataclasses.asdict(config), "history": history,
              "val_loss": min(history["val_loss"]),
              "val_accuracy": history["val_accuracy"][history["best_epoch"] - 1],
              "test_accuracy": test_acc, "test_loss": test_loss, "dtype": dtype_used(dev, config.tf32),
              "train_reviews": len(prepared["train"][1]), "vocab_size": len(prepared["vocab"]),
              **device_description(dev)}
    if with_baselines:
        result["baselines"] = baselines(data, prepared["train_index"])
    result["wall_time_s"] = time.perf_counter() - start
    return result, net, prepared


def baselines(data, train_index) -> dict:
    tr = data["train"]
    return {"majority": majority_baseline(tr.labels[train_index], data["test"].labels),
            "tfidf_logistic_regression": tfidf_baseline(
                [tr.texts[i] for i in train_index], tr.labels[train_index],
                data["test"].texts, data["test"].labels),
            "train_reviews": len(train_index)}


_TYPES = {"str": str, "int": int, "float": float, "int | None": int}


def _none_or(kind):
    return lambda s: None if s.lower() == "none" else kind(s)


def parse_command(argv):
    """The command line of ``python -m rnn_core.sentiment`` -> (arguments, Config).
    A preset's values are the defaults that the other flags override."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--preset", default="default", choices=sorted(PRESETS))
    preset = pre.parse_known_args(argv)[0].preset
    base = config_from(preset)
    parser = argparse.ArgumentParser(description="Train an IMDB sentiment RNN and record it.")
    parser.add_argument("--data", default=None, help="aclImdb archive or folder (else $RNN_BOOK_IMDB "
                                                     "or a download)")
    parser.add_argument("--preset", default="default", choices=sorted(PRESETS))
    parser.add_argument("--name", default="imdb_run", help="artifact name (without .json)")
    parser.add_argument("--dir", default=str(ARTIFACTS), help="where to write the artifact")
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument("--save-weights", action="store_true", help="also write <name>.npz")
    for field in dataclasses.fields(Config):
        flag = "--" + field.name.replace("_", "-")
        default = getattr(base, field.name)
        if field.type == "bool":
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default)
        elif "None" in field.type:
            parser.add_argument(flag, type=_none_or(_TYPES[field.type]), default=default)
        else:
            parser.add_argument(flag, type=_TYPES[field.type], default=default)
    args = parser.parse_args(argv)
    return args, Config(**{f.name: getattr(args, f.name) for f in dataclasses.fields(Config)})


def train_main(argv):
    args, config = parse_command(argv)
    commit = current_commit()                 # the code this run starts from
    result, net, prepared = run(config, args.data, with_baselines=not args.no_baselines)
    data = {"provenance": provenance(["python", "-m", "rnn_core.sentiment"] + list(argv),
                                     result.pop("wall_time_s"), commit=commit, seed=config.seed,
                                     device=result["device"], torch=result["torch"],
                                     cuda=result["cuda"], dtype=result["dtype"]),
            **result}
    path = Path(args.dir) / f"{args.name}.json"
    if args.save_weights:
        data["weights"] = save_weights(net, prepared["vocab"], config, path.with_suffix(".npz"))
    path = save_artifact(path.name, data, directory=args.dir)
    print(f"test accuracy {result['test_accuracy']:.4f}; wrote {path}")
    return path


# ---------------------------------------------------------------- the sweep

def _train_job(name, config_dict, source, workdir, device, threads, time_limit):
    """One run of the sweep, in its own process: train, keep the weights (.pt in
    workdir), return the validation result (the test set is not touched)."""
    torch.set_num_threads(threads)
    start = time.perf_counter()
    try:
        c = Config(**config_dict)
        data = load_imdb(source, splits=("train",))
        prepared = prepare(data, c)
        net, history = fit(prepared, c, device, progress=False, time_limit=time_limit)
        weights = Path(workdir) / f"{name}_seed{c.seed}.pt"
        torch.save(net.state_dict(), weights)
        dev = next(net.parameters()).device
        best = history["best_epoch"] - 1
        return {"name": name, "seed": c.seed, "config": dataclasses.asdict(c), "history": history,
                "val_loss": history["val_loss"][best], "val_accuracy": history["val_accuracy"][best],
                "weights": str(weights), "vocab_size": len(prepared["vocab"]),
                "dtype": dtype_used(dev, c.tf32),
                "train_reviews": len(prepared["train"][1]),
                "peak_memory_gib": (torch.cuda.max_memory_allocated(dev) / 2 ** 30
                                    if dev.type == "cuda" else None),
                "wall_time_s": time.perf_counter() - start}
    except Exception as err:               # an out-of-memory run is reported, not fatal
        return {"name": name, "seed": config_dict.get("seed"), "error": f"{type(err).__name__}: {err}",
                "wall_time_s": time.perf_counter() - start}


def _baselines_job(source, config_dict, threads):
    torch.set_num_threads(threads)
    c = Config(**config_dict)
    data = load_imdb(source)
    return baselines(data, split_indices(len(data["train"]), c)[0])


def _cpus() -> int:
    """The CPUs this process may use (affinity and cgroup quota), not the host's count."""
    from .threads import available_cpus
    return available_cpus()


def auto_parallel(device, n_runs, gib_per_run=6.0) -> int:
    """How many runs at a time: as many as fit in the GPU's free memory at
    ``gib_per_run`` each and in the CPU cores at two each (a 15 GiB T4: 2; an
    H200: all of a grid); on a CPU, one per two cores."""
    cores = _cpus()
    limit = max(1, cores // 2)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        limit = min(limit, max(1, int(free / 2 ** 30 // gib_per_run)))
    return max(1, min(n_runs, limit))


def _pool(parallel):
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor
    return ProcessPoolExecutor(max_workers=parallel, mp_context=mp.get_context("spawn"))


def parse_sweep(argv):
    parser = argparse.ArgumentParser(prog="python -m rnn_core.sentiment sweep",
                                     description="Validation sweep, 3 seeds of the best, test once, "
                                                 "numpy re-run, artifacts.")
    parser.add_argument("--data", default=None)
    parser.add_argument("--grid", default="gpu", choices=sorted(GRIDS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--parallel", type=_none_or(int), default=None,
                        help="runs at a time (default: from free GPU memory and CPU cores)")
    parser.add_argument("--budget-minutes", type=float, default=8.0,
                        help="wall-clock budget; the runs' epochs are planned to fit it")
    parser.add_argument("--name", default="imdb_gpu")
    parser.add_argument("--dir", default=str(ARTIFACTS))
    parser.add_argument("--workdir", default=None, help="scratch for checkpoints (default: DIR/.NAME)")
    parser.add_argument("--device", default=None)
    parser.add_argument("--commit", default=None,
                        help="the commit the code is at, when the copy it runs in is no git checkout")
    return parser.parse_args(argv)


def sweep_main(argv):
    """The prepared GPU command (see the module docstring). Budget: 40% of it
    for the sweep, 25% for the other seeds, the rest for loading, evaluation,
    the numpy re-run and writing."""
    start = time.perf_counter()
    args = parse_sweep(argv)
    commit = args.commit or current_commit()
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    budget = 60 * args.budget_minutes
    grid = [(name, config_from(preset, **over)) for name, preset, over in GRIDS[args.grid]]
    out_dir = Path(args.dir)
    workdir = Path(args.workdir or out_dir / f".{args.name}")
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        parallel = args.parallel or auto_parallel(device, len(grid))
        cores = _cpus()
        threads = max(1, cores // (parallel + 1))
        log = lambda msg: print(f"[{time.perf_counter() - start:6.1f} s] {msg}", flush=True)
        log(f"device {device_description(device)['device']}, {len(grid)} configurations, "
            f"{parallel} at a time, budget {budget:.0f} s")
        job = importlib.import_module("rnn_core.sentiment")      # picklable by name under -m
        with _pool(parallel + 1) as pool:
            base_future = pool.submit(job._baselines_job, args.data,
                                      dataclasses.asdict(grid[0][1]), 1)
            waves = math.ceil(len(grid) / parallel)
            limit = 0.40 * budget / waves
            futures = [pool.submit(job._train_job, name, dataclasses.asdict(c), args.data,
                                   str(workdir), str(device), threads, limit)
                       for name, c in grid]
            sweep = [f.result() for f in futures]
            for r in sweep:
                log(f"sweep {r['name']}: " + (r["error"] if "error" in r else
                    f"validation loss {r['val_loss']:.4f}, accuracy {r['val_accuracy']:.4f}, "
                    f"{len(r['history']['epoch'])} epochs, {r['wall_time_s']:.0f} s"))
            ok = [r for r in sweep if "error" not in r and r["name"] not in BASELINE_RUNS]
            if not ok:
                raise RuntimeError("every run of the sweep failed: " + "; ".join(
                    f"{r['name']}: {r.get('error')}" for r in sweep))
            chosen = min(ok, key=lambda r: r["val_loss"])
            log(f"chosen on validation loss: {chosen['name']}")
            # the other seeds train the same configuration for the same number of epochs
            same = dict(chosen["config"], epochs=chosen["history"]["epochs_planned"])
            seed_futures = [pool.submit(job._train_job, chosen["name"], dict(same, seed=s), args.data,
                                        str(workdir), str(device), threads,
                                        0.25 * budget / math.ceil((args.seeds - 1) / parallel))
                            for s in range(1, args.seeds)]
            seeds = [chosen] + [f.result() for f in seed_futures]
            base = base_future.result()
        failed = [r for r in seeds if "error" in r]
        if failed:
            raise RuntimeError("a seed of the chosen configuration failed: " + failed[0]["error"])
        log("seeds trained; evaluating on the test set once")

        data = load_imdb(args.data)
        c0 = Config(**chosen["config"])
        prepared = prepare(data, c0)
        test_x, test_y = prepared["test"]
        nets = []
        for r in seeds + [r for r in sweep if r["name"] in BASELINE_RUNS and "error" not in r]:
            net = SentimentNet(len(prepared["vocab"]), Config(**r["config"]))
            net.load_state_dict(torch.load(r["weights"], map_location="cpu"))
            net.to(device)
            acc, loss, _ = evaluate(net, test_x, test_y, device)
            r["test_accuracy"], r["test_loss"] = acc, loss
            nets.append(net)
        test = np.array([r["test_accuracy"] for r in seeds])
        reported_index = int(np.argmin([r["val_loss"] for r in seeds]))   # chosen on validation
        reported = seeds[reported_index]
        net = nets[reported_index]

        # the reported model, its weights rounded to float16 (as kept), in numpy float32
        net16 = round_to_float16(net).to(device)
        acc16, _, torch16 = evaluate(net16, test_x, test_y, device)
        t0 = time.perf_counter()
        workers = min(32, _cpus())
        ours = numpy_logits_parallel(net16, Config(**reported["config"]), test_x, workers)
        numpy_seconds = time.perf_counter() - t0
        parity = {"model": f"{reported['name']} seed {reported['seed']}, float16-rounded weights",
                  "reviews": len(test_x), "numpy_dtype": "float32",
                  "torch_dtype": "float32 (TF32 off)", "torch_device": str(device),
                  "max_abs_logit_difference": float(np.abs(ours - torch16).max()),
                  "class_agreement": float(np.mean(ours.argmax(1) == torch16.argmax(1))),
                  "test_accuracy_float16_weights": acc16,
                  "test_accuracy_numpy": float(np.mean(ours.argmax(1) == test_y)),
                  "numpy_seconds": numpy_seconds, "numpy_processes": workers}
        log(f"numpy re-run on {len(test_x)} test reviews: largest logit difference "
            f"{parity['max_abs_logit_difference']:.2e}, agreement {parity['class_agreement']:.4f}")
        weights = None
        if sum(p.numel() for p in net.state_dict().values()) * 2 <= WEIGHTS_LIMIT_BYTES:
            weights = save_weights(net, prepared["vocab"], Config(**reported["config"]),
                                   out_dir / f"{args.name}.npz")
            if weights["bytes"] > WEIGHTS_LIMIT_BYTES:
                for name in weights["files"]:
                    (out_dir / name).unlink()
                weights = None
        strip = lambda r: {k: v for k, v in r.items() if k != "weights"}
        result = {
            "kind": "sweep", "grid": args.grid,
            "sweep": [strip(r) for r in sweep],
            "chosen": chosen["name"], "selection": "lowest validation loss of the best epoch",
            "seeds": [strip(r) for r in seeds],
            "test_accuracy_mean": float(test.mean()), "test_accuracy_std": float(test.std(ddof=1))
            if len(test) > 1 else 0.0,
            "test_accuracy_min": float(test.min()), "test_accuracy_max": float(test.max()),
            "reported": {"seed": reported["seed"], "test_accuracy": reported["test_accuracy"],
                         "val_loss": reported["val_loss"], "val_accuracy": reported["val_accuracy"]},
            "parity": parity, "weights": weights, "baselines": base,
            "parallel": parallel, "budget_s": budget,
        }
        desc = device_description(device)
        data_out = {"provenance": provenance(
            ["python", "-m", "rnn_core.sentiment", "sweep"] + list(argv), time.perf_counter() - start,
            commit=commit, seed=[r["seed"] for r in seeds], device=desc["device"], torch=desc["torch"],
            cuda=desc["cuda"], cudnn=desc["cudnn"], dtype=dtype_used(device, c0.tf32),
            gpu_memory_gib=(torch.cuda.get_device_properties(device).total_memory / 2 ** 30
                            if device.type == "cuda" else None)),
            **result}
        path = save_artifact(f"{args.name}.json", data_out, directory=out_dir)
    finally:                      # the checkpoints go, whether the sweep ended or failed
        for name, _ in grid:
            for checkpoint in workdir.glob(f"{name}_seed*.pt"):
                checkpoint.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            workdir.rmdir()                           # when nothing else is in it
    log(f"test accuracy {test.mean():.4f} ± {result['test_accuracy_std']:.4f} over "
        f"{len(test)} seeds ({', '.join(f'{a:.4f}' for a in test)}); wrote {path}")
    return path


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["sweep"]:
        return sweep_main(argv[1:])
    return train_main(argv)


if __name__ == "__main__":
    main()
