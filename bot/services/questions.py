"""Is this message a question someone wants answered? English, Russian and Hebrew.

Rules, in order:

1. Greetings, thanks, "ok"/"lol" and other chit-chat never count, with or without a question
   mark ("How are you?", "Как дела?", "מה נשמע?" are small talk, not support questions).
2. A leading greeting is stripped first, so "Hi all, how do I reset my password?" still counts.
3. What is left counts when it has at least ``MIN_WORDS`` words and either ends with a question
   mark (also inside the text: "where is the form? I looked everywhere"), or starts with an
   interrogative or a request for help ("how do I", "подскажите", "איך", "מישהו יודע").

Statements ("The meetup is on Friday.") never count, even when they contain a question word
somewhere in the middle. The detector is deliberately conservative: a missed question costs an
unanswered message (the manager still sees it), a false one makes the bot talk out of turn.
"""

from __future__ import annotations

import unicodedata

from bot.textsafety import END_OF_WORD, WORD_CHAR, compile_pattern

__all__ = ["MIN_WORDS", "is_question", "is_small_talk", "normalise"]

MIN_WORDS = 3

# Everything below runs on member text: RE2 (linear time) for the alternations, Python's engine only
# for character-class runs that cannot backtrack (see bot/textsafety.py).
_WORD = compile_pattern(
    r"[^\W_]+(?:[-'’][^\W_]+)*",
    name="questions.word",
    engine="re",
    why="runs of one class; each optional group starts with a separator the class excludes",
)
_QUESTION_MARKS = ("?", "？", "¿", ";")  # ";" is the Greek question mark; harmless elsewhere at the end
_URL = compile_pattern(
    r"https?://\S+|www\.\S+|@\w+|/\w+",
    name="questions.url",
    engine="re",
    ignorecase=True,
    why="alternatives start with distinct text and end in one greedy run with nothing after it",
)

# Whole-message small talk (after lowercasing, punctuation and emoji removed).
_CHITCHAT = [
    # en
    r"how are (?:you|u|ya|things|we)(?: all| guys| doing| today)*",
    r"how(?:'?s| is) (?:it going|everyone|everybody|life|your day|things)",
    r"what'?s up",
    r"wh?at'?s new",
    r"sup",
    r"how do you do",
    r"you ok",
    r"are you (?:ok|there|a bot|alive|real)",
    r"anyone (?:here|there|alive|around|online)",
    r"is anyone (?:here|there|around|online)",
    r"(?:is )?(?:this|it) (?:real|true|serious)",
    r"really",
    r"seriously",
    r"right",
    r"why not",
    r"what",
    r"who cares",
    r"are you kidding(?: me)?",
    rf"lol{WORD_CHAR}*",
    rf"haha{WORD_CHAR}*",
    r"ok(?:ay)?",
    r"wow",
    r"cool",
    r"nice",
    r"what do you think",
    r"how was (?:your|the) (?:day|weekend)",
    r"did you see (?:that|this)",
    # ru
    r"как (?:дела|ты|вы|жизнь|поживаешь|поживаете|сам|сама|настроение)(?: у (?:тебя|вас|всех))?",
    r"(?:что|чё|че|шо) (?:нового|как|слышно)",
    r"как оно",
    r"ты (?:тут|здесь|бот)",
    r"вы (?:тут|здесь)",
    r"(?:кто|есть кто)(?:-?(?:нибудь|то))? (?:тут|здесь|живой|живые|онлайн)",
    r"правда",
    r"серьезно",
    r"серьёзно",
    r"да ладно",
    r"ну как",
    r"как выходные",
    r"как прошел день",
    r"ага",
    r"ок",
    r"ого",
    r"понятно",
    r"ясно",
    # he
    r"מה (?:נשמע|קורה|העניינים|המצב|שלומך|שלומכם|שלומכן|איתך|חדש)",
    r"מה שלומך היום",
    r"הכל (?:טוב|בסדר)",
    r"איך (?:אתה|את|אתם|הולך|היה)(?: היום)?",
    r"יש פה מישהו",
    r"מישהו (?:פה|כאן)",
    r"באמת",
    r"ברצינות",
    r"אתה בוט",
    r"סבבה",
    r"אוקיי?",
    r"וואו",
    r"חחח+",
]
_CHITCHAT_RE = compile_pattern(r"^(?:" + "|".join(_CHITCHAT) + r")$", name="questions.chitchat", ignorecase=True)

