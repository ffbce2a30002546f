"""``steward demo``: the real bot, against the sandbox Bot API on 127.0.0.1, on a scripted community.

:mod:`.runner` plays the scenes and checks each outcome, :mod:`.transcript` prints what people and the
bot did, :mod:`.stand_ins` holds the small keyword model used with ``--fast`` (or when the bundled model
cannot load); the command is :mod:`bot.cli.demo`.
"""
