"""IMDB data: small archives in the official layout built here, every source,
every failure, and the text pipeline."""
import hashlib
import io
import tarfile
from pathlib import Path

import numpy as np
import pytest

from rnn_core.imdb import (ENV_VAR, Vocabulary, download_archive, length_buckets, load_imdb,
                           pad, tokenize, validation_split)

REVIEWS = {
    ("train", "pos", 0, 9): "A great film.<br /><br />I loved it!",
    ("train", "pos", 1, 7): "Good, not great; don't miss it.",
    ("train", "neg", 0, 2): "Dull. I couldn't finish it.",
    ("train", "neg", 3, 1): "Awful <br />acting, awful plot.",
    ("test", "pos", 5, 10): "Masterpiece.",
    ("test", "neg", 2, 4): "Meh.",
}


def make_archive(path: Path, reviews=REVIEWS, extra=True):
    with tarfile.open(path, "w:gz") as tar:
        def add(name, text):
            data = text.encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for (split, pol, rid, rating), text in reviews.items():
            add(f"aclImdb/{split}/{pol}/{rid}_{rating}.txt", text)
        if extra:                                  # present in the official archive, ignored
            add("aclImdb/train/unsup/0_0.txt", "unlabelled")
            add("aclImdb/imdb.vocab", "the\nand\n")
            add("aclImdb/train/labeledBow.feat", "0 0:1\n")
    return path


def make_folder(root: Path, reviews=REVIEWS):
    for (split, pol, rid, rating), text in reviews.items():
        d = root / "aclImdb" / split / pol
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{rid}_{rating}.txt").write_text(text)
    return root


def check(data):
    train, test = data["train"], data["test"]
    assert len(train) == 4 and len(test) == 2
    assert train.texts[0] == "A great film.<br /><br />I loved it!"      # pos first, by id
    np.testing.assert_array_equal(train.labels, [1, 1, 0, 0])
    np.testing.assert_array_equal(train.ratings, [9, 7, 2, 1])
    np.testing.assert_array_equal(test.labels, [1, 0])


def test_archive_folder_and_environment_give_the_same(tmp_path, monkeypatch):
    check(load_imdb(make_archive(tmp_path / "a.tar.gz"), download=False))
    check(load_imdb(make_folder(tmp_path / "f"), download=False))
    check(load_imdb(tmp_path / "f" / "aclImdb", download=False))
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "a.tar.gz"))
    check(load_imdb(download=False))


def test_missing_truncated_and_wrong_layout(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    with pytest.raises(FileNotFoundError, match="no IMDB data at .*nowhere.tar.gz: pass the path"):
        load_imdb(tmp_path / "nowhere.tar.gz")
    with pytest.raises(FileNotFoundError, match="downloading is off"):
        load_imdb(download=False)
    full = make_archive(tmp_path / "full.tar.gz").read_bytes()
    (tmp_path / "cut.tar.gz").write_bytes(full[:len(full) // 2])
    with pytest.raises(ValueError, match="cut.tar.gz is truncated or corrupt .* delete it"):
        load_imdb(tmp_path / "cut.tar.gz")
    (tmp_path / "junk.tar.gz").write_bytes(b"this is not an archive")
    with pytest.raises(ValueError, match="truncated or corrupt"):
        load_imdb(tmp_path / "junk.tar.gz")
    no_neg = {k: v for k, v in REVIEWS.items() if not (k[0] == "test" and k[1] == "neg")}
    with pytest.raises(ValueError, match="does not have the aclImdb layout: no reviews in test/neg"):
        load_imdb(make_archive(tmp_path / "noneg.tar.gz", no_neg))
    with pytest.raises(ValueError, match="splits must be among"):
        load_imdb(tmp_path / "full.tar.gz", splits=("dev",))


def test_download_is_verified_and_atomic(tmp_path):
    src = make_archive(tmp_path / "aclImdb_v1.tar.gz")
    data = src.read_bytes()
    md5, sha1 = hashlib.md5(data).hexdigest(), hashlib.sha1(data).hexdigest()
    cache = tmp_path / "cache"
    with pytest.raises(ValueError, match="is corrupt .* nothing was cached"):
        download_archive(cache, url=src.as_uri(), md5="0" * 32, sha1=sha1, progress=False)
    assert list(cache.iterdir()) == []                       # no partial file left behind
    got = download_archive(cache, url=src.as_uri(), md5=md5, sha1=sha1, progress=False)
    assert got.read_bytes() == data and [p.name for p in cache.iterdir()] == [got.name]
    check(load_imdb(got))
    src.write_bytes(b"changed at the source")                 # a valid cache is reused
    assert download_archive(cache, url=src.as_uri(), md5=md5, sha1=sha1, progress=False) == got


def test_tokenize():
    assert tokenize("A great film.<br /><br />I loved it!") == \
        ["a", "great", "film", ".", "i", "loved", "it", "!"]
    assert tokenize("Don't MISS it, it's 10/10") == \
        ["don't", "miss", "it", ",", "it's", "10", "/", "10"]


def test_vocabulary_from_training_texts():
    tokens = [["b", "a", "a", "c"], ["a", "b", "d"]]
    v = Vocabulary(tokens, min_freq=2)
    assert v.itos == ["<pad>", "<unk>", "a", "b"]            # c, d seen once; a before b
    np.testing.assert_array_equal(v.encode(["a", "z", "b"]), [2, 1, 3])
    assert Vocabulary(tokens, min_freq=1, max_size=4).itos == ["<pad>", "<unk>", "a", "b"]
    assert v.decode([3, 2]) == ["b", "a"]


def test_pad_buckets_and_split():
    ids, lengths, mask = pad([np.array([5, 6, 7]), np.array([8]), np.array([9, 9, 9, 9, 9])],
                             max_len=4)
    np.testing.assert_array_equal(ids, [[5, 6, 7, 0], [8, 0, 0, 0], [9, 9, 9, 9]])
    np.testing.assert_array_equal(lengths, [3, 1, 4])
    np.testing.assert_array_equal(mask.sum(axis=1), lengths)
    rng = np.random.default_rng(0)
    lens = rng.integers(1, 500, 1000)
    batches = length_buckets(lens, 32, rng)
    np.testing.assert_array_equal(np.sort(np.concatenate(batches)), np.arange(1000))
    spread = np.mean([np.ptp(lens[b]) for b in batches])
    assert spread < 0.2 * np.ptp(lens)                        # similar lengths within a batch
    tr, va = validation_split(1000, 0.1, seed=3)
    assert len(va) == 100 and not set(tr) & set(va)
    np.testing.assert_array_equal(validation_split(1000, 0.1, seed=3)[1], va)


SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "imdb" / "aclImdb_labelled.tar.gz"


@pytest.mark.skipif(not SHARED.exists(), reason="the full IMDB archive is not beside the checkout")
def test_the_full_labelled_archive():
    data = load_imdb(SHARED, download=False)
    for split in ("train", "test"):
        assert len(data[split]) == 25_000 and data[split].labels.sum() == 12_500
        assert set(data[split].ratings[data[split].labels == 1]) <= {7, 8, 9, 10}


def test_failed_download_says_what_to_do(tmp_path):
    with pytest.raises(ConnectionError, match="could not download .* nothing was cached. "
                                              "Without a network, pass the path"):
        download_archive(tmp_path / "cache", url=(tmp_path / "missing.tar.gz").as_uri(),
                         progress=False)
    assert not any((tmp_path / "cache").iterdir())