# Greetings and thanks, as whole messages or as a leading clause that is stripped.
_GREETING = (
    r"(?:hi|hello|hey|hiya|howdy|yo|greetings|good (?:morning|afternoon|evening|night|day)|morning|evening"
    r"|hi there|hello there|hey there|welcome|bye|goodbye|see you|cheers"
    r"|привет(?:ик|ствую)?|здравствуй(?:те)?|здрасьте|добр(?:ое|ый|ой) (?:утро|день|вечер|ночи)|доброго времени суток"
    r"|хай|салют|пока|до свидания|всем привет"
    r"|שלום|היי|הי|הלו|בוקר טוב|ערב טוב|צהריים טובים|לילה טוב|אהלן|אהלן וסהלן|ביי|להתראות)"
)
_THANKS = (
    r"(?:thanks?(?: you)?(?: so much| a lot| very much)?|thx|ty|tysm|many thanks|much appreciated|appreciate it"
    r"|great|awesome|perfect|got it|understood|sure|no problem|np|you'?re welcome"
    r"|спасибо(?: большое| огромное)?|спс|благодарю|пожалуйста|понял|поняла|отлично|супер|класс"
    r"|תודה(?: רבה)?|תודה לכם|תודה לך|מעולה|מצוין|הבנתי|בבקשה|אין בעד מה|יופי)"
)
_ADDRESSEE = (
    r"(?:all|everyone|everybody|guys|folks|friends|team|there"
    r"|всем|все|ребята|друзья|народ|коллеги|כולם|חברים|חבר'?ה)"
)
# One polite clause ("hi there", "thanks again all"); a message is only polite when it is a run of them,
# one space apart. "hi there" reads as a greeting alone or as "hi" + "there": under a backtracking
# engine that ambiguity made a repeated greeting take exponential time, so these run on RE2.
_POLITE_CLAUSE = rf"(?:{_GREETING}|{_THANKS})(?: {_ADDRESSEE})?(?: (?:again|ещё раз|еще раз|שוב))?"
_ONLY_POLITE = compile_pattern(
    rf"^{_POLITE_CLAUSE}(?: {_POLITE_CLAUSE})*$", name="questions.only_polite", ignorecase=True
)
# The match ends with the character after the clause (a space or a hyphen) or at the end of the text.
_LEADING_GREETING = compile_pattern(
    rf"^(?:{_GREETING}|{_THANKS})(?: {_ADDRESSEE})?{END_OF_WORD}", name="questions.leading_greeting", ignorecase=True
)

