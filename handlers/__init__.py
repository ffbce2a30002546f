"""aiogram routers: Telegram in and out, thin. Each feature module exposes build_router();
``build_routers()`` puts them in order and gives each the one rights check (handlers/rights.py)."""

from __future__ import annotations

from aiogram import Router


def build_routers() -> list[Router]:
    """Every router, in the order the dispatcher tries them: commands and membership before the
    catch-all community handler, the fallback for buttons nobody took, and last the errors handler."""
    from handlers import (
        access,
        common,
        community,
        dashboard,
        errors,
        escalation,
        fallback,
        faq,
        feeds,
        growth,
        membership,
        moderation,
        posts,
    )
    from handlers.rights import RightsMiddleware

    features = [
        common.build_router(),
        access.build_router(),
        dashboard.build_router(),
        membership.build_router(),
        growth.build_router(),
        posts.build_router(),
        feeds.build_router(),
        moderation.build_router(),
        escalation.build_router(),
        faq.build_router(),
        community.build_router(),
        fallback.build_router(),  # buttons nobody else took get an answer
    ]
    rights = RightsMiddleware()
    for feature in features:
        for router in feature.chain_tail:  # the router and any it includes
            # Inner: runs once a handler's filters matched, so it sees that handler's ``rights`` flag. Only
            # where some handler has one: the catch-all community handler pays nothing per message.
            for observer in router.observers.values():
                if any("rights" in handler.flags for handler in observer.handlers):
                    observer.middleware(rights)
    return [*features, errors.build_router()]
