"""Character-level language modelling: the corpus (US census surnames), a
character vocabulary, minibatches for truncated BPTT with a carried state,
the unigram and bigram counting baselines, perplexity, and sampling with a
temperature.

The corpus is the 88,799 surnames of the 1990 US census (data of the US
Census Bureau, public domain), as shipped in ``dist.all.last`` by the PyPI
package ``names`` 0.3.0 (MIT licence); nothing is downloaded at run time.

Introduced in the chapter *A character-level language model*.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .activations import log_softmax, softmax
from .validation import check_positive_float, check_positive_int

END = "\n"      # ends every name; the model also reads it as "a name starts now"
TRAIN_WINDOW = 50   # a curve's training perplexity: over the last TRAIN_WINDOW training losses


def load_surnames() -> list[str]:
    """The census surnames, lower-case, most frequent first."""
    try:
        from importlib.resources import files
        text = (files("names") / "dist.all.last").read_text()
    except (ModuleNotFoundError, FileNotFoundError) as err:
        raise RuntimeError("the surname corpus comes with the PyPI package 'names': "
                           "pip install names==0.3.0") from err
    return [line.split()[0].lower() for line in text.splitlines() if line.strip()]


class CharVocab:
    """Characters <-> integer ids; id 0 is the end-of-name marker."""

    def __init__(self, texts):
        chars = sorted(set("".join(texts)) - {END})
        self.itos = [END] + chars
        self.stoi = {c: i for i, c in enumerate(self.itos)}

    @property
    def size(self) -> int:
        return len(self.itos)

    def encode(self, text: str) -> np.ndarray:
        unknown = sorted(set(text) - set(self.stoi))
        if unknown:
            raise ValueError(f"characters not in the vocabulary: {unknown!r}")
        return np.array([self.stoi[c] for c in text], dtype=np.int64)

    def decode(self, ids) -> str:
        return "".join(self.itos[int(i)] for i in ids)


def split(items, val_fraction, rng):
    """A random split into (train, validation) lists."""
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be between 0 and 1, got {val_fraction!r}")
    order = rng.permutation(len(items))
    n_val = int(round(len(items) * val_fraction))
    return [items[i] for i in order[n_val:]], [items[i] for i in order[:n_val]]


def to_stream(names, vocab: CharVocab) -> np.ndarray:
    """One long id sequence END name END name END …: every name follows an END."""
    return vocab.encode(END + END.join(names) + END)


def chunk_batches(stream: np.ndarray, m: int, k: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Cut the stream into m parallel rows and walk them in chunks of k steps.

    Yields (x, y), both (m, k) ids, y the next character of x. Consecutive
    chunks continue each row, so a model may carry its state from one chunk to
    the next (truncated BPTT with a carried state)."""
    m, k = check_positive_int("m", m), check_positive_int("k", k)
    per_row = (len(stream) - 1) // m
    if per_row < k:
        raise ValueError(f"a stream of {len(stream)} ids is too short for m={m} rows of k={k}")
    X = stream[:m * per_row].reshape(m, per_row)
    Y = stream[1:m * per_row + 1].reshape(m, per_row)
    for start in range(0, per_row - k + 1, k):
        yield X[:, start:start + k], Y[:, start:start + k]


def ngram_perplexities(train_stream, val_stream, vocab_size, alpha=1.0) -> dict[str, float]:
    """Validation perplexity of add-alpha smoothed unigram and bigram counts
    estimated on the training stream."""
    V = vocab_size
    uni = np.bincount(train_stream, minlength=V) + alpha
    p_uni = uni / uni.sum()
    bi = np.zeros((V, V)) + alpha
    np.add.at(bi, (train_stream[:-1], train_stream[1:]), 1)
    p_bi = bi / bi.sum(axis=1, keepdims=True)
    nll_uni = -np.log(p_uni[val_stream[1:]]).mean()
    nll_bi = -np.log(p_bi[val_stream[:-1], val_stream[1:]]).mean()
    return {"unigram": float(np.exp(nll_uni)), "bigram": float(np.exp(nll_bi))}


def perplexity(model, stream, m=64, k=64) -> float:
    """exp(mean cross-entropy per character) of a many-to-many SequenceModel on
    every target of a stream, stream[1:], reading it with the state carried.

    The stream is laid out as m rows of per_row = (len(stream) - 1) // m inputs
    (row r starts from a zero state at index r * per_row), each read in chunks
    of at most k (the last one may be shorter); the leftover tail
    stream[m * per_row:] is then read as one more row that continues the last
    row from its final state. So exactly len(stream) - 1 targets are scored, the
    same ones an n-gram model scores with history_starts=r * per_row
    (``rnn_core.ngram.chunk_coverage(len(stream), m, k)[1]``)."""
    m, k = check_positive_int("m", m), check_positive_int("k", k)
    per_row = (len(stream) - 1) // m
    if per_row < 1:
        raise ValueError(f"a stream of {len(stream)} ids is too short for m={m} rows")
    X = stream[:m * per_row].reshape(m, per_row)
    Y = stream[1:m * per_row + 1].reshape(m, per_row)
    state, total, count = None, 0.0, 0

    def score(x, y, initial):
        nonlocal total, count
        logp = log_softmax(model.forward(x, initial=initial))
        total -= np.take_along_axis(logp, y[None], axis=0).sum()
        count += y.size
        return model.recurrent.final_states

    for start in range(0, per_row, k):
        state = score(X[:, start:start + k], Y[:, start:start + k], state)
    tail = stream[m * per_row:]
    if len(tail) > 1:                   # the last row's state, as a batch of one
        state = [(a[:, -1:], None if c is None else c[:, -1:]) for a, c in state]
        for start in range(0, len(tail) - 1, k):
            state = score(tail[None, start:min(start + k, len(tail) - 1)],
                          tail[None, start + 1:start + k + 1], state)
    if count != len(stream) - 1:
        raise AssertionError(f"scored {count} of {len(stream) - 1} targets")
    return float(np.exp(total / count))


