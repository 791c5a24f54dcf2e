"""IMDB sentiment with PyTorch: the model, its training (CUDA when present,
else CPU), the baselines, the conversion back to rnn_core, and a command that
records a training run as an artifact with its provenance.

    python -m rnn_core.sentiment --data PATH --cell lstm --bidirectional \\
        --pooling mean --epochs 10 --name imdb_bilstm

Importing this module needs torch. Introduced in the chapter *IMDB sentiment
on a GPU*.
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import sys
import time

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from tqdm import tqdm   # text bars: live in Jupyter and Colab, plain on the website

from .artifacts import ARTIFACTS, current_commit, provenance, save_artifact
from .imdb import Vocabulary, length_buckets, load_imdb, pad, tokenize, validation_split
from .layers import Embedding, Recurrent, SequenceModel
from .torch_bridge import parameters_from_torch

MODULES = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


@dataclasses.dataclass
class Config:
    """Everything that defines a run (recorded in its artifact)."""
    cell: str = "lstm"
    bidirectional: bool = True
    pooling: str = "mean"             # 'last' (final states) or 'mean' (over real steps)
    num_layers: int = 1
    embed_dim: int = 128
    hidden: int = 128
    dropout: float = 0.3
    max_vocab: int = 30_000
    min_freq: int = 2
    max_len: int = 400
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-2
    clip_norm: float = 1.0
    epochs: int = 10
    patience: int = 2
    val_fraction: float = 0.1
    train_subset: int | None = None   # use only this many training reviews (CPU demos)
    seed: int = 0


class SentimentNet(nn.Module):
    """Embedding -> RNN/GRU/LSTM (packed, optionally bidirectional) -> last
    state or mean over real steps -> dropout -> Linear (2 logits)."""

    def __init__(self, vocab_size, c: Config):
        super().__init__()
        if c.cell not in MODULES:
            raise ValueError(f"cell must be one of {', '.join(map(repr, MODULES))}, got {c.cell!r}")
        if c.pooling not in ("last", "mean"):
            raise ValueError(f"pooling must be 'last' or 'mean', got {c.pooling!r}")
        self.pooling = c.pooling
        self.embedding = nn.Embedding(vocab_size, c.embed_dim, padding_idx=0)
        self.rnn = MODULES[c.cell](c.embed_dim, c.hidden, num_layers=c.num_layers,
                                   bidirectional=c.bidirectional,
                                   dropout=c.dropout if c.num_layers > 1 else 0.0)
        self.dropout = nn.Dropout(c.dropout)
        self.out = nn.Linear(c.hidden * (2 if c.bidirectional else 1), 2)

    def forward(self, ids, lengths):
        """ids (T, m) int64 with padding 0, lengths (m,) on the CPU -> logits (m, 2)."""
        emb = self.dropout(self.embedding(ids))
        packed = pack_padded_sequence(emb, lengths, enforce_sorted=False)
        out, h = self.rnn(packed)
        h_n = h[0] if isinstance(h, tuple) else h
        if self.pooling == "last":
            feats = torch.cat([h_n[-2], h_n[-1]], 1) if self.rnn.bidirectional else h_n[-1]
        else:
            padded, _ = pad_packed_sequence(out)                   # (T, m, dirs·n_a), zeros at pads
            feats = padded.sum(0) / lengths.to(padded.device, padded.dtype)[:, None]
        return self.out(self.dropout(feats))


def encode_reviews(texts, vocab, max_len):
    return [vocab.encode(tokenize(t))[:max_len] for t in texts]


def _batches(encoded, labels, batch_size, rng, shuffle):
    lengths = np.array([len(e) for e in encoded])
    if shuffle:
        groups = length_buckets(lengths, batch_size, rng)
    else:
        order = np.argsort(lengths, kind="stable")
        groups = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    for idx in groups:
        ids, lens, _ = pad([encoded[i] for i in idx])
        yield torch.from_numpy(ids.T.copy()), torch.from_numpy(lens), torch.from_numpy(labels[idx])


def evaluate(net, encoded, labels, device, batch_size=256):
    """Accuracy and logits (n, 2), in the original order."""
    net.eval()
    logits = np.zeros((len(encoded), 2), dtype=np.float32)
    lengths = np.array([len(e) for e in encoded])
    order = np.argsort(lengths, kind="stable")
    with torch.no_grad(), _autocast(device):
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            ids, lens, _ = pad([encoded[i] for i in idx])
            out = net(torch.from_numpy(ids.T.copy()).to(device), torch.from_numpy(lens))
            logits[idx] = out.float().cpu().numpy()
    return float((logits.argmax(1) == labels).mean()), logits


def _autocast(device):
    """Mixed precision on CUDA (bfloat16 needs no loss scaling); nothing on the CPU."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return torch.autocast("cpu", enabled=False)


