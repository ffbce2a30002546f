"""Everything that talks to Telegram on the services' behalf: the outbox, links, splitting.

This package's ``__init__`` imports nothing, on purpose: services import :mod:`bot.telegram.links` and
:mod:`bot.telegram.split` (plain text helpers), and must not drag aiogram in through
:mod:`bot.telegram.outbox`. Import the submodule you need.
"""
