"""Storage: one aiosqlite connection, numbered migrations, one small repository per aggregate."""

from bot.storage.db import Database

__all__ = ["Database"]
