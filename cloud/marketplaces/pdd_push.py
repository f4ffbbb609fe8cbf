"""PDD message service (PMC) client over WebSocket (docs/specs/marketplaces.md §1.8).

Messages are hints: handle (re-read the order), then ACK. Unacked messages are
redelivered by the platform, so handlers must be idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from cloud.marketplaces.base import PushMessage, as_dict, as_id, as_str
from cloud.marketplaces.errors import MarketplaceError, TransientError
from cloud.marketplaces.http import loads
from cloud.marketplaces.pdd import PLATFORM, PddConfig, pmc_path

log = logging.getLogger("packline.marketplaces.pdd_push")


def parse_push_frame(frame: Mapping[str, Any]) -> PushMessage:
    """A ``commandType=Common`` frame → :class:`PushMessage` (id kept exact)."""
    message = as_dict(frame.get("message"), field_name="message")
    raw_content = message.get("content")
    content = as_dict(loads(raw_content) if isinstance(raw_content, str) else raw_content,
                      field_name="content")
    tid = content.get("tid")
    return PushMessage(
        id=as_id(frame.get("id"), field_name="id"),
        topic=as_str(message.get("type"), field_name="type"),
        shop_id=as_id(message.get("mallID"), field_name="mallID"),
        content=content,
        order_id=as_id(tid, field_name="tid") if tid is not None else "",
        raw=dict(frame),
    )


class PddPushClient:
    """PMC WebSocket client: yields messages, ACKs after the caller processed them.

    Usage::

        async with PddPushClient(config) as push:
            async for msg in push.messages():
                await handle(msg)          # durable processing first
                await push.ack(msg)
    """

    def __init__(
        self,
        config: PddConfig,
        *,
        clock: Callable[[], float] = time.time,
        heartbeat: float = 8.0,
    ) -> None:
        self.config = config
        """App credentials and the ``message_url``."""
        self._clock = clock
        self._heartbeat = heartbeat
        self._ws: Any = None
        self._hb_task: asyncio.Task[None] | None = None

    def url(self) -> str:
        """Connect URL with a fresh timestamp and sign."""
        ts = int(self._clock() * 1000)
        path = pmc_path(self.config.client_id, ts, self.config.client_secret)
        return self.config.message_url.rstrip("/") + path

    async def __aenter__(self) -> PddPushClient:
        from websockets.asyncio.client import connect
        from websockets.exceptions import WebSocketException

        try:
            self._ws = await connect(self.url(), open_timeout=10)
        except (OSError, WebSocketException, TimeoutError) as err:
            raise TransientError(f"PMC 连接失败: {err}", platform=PLATFORM,
                                 api="pmc") from err
        self._hb_task = asyncio.create_task(self._beat())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._hb_task is not None:
            self._hb_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._hb_task
        if self._ws is not None:
            await self._ws.close()

    async def _beat(self) -> None:
        from websockets.exceptions import ConnectionClosed

        with contextlib.suppress(ConnectionClosed):
            while True:
                await asyncio.sleep(self._heartbeat)
                now = int(self._clock() * 1000)
                await self._ws.send(json.dumps(
                    {"id": now, "commandType": "HeartBeat", "time": now}))

    async def messages(self) -> AsyncIterator[PushMessage]:
        """Business messages until the server closes the connection."""
        from websockets.exceptions import ConnectionClosed

        try:
            async for raw in self._ws:
                frame = as_dict(loads(raw), field_name="frame")
                if frame.get("commandType") != "Common":
                    continue
                yield parse_push_frame(frame)
        except ConnectionClosed:
            return

    async def ack(self, message: PushMessage) -> None:
        """Send the ACK frame for ``message`` (echo id, sendTime, type, mallID)."""
        from websockets.exceptions import ConnectionClosed

        raw = message.raw
        inner = as_dict(raw.get("message"), field_name="message")
        try:
            await self._ws.send(json.dumps({
                "id": raw.get("id"), "commandType": "Ack", "time": int(self._clock() * 1000),
                "sendTime": raw.get("sendTime"), "type": inner.get("type"),
                "mallID": inner.get("mallID"),
            }, default=str))
        except ConnectionClosed as err:
            raise TransientError("PMC 连接已断开，ACK 未送达", platform=PLATFORM,
                                 api="pmc") from err


async def run_push(
    config: PddConfig,
    handle: Callable[[PushMessage], Awaitable[None]],
    stop: asyncio.Event,
    *,
    clock: Callable[[], float] = time.time,
    max_backoff: float = 30.0,
    heartbeat: float = 8.0,
) -> None:
    """One long-lived PMC consumer: connect, handle then ACK each message, reconnect on
    failure with jittered exponential backoff, until ``stop`` is set.

    A handler that raises leaves the message unacked (the platform redelivers it).
    """
    failures = 0
    while not stop.is_set():
        try:
            async with PddPushClient(config, clock=clock, heartbeat=heartbeat) as push:
                failures = 0
                stopper = asyncio.create_task(stop.wait())
                try:
                    async for message in _until(push.messages(), stopper):
                        try:
                            await handle(message)
                        except Exception:  # leave unacked: the platform redelivers it
                            log.warning("PMC 消息 %s 处理失败，等待重投", message.id,
                                        exc_info=True)
                            continue
                        await push.ack(message)
                finally:
                    stopper.cancel()
        except MarketplaceError:
            failures += 1
        if stop.is_set():
            return
        delay = min(max_backoff, 0.2 * 2 ** min(failures, 8)) * (0.5 + random.random() / 2)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)


async def _until(
    messages: AsyncIterator[PushMessage], stopper: asyncio.Task[Any]
) -> AsyncIterator[PushMessage]:
    """Yield from ``messages`` until ``stopper`` completes."""
    iterator = messages.__aiter__()
    while True:
        nxt: asyncio.Future[PushMessage] = asyncio.ensure_future(iterator.__anext__())
        done, _ = await asyncio.wait({nxt, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if nxt not in done:
            nxt.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await nxt
            return
        try:
            message = nxt.result()
        except StopAsyncIteration:
            return
        yield message
