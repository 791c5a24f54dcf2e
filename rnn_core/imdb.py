"""The IMDB Large Movie Review Dataset (Maas et al. 2011): loading, tokenising,
vocabulary, numericalisation, padding and length bucketing.

Data sources, in this order:
1. ``source`` given to :func:`load_imdb`: the official ``aclImdb_v1.tar.gz`` (or
   any archive with its layout) or its extracted folder;
2. the environment variable ``RNN_BOOK_IMDB``, with the same meaning;
3. the official archive from its Stanford home, downloaded once into the
   cache folder, checked against its published checksums and moved into
   place atomically, so an interrupted or corrupt download never leaves a
   broken cache.

Introduced in the chapter *IMDB sentiment on a GPU*.
"""
from __future__ import annotations

import hashlib
import os
import re
import tarfile
import tempfile
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

OFFICIAL_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
# Published checksums of aclImdb_v1.tar.gz (the MD5 used by torchtext and
# PaddlePaddle, the SHA-1 used by Dive into Deep Learning's data hub).
OFFICIAL_MD5 = "7c2ac02c03563afcf9b574c7e56c153a"
OFFICIAL_SHA1 = "01ada507287d82875905620988597833ad4e0903"
ENV_VAR = "RNN_BOOK_IMDB"
SPLITS = ("train", "test")
_MEMBER = re.compile(r"(?:^|/)aclImdb/(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")
WHAT_TO_DO = (f"pass the path of aclImdb_v1.tar.gz or of its extracted folder to load_imdb(), "
              f"or set {ENV_VAR} to it, or let load_imdb() download it from {OFFICIAL_URL}")


def default_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rnn_book"


def _hashes(path: Path) -> tuple[str, str]:
    md5, sha1 = hashlib.md5(), hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            md5.update(block)
            sha1.update(block)
    return md5.hexdigest(), sha1.hexdigest()


def download_archive(cache_dir=None, url=OFFICIAL_URL, md5=OFFICIAL_MD5, sha1=OFFICIAL_SHA1,
                     progress=True) -> Path:
    """The official archive in the cache, downloading and verifying it if needed.

    The download goes to a temporary file in the cache folder and replaces the
    final name only after both checksums match."""
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    target = cache / Path(url).name
    if target.exists() and _hashes(target) == (md5, sha1):
        return target
    cache.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=cache, prefix=target.name, suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
            total = int(response.headers.get("Content-Length") or 0)
            from tqdm.auto import tqdm
            with tqdm(total=total or None, unit="B", unit_scale=True, disable=not progress,
                      desc=f"downloading {target.name}") as bar:
                for block in iter(lambda: response.read(1 << 20), b""):
                    out.write(block)
                    bar.update(len(block))
        got = _hashes(tmp)
        if got != (md5, sha1):
            raise ValueError(f"the download of {url} is corrupt (md5 {got[0]}, expected {md5}); "
                             "nothing was cached: try again")
        os.replace(tmp, target)
        return target
    except OSError as err:                   # no network, DNS failure, refused, timed out
        raise ConnectionError(f"could not download {url} ({err}); nothing was cached. "
                              f"Without a network, {WHAT_TO_DO.split(', or let')[0]}") from err
    finally:
        tmp.unlink(missing_ok=True)


@dataclass
class Reviews:
    """One split: texts, labels (1 positive, 0 negative) and star ratings."""
    texts: list[str]
    labels: np.ndarray
    ratings: np.ndarray

    def __len__(self):
        return len(self.texts)


def _read_archive(path: Path, splits) -> dict[str, list]:
    found = {s: [] for s in splits}
    try:
        with tarfile.open(path, "r:*") as tar:
            for member in tar:
                match = _MEMBER.search(member.name)
                if not match or match.group(1) not in found or not member.isfile():
                    continue
                text = tar.extractfile(member).read().decode("utf-8")
                found[match.group(1)].append((int(match.group(3)), match.group(2), int(match.group(4)), text))
    except (tarfile.TarError, EOFError, OSError, UnicodeDecodeError) as err:
        raise ValueError(f"the archive {path} is truncated or corrupt ({type(err).__name__}: "
                         f"{err}); delete it and {WHAT_TO_DO}") from err
    return found


def _read_folder(path: Path, splits) -> dict[str, list]:
    root = path / "aclImdb" if (path / "aclImdb").is_dir() else path
    found = {s: [] for s in splits}
    for split_name in splits:
        for polarity in ("pos", "neg"):
            folder = root / split_name / polarity
            if not folder.is_dir():
                continue
            for file in folder.glob("*_*.txt"):
                rid, rating = file.stem.split("_")
                found[split_name].append((int(rid), polarity, int(rating),
                                          file.read_text(encoding="utf-8")))
    return found


