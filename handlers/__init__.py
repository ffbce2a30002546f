"""aiogram routers: Telegram in and out, thin. Each module exposes build_router()."""
