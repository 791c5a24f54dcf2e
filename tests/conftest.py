import pytest

from tests.book_build import build


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    """The book with every chapter executed once and built strictly (minutes)."""
    return build(tmp_path_factory.mktemp("book"))
