"""Writes examples/riverside-makers-export.json: an invented Telegram Desktop chat export (JSON).

Run ``python examples/make_example_export.py`` to regenerate it. Everything in it is made up: a maker
space's members chat over twelve days in November 2026 (English, with a few Russian and Hebrew lines).
It has what ``steward analyze`` looks for: repeated questions nobody answered (the Wi-Fi password,
booking the laser cutter, parking), answered questions, a complaint thread that turns sour (double
membership charges), service messages (joins, a pin), media-only messages, text as a list of entities,
and an entry without a date (skipped).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

PEOPLE = {
    "ann": ("Ann Lee", 1001),
    "ben": ("Ben Okafor", 1002),
    "cara": ("Cara Diaz", 1003),
    "dan": ("Dan Weiss", 1004),
    "eva": ("Eva Novak", 1005),
    "farid": ("Farid Haddad", 1006),
    "gil": ("Gil Levi", 1007),
    "hana": ("Hana Sato", 1008),
    "igor": ("Igor Petrov", 1009),
    "jo": ("Jo Murphy", 1010),
    "kim": ("Kim Park", 1011),
    "lena": ("Lena Fischer", 1012),
}

START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)

# (day offset, "HH:MM", who, text, reply-to label or None, label or None, extra fields)
# A label names a message so later ones can reply to it.
Script = list[tuple[int, str, str, object, str | None, str | None, dict[str, object]]]

SCRIPT: Script = [
    # --- day 0: Monday
    (0, "08:05", "ann", "Good morning makers! The space opens at 9 today.", None, None, {}),
    (0, "08:20", "ben", "Morning! Anyone coming for the soldering session?", None, None, {}),
    (0, "08:22", "cara", "I'll be there around 10", None, None, {}),
    (0, "09:10", "dan", "What is the wifi password at the space?", None, "wifi1", {}),
    (0, "09:40", "eva", "The new resin printer looks great, thanks to whoever set it up", None, None, {}),
    (
        0,
        "10:02",
        "farid",
        "",
        None,
        None,
        {"photo": "photos/photo_1@02-11-2026_10-02-00.jpg", "width": 1280, "height": 960},
    ),
    (0, "10:03", "farid", "First print on the resin printer!", None, None, {}),
    (0, "10:15", "ann", "Looks awesome Farid", None, None, {}),
    (0, "11:30", "gil", "When does the next meetup start?", None, "meetup_q", {}),
    (0, "11:34", "ann", "Thursday at 7 pm, in the big room", "meetup_q", None, {}),
    (0, "11:36", "gil", "Thanks!", "meetup_q", None, {}),
    (0, "13:00", "hana", "Lunch break, see you later", None, None, {}),
    (0, "15:20", "igor", "Всем привет! Я новенький, рад присоединиться.", None, None, {}),
    (0, "15:25", "ann", "Welcome Igor!", None, None, {}),
    (0, "17:45", "jo", "Closing up in 15 minutes, please tidy your benches", None, None, {}),
    # --- day 1: Tuesday
    (1, "08:30", "kim", "How do I book the laser cutter?", None, "laser1", {}),
    (1, "09:05", "cara", "The soldering irons on bench 2 need new tips", None, None, {}),
    (1, "09:20", "dan", "I can order some tips this week", None, None, {}),
    (1, "10:00", "lena", "Does anyone know the wifi password?", None, "wifi2", {}),
    (1, "10:30", "ben", "Is the big room free on Friday afternoon?", None, "room_q", {}),
    (1, "10:41", "jo", "Yes, it's free after 2 pm", "room_q", None, {}),
    (
        1,
        "12:10",
        "eva",
        ["Reminder: ", {"type": "bold", "text": "safety training"}, " is mandatory before using the CNC"],
        None,
        None,
        {},
    ),
    (1, "12:12", "farid", "Good reminder, thanks Eva", None, None, {}),
    (
        1,
        "14:00",
        "gil",
        "",
        None,
        None,
        {"media_type": "sticker", "sticker_emoji": "👍", "file": "stickers/sticker.webp"},
    ),
    (1, "16:00", "hana", "Where can I book the laser cutter?", None, "laser2", {}),
    (1, "16:30", "ann", "Nice progress on the robot arm today everyone", None, None, {}),
    (1, "18:00", "igor", "Какой пароль от wifi?", None, "wifi3", {}),
    # --- day 2: Wednesday: the double charge pile-on
    (
        2,
        "08:15",
        "cara",
        "I was charged twice for my membership this month. This is terrible.",
        None,
        "charge_root",
        {},
    ),
    (2, "08:20", "dan", "Same here, two charges on my card. Awful.", "charge_root", "charge2", {}),
    (2, "08:31", "kim", "Me too. Nobody answers the support email, worst support ever", "charge2", None, {}),
    (2, "08:40", "lena", "I want a refund today, this is a scam", "charge_root", None, {}),
    (2, "08:52", "jo", "Honestly disappointed, I emailed on Monday and heard nothing", "charge_root", None, {}),
    (
        2,
        "09:30",
        "ann",
        "Sorry everyone, I've asked the treasurer to look at the payments today",
        "charge_root",
        None,
        {},
    ),
    (2, "09:45", "cara", "Still bad that we had to find out ourselves", "charge_root", None, {}),
    (2, "10:10", "eva", "Has anyone used the new drill press yet?", None, "drill_q", {}),
    (2, "10:25", "farid", "Yes, it's smooth. Use the clamp though", "drill_q", None, {}),
    (2, "11:00", "gil", "Is there parking near the space?", None, "park1", {}),
    (2, "12:30", "hana", "The 3D printer on bench 4 is broken again", None, "printer_root", {}),
    (2, "12:36", "ben", "Yeah the bed heater is bad, I left a note on it", "printer_root", None, {}),
    (2, "12:50", "hana", "Thanks Ben", "printer_root", None, {}),
    (2, "14:15", "igor", "Can someone explain how to use the band saw safely?", None, "saw_q", {}),
    (2, "14:30", "eva", "I'll show you tomorrow at 5", "saw_q", None, {}),
    (2, "16:00", "jo", "What time does the space close on Sunday?", None, None, {}),
    (2, "17:00", "kim", "ok", None, None, {}),
    # --- day 3: Thursday (meetup)
    (3, "08:40", "lena", "How can I book the laser cutter for Saturday?", None, "laser3", {}),
    (3, "09:00", "ann", "Meetup tonight at 7! Bring your projects", None, None, {}),
    (3, "09:10", "ben", "Great, I'll bring the plotter", None, None, {}),
    (3, "10:00", "cara", "Treasurer says the double charges will be refunded by Friday", None, None, {}),
    (3, "10:05", "dan", "Thank you, that's good news", None, None, {}),
    (3, "11:15", "farid", "Where do I park for the Thursday meetup?", None, "park2", {}),
    (3, "12:00", "gil", "מה הסיסמה של הוויפי?", None, "wifi4", {}),
    (
        3,
        "13:00",
        "hana",
        "",
        None,
        None,
        {"photo": "photos/photo_2@05-11-2026_13-00-00.jpg", "width": 800, "height": 600},
    ),
    (3, "13:01", "hana", "Printer bed fixed, works again", None, None, {}),
    (3, "15:30", "igor", "Где можно взять ключ от мастерской?", None, "key_q", {}),
    (3, "15:40", "ann", "У администратора на ресепшене", "key_q", None, {}),
    (3, "19:05", "jo", "Great meetup, thanks everyone!", None, None, {}),
    (3, "19:30", "kim", "Loved the robot arm demo", None, None, {}),
    (3, "21:00", "lena", "Thanks for organising Ann", None, None, {}),
    # --- day 4: Friday
    (4, "09:00", "eva", "Who has the key for the wood storage?", None, None, {}),
    (4, "09:30", "ben", "Any recommendations for a beginner Arduino kit?", None, "kit_q", {}),
    (4, "09:45", "dan", "The Elegoo starter kit is good value", "kit_q", None, {}),
    (4, "09:50", "igor", "Согласен, отличный набор", "kit_q", None, {}),
    (4, "11:00", "cara", "Refund arrived, thanks for sorting it out", None, None, {}),
    (4, "12:00", "farid", "Anyone up for a lunch run?", None, None, {}),
    (4, "12:02", "gil", "Sure", None, None, {}),
    (4, "14:00", "hana", "Is there parking for visitors near the space?", None, "park3", {}),
    (4, "16:20", "jo", "What's the wi-fi password again?", None, "wifi5", {}),
    (4, "16:25", "jo", "Found it on the board, never mind", "wifi5", None, {}),
    (4, "17:00", "kim", "Have a nice weekend all", None, None, {}),
    # --- day 5: Saturday
    (5, "10:00", "lena", "Open day today from 11!", None, None, {}),
    (
        5,
        "10:30",
        "ann",
        "",
        None,
        None,
        {"photo": "photos/photo_3@07-11-2026_10-30-00.jpg", "width": 1024, "height": 768},
    ),
    (5, "11:20", "gil", "שלום לכולם, אפשר לבוא עם ילדים ליום הפתוח?", None, "kids_q", {}),
    (5, "11:25", "lena", "כן, בטח! יש פינה לילדים", "kids_q", None, {}),
    (5, "12:00", "eva", "Lots of visitors today, great energy", None, None, {}),
    (5, "13:00", "ben", "Do we have spare M3 screws somewhere?", None, None, {}),
    (5, "15:00", "cara", "The open day was lovely", None, None, {}),
    # --- day 6: Sunday (quiet)
    (6, "11:00", "dan", "Quiet Sunday, working on my clock project", None, None, {}),
    (6, "12:30", "farid", "Nice, post a photo when it's done", None, None, {}),
    # --- day 7: Monday
    (7, "08:10", "hana", "Good morning!", None, None, {}),
    (7, "08:30", "igor", "How do I get access to the CNC room?", None, "cnc_q", {}),
    (7, "08:40", "eva", "After the safety training, ask Ann for the badge", "cnc_q", None, {}),
    (7, "09:00", "jo", "The vending machine ate my coins again, so annoying", None, "vend_root", {}),
    (7, "09:05", "kim", "It's terrible, it did that to me last week", "vend_root", None, {}),
    (7, "09:10", "jo", "Someone should put a sign on it", "vend_root", None, {}),
    (7, "10:00", "lena", "How do I reserve the laser cutter?", None, "laser4", {}),
    (7, "11:00", "ann", "New members: please read the pinned rules", None, None, {}),
    (7, "12:00", "ben", "Working on the plotter firmware today", None, None, {}),
    (7, "13:30", "cara", "Can I bring a friend to the Thursday meetup?", None, "friend_q", {}),
    (7, "13:35", "ann", "Of course!", "friend_q", None, {}),
    (7, "15:00", "dan", "Where can I park near the space?", None, "park4", {}),
    (7, "16:00", "gil", "Is the wifi password still the same?", None, "wifi6", {}),
    # --- day 8: Tuesday
    (8, "08:20", "farid", "Morning all", None, None, {}),
    (8, "09:00", "hana", "What's the best glue for acrylic?", None, "glue_q", {}),
    (8, "09:20", "eva", "Acrifix or any solvent cement", "glue_q", None, {}),
    (8, "09:21", "hana", "Thank you!", "glue_q", None, {}),
    (8, "10:00", "igor", "Спасибо всем за помощь на этой неделе", None, None, {}),
    (8, "11:00", "jo", "Does the space have a first aid kit?", None, None, {}),
    (8, "12:00", "kim", "", None, None, {"file": "files/schematic.pdf", "mime_type": "application/pdf"}),
    (8, "12:01", "kim", "Schematic for the LED wall, comments welcome", None, None, {}),
    (8, "14:00", "lena", "Looks great Kim", None, None, {}),
    (8, "16:00", "ann", "Reminder: membership fees are due on the 1st", None, None, {}),
    # --- day 9: Wednesday
    (9, "08:15", "ben", "Plotter firmware works now", None, None, {}),
    (9, "08:40", "cara", "Nice work Ben", None, None, {}),
    (9, "09:10", "dan", "Ordered the soldering tips, they arrive Friday", None, None, {}),
    (9, "09:30", "eva", "Safety training next Tuesday at 6 pm, sign up on the board", None, None, {}),
    (9, "10:00", "farid", "How long does the safety training take?", None, "training_q", {}),
    (9, "10:05", "eva", "About two hours", "training_q", None, {}),
    (9, "11:00", "gil", "", None, None, {"media_type": "animation", "file": "video_files/party.mp4"}),
    (9, "11:30", "hana", "Printing a case for my weather station", None, None, {}),
    (9, "12:15", "igor", "Сегодня буду после шести", None, None, {}),
    (9, "13:00", "jo", "The coffee machine is fixed!", None, None, {}),
    (9, "13:05", "kim", "Best news of the week", None, None, {}),
    (9, "14:40", "lena", "Cutting acrylic for the LED wall with Kim", None, None, {}),
    (9, "16:10", "ann", "Board meeting minutes are on the shared drive", None, None, {}),
    (9, "17:30", "ben", "Leaving the plotter calibrated for whoever is next", None, None, {}),
    # --- day 10: Thursday
    (10, "08:05", "cara", "Meetup tonight, anyone presenting?", None, "present_q", {}),
    (10, "08:20", "hana", "I'll show the weather station", "present_q", None, {}),
    (10, "08:25", "kim", "LED wall demo from us", "present_q", None, {}),
    (10, "09:00", "dan", "I'll bring snacks", None, None, {}),
    (10, "10:30", "eva", "Please label your boxes on the shelves", None, None, {}),
    (10, "11:45", "farid", "Done, mine is the blue one", None, None, {}),
    (10, "12:30", "gil", "Is the parking lot behind the building free in the evening?", None, "park5", {}),
    (10, "13:10", "igor", "Отличная неделя в мастерской", None, None, {}),
    (10, "15:00", "jo", "Who is bringing the projector?", None, "projector_q", {}),
    (10, "15:05", "ann", "I've got it", "projector_q", None, {}),
    (10, "19:10", "lena", "The LED wall looked amazing tonight", None, None, {}),
    (10, "19:20", "ben", "Great presentations everyone", None, None, {}),
    (
        10,
        "20:00",
        "hana",
        "",
        None,
        None,
        {"photo": "photos/photo_4@12-11-2026_20-00-00.jpg", "width": 1200, "height": 900},
    ),
    # --- day 11: Friday
    (11, "08:30", "cara", "Soldering tips arrived, thanks Dan", None, None, {}),
    (11, "09:15", "dan", "You're welcome", None, None, {}),
    (11, "10:00", "kim", "Where is the laser cutter booking sheet?", None, "laser5", {}),
    (11, "10:40", "eva", "Cleaning day tomorrow at 10, many hands make light work", None, None, {}),
    (11, "11:00", "farid", "Count me in", None, None, {}),
    (11, "11:05", "gil", "Me too", None, None, {}),
    (11, "12:00", "igor", "Я тоже приду", None, None, {}),
    (11, "13:20", "jo", "The vending machine is still broken, this is getting ridiculous", None, "vend2_root", {}),
    (11, "13:40", "lena", "I put a sign on it yesterday", "vend2_root", None, {}),
    (11, "14:30", "hana", "Weather station is online, readings every minute", None, None, {}),
    (11, "16:00", "ann", "Have a good weekend, see you at the cleaning day", None, None, {}),
    (11, "16:30", "ben", "See you tomorrow", None, None, {}),
    (11, "17:00", "kim", "Bye all", None, None, {}),
]

SERVICE: list[tuple[int, str, str, str, dict[str, object]]] = [
    # (day, "HH:MM", who, action, extra)
    (0, "08:00", "ann", "pin_message", {"message_id": 0}),
    (0, "15:18", "igor", "join_group_by_link", {"inviter": "Group"}),
    (1, "07:50", "kim", "join_group_by_link", {"inviter": "Group"}),
    (1, "09:59", "ann", "invite_members", {"members": ["Lena Fischer"]}),
    (5, "11:15", "ann", "invite_members", {"members": ["Visitor One", "Visitor Two"]}),
    (9, "18:00", "ann", "remove_members", {"members": ["Visitor Two"]}),
]


def build() -> dict[str, object]:
    items: list[tuple[datetime, dict[str, object]]] = []
    for day, hhmm, who, action, extra in SERVICE:
        h, m = map(int, hhmm.split(":"))
        at = START.replace(hour=h, minute=m) + timedelta(days=day)
        name, uid = PEOPLE[who]
        item: dict[str, object] = {"type": "service", "actor": name, "actor_id": f"user{uid}", "action": action}
        item.update(extra)
        items.append((at, item))
    for day, hhmm, who, text, _reply, _label, extra in SCRIPT:
        h, m = map(int, hhmm.split(":"))
        at = START.replace(hour=h, minute=m) + timedelta(days=day)
        name, uid = PEOPLE[who]
        item = {"type": "message", "from": name, "from_id": f"user{uid}", "text": text}
        item.update(extra)
        items.append((at, item))
    items.sort(key=lambda pair: pair[0])
    labels: dict[str, int] = {}
    messages: list[dict[str, object]] = []
    script_by_key = {(d, hm, w, json.dumps(t)): (r, lab) for d, hm, w, t, r, lab, _ in SCRIPT}
    for n, (at, item) in enumerate(items, start=1):
        out: dict[str, object] = {
            "id": 100 + n,
            "type": item["type"],
            "date": at.strftime("%Y-%m-%dT%H:%M:%S"),
            "date_unixtime": str(int(at.timestamp())),
        }
        if item["type"] == "message":
            day = (at.date() - START.date()).days
            key = (
                day,
                at.strftime("%H:%M"),
                next(k for k, v in PEOPLE.items() if v[0] == item["from"]),
                json.dumps(item["text"]),
            )
            reply, label = script_by_key[key]
            if label:
                labels[label] = 100 + n
            if reply:
                out["reply_to_message_id"] = labels[reply]
        for k, v in item.items():
            if k != "type":
                out[k] = v
        text = out.get("text")
        if isinstance(text, list):
            out["text_entities"] = [p if isinstance(p, dict) else {"type": "plain", "text": p} for p in text]
        elif item["type"] == "message":
            out["text_entities"] = [{"type": "plain", "text": out["text"]}] if out["text"] else []
        messages.append(out)
    pinned = next(m for m in messages if m.get("action") == "pin_message")
    pinned["message_id"] = messages[1]["id"]
    # Exports can hold entries a reader must survive: this one lost its date.
    messages.append({"id": 999, "type": "message", "from": "Ghost", "from_id": "user9999", "text": "no date"})
    return {"name": "Riverside Makers", "type": "public_supergroup", "id": 1987654321, "messages": messages}


if __name__ == "__main__":
    path = Path(__file__).with_name("riverside-makers-export.json")
    path.write_text(json.dumps(build(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(path)
