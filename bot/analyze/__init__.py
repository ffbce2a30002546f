"""``steward analyze EXPORT.json``: offline analysis of a Telegram Desktop chat export.

:mod:`.export` reads the file, :mod:`.engine` computes the figures (sentiment, questions, threads,
FAQ candidates), :mod:`.report` draws the charts and writes the HTML report; the command is :mod:`bot.cli.analyze`.
"""
