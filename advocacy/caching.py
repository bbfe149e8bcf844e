"""Cache-Control for the pages that show what a person wrote or who they are."""

from __future__ import annotations

from collections.abc import Iterable

from flask import Blueprint, Response, request


def never_store(bp: Blueprint, endpoints: Iterable[str]) -> None:
    """Answer these endpoints with `Cache-Control: no-store`, error pages included.

    A page holding someone's name, address or words must not stay in a browser's cache
    (a shared or seized computer), a proxy's, or the back-forward cache, where the back
    button would show it again after the person has left.
    """
    private = frozenset(endpoints)

    @bp.after_request
    def _no_store(response: Response) -> Response:
        if request.endpoint in private:
            response.headers["Cache-Control"] = "no-store"
        return response
