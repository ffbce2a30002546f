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

MEMBERS = [
    *("Ann Lee", "Ben Okafor", "Cara Diaz", "Dan Weiss", "Eva Novak", "Farid Haddad"),
    *("Gil Levi", "Hana Sato", "Igor Petrov", "Jo Murphy", "Kim Park", "Lena Fischer"),
]
# who (the first name in lower case) → (display name, user id): ann is user 1001, ben 1002, …
PEOPLE = {name.split()[0].lower(): (name, 1001 + i) for i, name in enumerate(MEMBERS)}

START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)

# (day offset, "HH:MM", who, text, reply-to label or None, label or None, extra fields); a label names a
# message so later ones can reply to it. The rows live in riverside-makers-script.jsonl.
Script = list[tuple[int, str, str, object, str | None, str | None, dict[str, object]]]

SCRIPT_FILE = Path(__file__).with_name("riverside-makers-script.jsonl")


def load_script(path: Path = SCRIPT_FILE) -> Script:
    """The chat, one JSON array a line (lines starting with # are comments)."""
    rows: Script = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            day, hhmm, who, text, reply, label, extra = json.loads(line)
            rows.append((day, hhmm, who, text, reply, label, extra))
    return rows


SCRIPT: Script = load_script()

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
