"""HTML pages, one router per resource; ``page_routers()`` lists them for create_app."""

from __future__ import annotations

from fastapi import APIRouter


def page_routers() -> list[APIRouter]:
    """Every HTML router, in the order create_app mounts them."""
    from . import (
        account_lifecycle,
        accounts,
        admin,
        channels,
        citations,
        collection_notes,
        collections,
        comments,
        feeds,
        following,
        for_you,
        notifications,
        papers,
        people,
        search,
        submit,
        subscriptions,
        theme,
        verify,
    )

    return [
        feeds.router,
        citations.router,  # before papers: /papers/{id}.bib is not a paper page
        papers.router,
        comments.router,
        notifications.router,
        channels.router,
        search.router,
        people.router,
        collections.router,
        collection_notes.router,
        submit.router,
        accounts.router,
        account_lifecycle.router,
        verify.router,
        admin.router,
        subscriptions.router,
        for_you.router,
        following.router,
        theme.router,
    ]