def resolve_source(source=None, download=True, cache_dir=None) -> Path:
    """Where the data is: the argument, else $RNN_BOOK_IMDB, else the (downloaded) cache."""
    if source is None:
        source = os.environ.get(ENV_VAR)
    if source is not None:
        path = Path(source).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"no IMDB data at {path}: {WHAT_TO_DO}")
        return path
    if not download:
        raise FileNotFoundError(f"no IMDB data given and downloading is off: {WHAT_TO_DO}")
    return download_archive(cache_dir)


def load_imdb(source=None, splits=SPLITS, download=True, cache_dir=None) -> dict[str, Reviews]:
    """{'train': Reviews, 'test': Reviews} from an archive or folder in the
    official layout (aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt). Other
    files (unsup/, the bag-of-words files) are ignored. Reviews are ordered by
    polarity and id, so the result does not depend on the archive's order."""
    bad = [s for s in splits if s not in SPLITS]
    if bad:
        raise ValueError(f"splits must be among {SPLITS}, got {bad}")
    path = resolve_source(source, download, cache_dir)
    found = _read_folder(path, splits) if path.is_dir() else _read_archive(path, splits)
    out = {}
    for split_name, rows in found.items():
        polarities = {r[1] for r in rows}
        if polarities != {"pos", "neg"}:
            raise ValueError(f"{path} does not have the aclImdb layout: no reviews in "
                             f"{split_name}/{'pos' if 'pos' not in polarities else 'neg'}; "
                             f"{WHAT_TO_DO}")
        rows.sort(key=lambda r: (r[1] != "pos", r[0]))
        out[split_name] = Reviews(texts=[r[3] for r in rows],
                                  labels=np.array([r[1] == "pos" for r in rows], dtype=np.int64),
                                  ratings=np.array([r[2] for r in rows], dtype=np.int64))
    return out


_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[^\sa-z0-9]")


def tokenize(text: str) -> list[str]:
    """Lower-case, drop the reviews' <br /> tags, split words (keeping
    contractions such as don't) and punctuation into separate tokens."""
    text = re.sub(r"<br\s*/?>", " ", text.lower())
    return _TOKEN.findall(text)


class Vocabulary:
    """Tokens -> ids; 0 is padding, 1 stands for any token not in the vocabulary.
    Built from training texts only, keeping tokens with at least ``min_freq``
    occurrences, the ``max_size`` most frequent (ties broken alphabetically)."""

    PAD, UNK = "<pad>", "<unk>"

    def __init__(self, token_lists, min_freq=2, max_size=None):
        counts = Counter(t for tokens in token_lists for t in tokens)
        kept = sorted((t for t, c in counts.items() if c >= min_freq), key=lambda t: (-counts[t], t))
        if max_size is not None:
            kept = kept[:max(0, max_size - 2)]
        self.itos = [self.PAD, self.UNK] + kept
        self.stoi = {t: i for i, t in enumerate(self.itos)}

    def __len__(self):
        return len(self.itos)

    def encode(self, tokens) -> np.ndarray:
        return np.array([self.stoi.get(t, 1) for t in tokens], dtype=np.int64)

    def decode(self, ids) -> list[str]:
        return [self.itos[int(i)] for i in ids]


def validation_split(n, val_fraction=0.1, seed=0):
    """Indices (train, validation) of a seeded random split of n examples."""
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be between 0 and 1, got {val_fraction!r}")
    order = np.random.default_rng(seed).permutation(n)
    n_val = int(round(n * val_fraction))
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def pad(sequences, max_len=None):
    """Id arrays -> ids (m, T) padded with 0 at the end, lengths (m,), mask (m, T).
    ``max_len`` truncates longer sequences (keeping their beginning)."""
    seqs = [s[:max_len] if max_len else s for s in sequences]
    lengths = np.array([max(len(s), 1) for s in seqs])
    T = int(lengths.max())
    ids = np.zeros((len(seqs), T), dtype=np.int64)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = s
    mask = (np.arange(T)[None, :] < lengths[:, None]).astype(np.float64)
    return ids, lengths, mask


def length_buckets(lengths, batch_size, rng, pool=50):
    """Batches of indices whose sequences have similar lengths (less padding):
    shuffle, sort each pool of ``pool`` batches by length, cut into batches,
    shuffle the batches."""
    order = rng.permutation(len(lengths))
    batches = []
    span = batch_size * pool
    for start in range(0, len(order), span):
        chunk = order[start:start + span]
        chunk = chunk[np.argsort(np.asarray(lengths)[chunk], kind="stable")]
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]