# Openings that make a question even without a question mark.
_INTERROGATIVE = compile_pattern(
    r"^(?:"
    # en: wh-words, an auxiliary followed by its subject, requests for help
    r"what|what'?s|whats|how|how'?s|where|where'?s|when|why|who|who'?s|whose|which"
    r"|(?:can|could|may|might|shall|should|will|would|is|are|am|was|were|do|does|did|have|has"
    r"|isn'?t|aren'?t|don'?t|doesn'?t|didn'?t|can'?t|won'?t)"
    r" (?:i|you|u|we|they|he|she|it|this|that|these|those|there|anyone|anybody|someone|somebody|one|my|our|the)"
    r"|anyone know|anybody know|somebody knows?|any idea|any ideas"
    r"|i (?:want|need|would like|wonder|was wondering) (?:to know|to ask|if|whether|how|what|where|when|why)"
    r"|please (?:tell|explain|help|advise)|tell me|help me|need help|explain"
    # ru ("как и обещали", "когда придёшь, позвони" are statements)
    r"|что|как|где|почему|зачем|кто|какой|какая|какое"
    r"|какие|каким|какую|сколько|куда|откуда"
    r"|можно ли|могу ли|можно|есть ли|подскажите|подскажи|скажите|скажи|объясните|помогите|помоги"
    r"|кто-нибудь|кто-то знает|не подскажете|не знаете|хочу узнать|интересно"
    # he
    r"|מה|מהי|מהו|איך|כיצד|איפה|היכן|מתי|למה|מדוע|מי|האם|כמה|איזה|איזו|אילו|אפשר|ניתן|יש מישהו|מישהו יודע"
    r"|תגידו|תגיד|תסבירו|תעזרו|אשמח לדעת|רציתי לשאול|רציתי לדעת|יש דרך|יש אפשרות"
    r")" + END_OF_WORD,
    name="questions.interrogative",
    ignorecase=True,
)
# "как и обещали", "как всегда": "как" opening a statement (RE2 has no look-ahead, so a second pattern).
_KAK_STATEMENT = compile_pattern(
    rf"^как (?:и{END_OF_WORD}|всегда|обычно|договаривались|обещали|сказал)",
    name="questions.kak_statement",
    ignorecase=True,
)
# Statements that open with an auxiliary or a wh-word but are not questions ("what a day", "how nice").
_EXCLAMATION = compile_pattern(
    rf"^(?:what an? |how (?:nice|cool|great|sweet|lovely|awesome|sad|funny|beautiful){END_OF_WORD}"
    rf"|who cares{END_OF_WORD}"
    rf"|как (?:здорово|классно|круто|жаль|приятно|мило){END_OF_WORD}|что за (?:день|ночь){END_OF_WORD}"
    rf"|מה (?:יופי|כיף){END_OF_WORD}|איזה (?:יופי|כיף|באסה){END_OF_WORD})",
    name="questions.exclamation",
    ignorecase=True,
)
_EMOJI_AND_SYMBOLS = compile_pattern(
    r"[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F\u200d]+",
    name="questions.emoji",
    engine="re",
    why="one character class, repeated",
)
_SENTENCE = compile_pattern(
    r"[^.!\n]+[.!\n]*",
    name="questions.sentence",
    engine="re",
    why="two disjoint character classes in a row",
)


def normalise(text: str) -> str:
    """Lowercase, NFKC, URLs/mentions/commands and emoji removed, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text).lower().replace("ё", "е").replace("’", "'")
    text = _URL.sub(" ", text)
    text = _EMOJI_AND_SYMBOLS.sub(" ", text)
    return " ".join(text.split())


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def _plain(text: str) -> str:
    return " ".join(_words(text))


def is_question(text: str) -> bool:
    """True when ``text`` reads as a question someone wants answered (see the module docstring)."""
    norm = normalise(text)
    if not norm:
        return False
    plain = _plain(norm)
    if not plain or _ONLY_POLITE.match(plain) or _CHITCHAT_RE.match(plain):
        return False
    # Strip leading greetings / thanks ("hi all, ..." / "спасибо! а как ...").
    rest = norm
    for _ in range(3):
        match = _LEADING_GREETING.match(_plain(rest))
        if match is None:
            break
        # Cut the same number of words off the original (punctuation kept).
        n = len(_words(match.group(0)))
        cut = 0
        for words_seen, m in enumerate(_WORD.finditer(rest), start=1):
            if words_seen == n:
                cut = m.end()
                break
        rest = rest[cut:].lstrip(" ,.!;:-—–")
    plain_rest = _plain(rest)
    if not plain_rest or _CHITCHAT_RE.match(plain_rest) or _ONLY_POLITE.match(plain_rest):
        return False
    if len(_words(plain_rest)) < MIN_WORDS:
        return False
    if _EXCLAMATION.match(plain_rest):
        return False
    has_mark = any(mark in rest for mark in ("?", "？", "¿"))
    if has_mark:
        return True
    # No question mark: only a sentence that opens like a question counts ("how do I ...").
    # Sentences that end in "!" are exclamations ("какой классный день!").
    sentences = [m.group(0) for m in _SENTENCE.finditer(rest)]
    return any(_opens_like_question(_plain(sentence)) for sentence in sentences if "!" not in sentence)


def _opens_like_question(plain: str) -> bool:
    return bool(_INTERROGATIVE.match(plain)) and not _KAK_STATEMENT.match(plain)


def is_small_talk(text: str) -> bool:
    """Greetings, thanks and chit-chat only ("hi!", "thanks a lot", "как дела?", "מה נשמע")."""
    plain = _plain(normalise(text))
    return not plain or bool(_ONLY_POLITE.match(plain) or _CHITCHAT_RE.match(plain))
