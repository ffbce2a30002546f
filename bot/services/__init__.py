"""Application logic. Services never import aiogram: they speak bot.domain types."""
