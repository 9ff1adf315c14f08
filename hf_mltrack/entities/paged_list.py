"""A list with the token of the next page."""

from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")


class PagedList(list, Generic[T]):
    """A page of results; `token` is the page token of the next page, or None on the last."""

    def __init__(self, items: list[T], token: str | None) -> None:
        super().__init__(items)
        self.token = token