def prepare(data, c: Config):
    """Tokenise, split off validation, build the vocabulary from training reviews only."""
    train = data["train"]
    tr_idx, va_idx = validation_split(len(train), c.val_fraction, seed=c.seed)
    if c.train_subset is not None:
        tr_idx = np.random.default_rng(c.seed).choice(tr_idx, size=c.train_subset, replace=False)
    tokens = [tokenize(train.texts[i]) for i in tr_idx]
    vocab = Vocabulary(tokens, min_freq=c.min_freq, max_size=c.max_vocab)
    out = {"vocab": vocab,
           "train": ([vocab.encode(t)[:c.max_len] for t in tokens], train.labels[tr_idx]),
           "val": (encode_reviews([train.texts[i] for i in va_idx], vocab, c.max_len),
                   train.labels[va_idx])}
    if "test" in data:
        out["test"] = (encode_reviews(data["test"].texts, vocab, c.max_len), data["test"].labels)
    return out


def fit(prepared, c: Config, device=None, progress=True):
    """Train with AdamW, clipping and early stopping on validation accuracy.
    Returns (best network, history)."""
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.manual_seed(c.seed)
    rng = np.random.default_rng(c.seed)
    net = SentimentNet(len(prepared["vocab"]), c).to(device)
    opt = torch.optim.AdamW(net.parameters(), lr=c.lr, weight_decay=c.weight_decay)
    loss_fn = nn.CrossEntropyLoss()
    (tr_x, tr_y), (va_x, va_y) = prepared["train"], prepared["val"]
    history = {"epoch": [], "train_loss": [], "val_accuracy": [], "tokens_per_second": []}
    best, best_acc, bad_epochs = None, -1.0, 0
    for epoch in range(1, c.epochs + 1):
        net.train()
        losses, tokens, start = [], 0, time.perf_counter()
        batches = list(_batches(tr_x, tr_y, c.batch_size, rng, shuffle=True))
        for ids, lens, y in tqdm(batches, desc=f"epoch {epoch}", disable=not progress, leave=False):
            with _autocast(device):
                loss = loss_fn(net(ids.to(device), lens), y.to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), c.clip_norm)
            opt.step()
            losses.append(loss.item())
            tokens += int(lens.sum())
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        acc, _ = evaluate(net, va_x, va_y, device)
        history["epoch"].append(epoch)
        history["train_loss"].append(float(np.mean(losses)))
        history["val_accuracy"].append(acc)
        history["tokens_per_second"].append(tokens / seconds)
        if progress:
            print(f"epoch {epoch}: train loss {np.mean(losses):.4f}, validation accuracy {acc:.4f}, "
                  f"{tokens / seconds:,.0f} tokens/s")
        if acc > best_acc:
            best, best_acc, bad_epochs = copy.deepcopy(net.state_dict()), acc, 0
        else:
            bad_epochs += 1
            if bad_epochs >= c.patience:
                break
    net.load_state_dict(best)
    return net, history


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