def sample(model, vocab: CharVocab, rng, temperature=1.0, max_length=30) -> str:
    """One name drawn from the model, one character at a time, from a zero state
    and the END marker, with logits divided by ``temperature``."""
    check_positive_float("temperature", temperature)
    state, ids = None, [0]
    for _ in range(max_length):
        logits = model.forward(np.array([[ids[-1]]]), initial=state)[:, 0, 0]
        state = model.recurrent.final_states
        p = softmax(logits / temperature)
        nxt = int(rng.choice(len(p), p=p))
        if nxt == 0:
            break
        ids.append(nxt)
    return vocab.decode(ids[1:])


def train_language_model(cell, train_stream, val_stream, vocab_size, *, embed=16, units=64,
                         m=64, k=32, lr=0.005, clip=5.0, epochs=1, eval_every=200, seed=0,
                         on_eval=None, progress=True, max_steps=None):
    """Train embedding -> one recurrent layer of ``cell`` -> softmax on the next
    character, with Adam, clipping by global norm and truncated BPTT over
    chunk_batches(train_stream, m, k), the state carried between chunks (reset
    at every pass). Every ``eval_every`` steps (and at the end of each pass) the
    validation perplexity is measured; ``on_eval(model, steps, curve)`` is
    called after it. ``max_steps`` stops training after that many steps (and
    evaluates there). Returns (model, curve) with curve = {"step", "train"
    (perplexity of the last TRAIN_WINDOW training losses), "val"} lists."""
    from .layers import Embedding, Recurrent, SequenceModel
    from .optim import Adam
    from .training import train

    rng = np.random.default_rng(seed)
    model = SequenceModel(Embedding(vocab_size, embed, rng), Recurrent(cell, embed, units, rng),
                          vocab_size, head="all", seed=seed)
    optimizer, state = Adam(lr), {"carried": None}

    def step(parameters, batch):
        loss, grads = model.loss_and_gradients(*batch, initial=state["carried"])
        state["carried"] = model.recurrent.final_states
        return loss, grads

    curve, steps = {"step": [], "train": [], "val": []}, 0
    batches = list(chunk_batches(train_stream, m, k))
    for epoch in range(check_positive_int("epochs", epochs)):
        state["carried"] = None
        for start in range(0, len(batches), eval_every):
            stop = start + eval_every if max_steps is None else \
                min(start + eval_every, start + max_steps - steps)
            if stop <= start:
                return model, curve
            history = train(step, model.parameters, optimizer, batches[start:stop],
                            clip_norm=clip, desc=f"{cell} epoch {epoch + 1}", progress=progress)
            steps += len(history["loss"])
            curve["step"].append(steps)
            curve["train"].append(float(np.exp(np.mean(history["loss"][-TRAIN_WINDOW:]))))
            curve["val"].append(perplexity(model, val_stream))
            if on_eval is not None:
                on_eval(model, steps, curve)
    return model, curve


LONG_RUN = dict(embed=16, units=64, m=64, k=32, lr=0.005, clip=5.0, epochs=5, eval_every=200,
                seed=0)


def corpus_streams():
    """The chapter's split: (vocab, train_stream, val_stream)."""
    names = load_surnames()
    vocab = CharVocab(names)
    train_names, val_names = split(names, 0.1, np.random.default_rng(0))
    return vocab, to_stream(train_names, vocab), to_stream(val_names, vocab)


def record_long_run(argv=None):
    """python -m rnn_core.charlm [--epochs E] [--seeds S ...] [--lr LR] [--cells C ...]
    [--name NAME]: the chapter's networks (default all three cells) trained for
    LONG_RUN["epochs"] passes (one run per seed; LONG_RUN's learning rate unless
    --lr), their learning curves written with provenance to rnn_core/artifacts/NAME
    (default charlm_long.json)."""
    import argparse
    import time

    from .artifacts import cpu_name, current_commit, load_average, provenance, save_artifact
    parser = argparse.ArgumentParser(description=record_long_run.__doc__)
    parser.add_argument("--epochs", type=int, default=LONG_RUN["epochs"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[LONG_RUN["seed"]],
                        help="one run per seed; more than one: curves[cell][str(seed)]")
    parser.add_argument("--lr", type=float, default=LONG_RUN["lr"])
    parser.add_argument("--cells", nargs="+", default=["rnn", "gru", "lstm"],
                        choices=["rnn", "gru", "lstm"])
    parser.add_argument("--name", default="charlm_long.json")
    args = parser.parse_args(argv)
    config = dict(LONG_RUN, epochs=args.epochs, lr=args.lr)
    if len(args.seeds) > 1:
        config["seed"] = args.seeds
    commit, start = current_commit(), time.time()
    vocab, train_stream, val_stream = corpus_streams()
    curves = {}
    for cell in args.cells:
        for seed in args.seeds:
            _, curve = train_language_model(cell, train_stream, val_stream, vocab.size,
                                            progress=False, **dict(config, seed=seed))
            if len(args.seeds) > 1:
                curves.setdefault(cell, {})[str(seed)] = curve
            else:
                curves[cell] = curve
            print(cell, seed, curve["val"], flush=True)
    data = {"provenance": provenance(["python", "-m", "rnn_core.charlm"] + list(argv or []),
                                     time.time() - start, commit, cpu=cpu_name(),
                                     load_average_after=load_average()),
            "config": config, "curves": curves}
    print(save_artifact(args.name, data))


if __name__ == "__main__":
    import sys
    record_long_run(sys.argv[1:])
