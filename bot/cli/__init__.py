"""The `steward` command line: the parser in bot/cli/main.py, one module per subcommand.

    run          bot/cli/run.py           check        bot/cli/check.py
    cases        bot/cli/cases.py         communities  bot/cli/communities.py
    faq          bot/cli/faq.py           posts        bot/cli/posts.py
    stats        bot/cli/stats.py         analyze      bot/cli/analyze.py
    demo         bot/cli/demo.py

The commands that read or write the database open the bot's own services
(:func:`bot.cli.common.offline_services`, built by :func:`bot.composition.build_services`) with an offline
Telegram side (bot/cli/offline.py) that refuses, with a clear error, anything that would reach Telegram.
"""
