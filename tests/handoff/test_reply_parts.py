"""Replies longer than a platform takes in one message go as several, cut where a reader expects."""

from __future__ import annotations

from handoff.messages import Button, Reply
from handoff.outbox import TEXT_LIMITS, fit_to_channel

BUTTONS = (Button("已解决", "survey:resolved:yes"), Button("未解决", "survey:resolved:no"))


def paragraph(n: int) -> str:
    return f"第{n}条：朝阳区望京街道阜通东大街{n}号楼下的垃圾已由环卫所清运，街道已安排每日巡查，请您放心。"


def test_a_short_reply_is_one_message_on_every_channel() -> None:
    reply = Reply("您的工单已受理。", BUTTONS)
    assert [fit_to_channel(reply, channel) for channel in ("web", "telegram", "wechat")] == [[reply]] * 3


def test_wechat_parts_fit_2048_bytes_with_the_numbered_buttons_on_the_last() -> None:
    text = "\n".join(paragraph(n) for n in range(60))  # 8,199 bytes: five parts, cut at whole lines
    parts = fit_to_channel(Reply(text, BUTTONS), "wechat")
    assert len(parts) == 5
    assert all(len(part.as_text().encode()) <= 2048 for part in parts)
    assert [part.buttons for part in parts] == [(), (), (), (), BUTTONS]
    assert all(part.text.endswith("放心。") for part in parts)  # cut at line ends, not inside a sentence
    assert "\n".join(part.text for part in parts) == text  # nothing lost, nothing repeated


def test_telegram_counts_utf16_units_and_cuts_at_sentences_when_there_are_no_lines() -> None:
    text = "".join(paragraph(n) + "🚮" for n in range(120))  # one line; the emoji is two UTF-16 units
    parts = fit_to_channel(Reply(text), "telegram")
    assert len(parts) > 1
    assert all(TEXT_LIMITS["telegram"].size(part.text) <= 4096 for part in parts)
    assert all(part.text.endswith(("。", "🚮")) for part in parts[:-1])
    assert "".join(part.text for part in parts) == text


def test_a_text_without_any_break_is_cut_at_the_limit() -> None:
    text = "垃" * 3000  # 9,000 bytes, no punctuation
    parts = fit_to_channel(Reply(text), "wechat")
    assert [len(part.text.encode()) for part in parts] == [2046, 2046, 2046, 2046, 816]
    assert "".join(part.text for part in parts) == text
