"""The managers' dashboard: a Telegram Mini App and the same pages in any browser (docs/dashboard.md).

A second thin front-end over the services the handlers use (bot.composition.Services); see web.py for
who may ask, views_*.py for the pages, and bot/services/dashboard*.py for what they may see and do.
"""
