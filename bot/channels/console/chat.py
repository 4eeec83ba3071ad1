"""The console chat: type a message, read the replies; buttons are numbered choices.

Interactive on a terminal; with a pipe on stdin it reads one message per line and prints the
replies, so conversations can be scripted.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import TextIO

from actions.base import Button, Reply
from bot.core.messages import IncomingMessage
from bot.core.pipeline import Pipeline

CHANNEL = "console"


def render(replies: list[Reply]) -> tuple[str, list[Button]]:
    """Replies as terminal text, with their buttons numbered from 1."""
    lines: list[str] = []
    buttons: list[Button] = []
    for reply in replies:
        lines.append(f"bot> {reply.text}")
        for link in reply.links:
            lines.append(f"     {link.title}: {link.url}")
        for button in reply.buttons:
            buttons.append(button)
            lines.append(f"     [{len(buttons)}] {button.title}")
    return "\n".join(lines), buttons


def resolve_choice(text: str, buttons: list[Button]) -> str:
    """A number naming a shown button becomes that button's payload."""
    stripped = text.strip()
    if stripped.isdigit() and 1 <= int(stripped) <= len(buttons):
        return buttons[int(stripped) - 1].payload
    return text


async def chat(pipeline: Pipeline, user: str | None, stdin: TextIO, stdout: TextIO,
               read_line: Callable[[], str] | None = None) -> None:
    """Run a console conversation until end of input (or "/quit")."""
    user_id = user or uuid.uuid4().hex[:12]
    interactive = stdin.isatty()
    if interactive:
        stdout.write("egovbot — gõ câu hỏi, số để chọn nút, /quit để thoát.\n")
    buttons: list[Button] = []
    loop = asyncio.get_running_loop()
    while True:
        if interactive:
            stdout.write("bạn> ")
            stdout.flush()
        line = await loop.run_in_executor(None, read_line or stdin.readline)
        if not line:
            break
        text = line.rstrip("\n")
        if text.strip() in ("/quit", "/exit"):
            break
        if not text.strip():
            continue
        if not interactive:
            stdout.write(f"bạn> {text}\n")
        message = IncomingMessage(CHANNEL, user_id, resolve_choice(text, buttons))
        rendered, buttons = render((await pipeline.handle(message)).replies)
        stdout.write(rendered + "\n")
        stdout.flush()