def to_rnn_core(net: SentimentNet, dtype=np.float64) -> SequenceModel:
    """The trained network as an rnn_core SequenceModel (eval mode: no dropout)."""
    rnn = net.rnn
    cell = {nn.LSTM: "lstm", nn.GRU: "gru", nn.RNN: "rnn"}[type(rnn)]
    rng = np.random.default_rng(0)
    E = net.embedding.weight.detach().cpu().double().numpy()
    rec = Recurrent(cell, rnn.input_size, rnn.hidden_size, rng, num_layers=rnn.num_layers,
                    bidirectional=rnn.bidirectional,
                    activation=getattr(rnn, "nonlinearity", "tanh"), dtype=dtype)
    model = SequenceModel(Embedding(E.shape[0], E.shape[1], rng, dtype), rec, 2,
                          head="last" if net.pooling == "last" else "mean")
    model.parameters["input.E"][:] = E.T
    cpu = copy.deepcopy(rnn).double().cpu()
    for k in range(rnn.num_layers):
        for d in range(2 if rnn.bidirectional else 1):
            prefix = f"rnn.l{k}" + ("_reverse" if d else "") + "."
            for name, value in parameters_from_torch(cpu, k, d).items():
                model.parameters[prefix + name][:] = value
    model.parameters["dense.W"][:] = net.out.weight.detach().cpu().double().numpy()
    model.parameters["dense.b"][:] = net.out.bias.detach().cpu().double().numpy()[:, None]
    return model


def device_description(device) -> dict:
    if device.type == "cuda":
        return {"device": torch.cuda.get_device_name(device), "cuda": torch.version.cuda,
                "torch": torch.__version__}
    return {"device": "cpu", "cuda": None, "torch": torch.__version__}


def run(config: Config, source=None, device=None, progress=True, with_baselines=True):
    """Load, prepare, train, evaluate on the test set once, with baselines.
    Returns (result dict, trained network, prepared data)."""
    start = time.perf_counter()
    data = load_imdb(source)
    prepared = prepare(data, config)
    net, history = fit(prepared, config, device, progress)
    dev = next(net.parameters()).device
    test_acc, _ = evaluate(net, *prepared["test"], dev)
    result = {"config": dataclasses.asdict(config), "history": history,
              "val_accuracy": max(history["val_accuracy"]), "test_accuracy": test_acc,
              "train_reviews": len(prepared["train"][1]), "vocab_size": len(prepared["vocab"]),
              **device_description(dev)}
    if with_baselines:
        tr = data["train"]
        idx = validation_split(len(tr), config.val_fraction, seed=config.seed)[0]
        result["baselines"] = {
            "majority": majority_baseline(tr.labels[idx], data["test"].labels),
            "tfidf_logistic_regression": tfidf_baseline([tr.texts[i] for i in idx], tr.labels[idx],
                                                        data["test"].texts, data["test"].labels)}
    result["wall_time_s"] = time.perf_counter() - start
    return result, net, prepared


def parse_command(argv):
    """The command line of ``python -m rnn_core.sentiment`` -> (arguments, Config)."""
    parser = argparse.ArgumentParser(description="Train an IMDB sentiment RNN and record it.")
    parser.add_argument("--data", default=None, help="aclImdb archive or folder (else $RNN_BOOK_IMDB "
                                                     "or a download)")
    parser.add_argument("--name", default="imdb_run", help="artifact name (without .json)")
    parser.add_argument("--dir", default=str(ARTIFACTS), help="where to write the artifact")
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument("--save-weights", action="store_true", help="also write <name>.pt")
    types = {"str": str, "int": int, "float": float, "int | None": int}
    for field in dataclasses.fields(Config):
        flag = "--" + field.name.replace("_", "-")
        if field.type == "bool":
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=field.default)
        else:
            parser.add_argument(flag, type=types[field.type], default=field.default)
    args = parser.parse_args(argv)
    return args, Config(**{f.name: getattr(args, f.name) for f in dataclasses.fields(Config)})


def main(argv=None):
    args, config = parse_command(argv)
    commit = current_commit()                 # the code this run starts from
    result, net, _ = run(config, args.data, with_baselines=not args.no_baselines)
    data = {"provenance": provenance(["python", "-m", "rnn_core.sentiment"] + list(argv or sys.argv[1:]),
                                     result.pop("wall_time_s"), commit=commit, seed=config.seed,
                                     device=result["device"], torch=result["torch"],
                                     cuda=result["cuda"]),
            **result}
    path = save_artifact(f"{args.name}.json", data, directory=args.dir)
    if args.save_weights:
        torch.save(net.state_dict(), path.with_suffix(".pt"))
    print(f"test accuracy {result['test_accuracy']:.4f}; wrote {path}")
    return path


if __name__ == "__main__":
    main()
