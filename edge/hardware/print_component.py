"""Printing a platform e-waybill through a Cainiao-protocol print component on the LAN.

Platform e-waybills are meant to be printed by the platform's print component, a desktop
program that listens on a WebSocket (Cainiao ``ws://…:13528``; docs/specs/marketplaces.md
§1.7.8 and floor-practice §6.1): the caller hands it the platform's ``print_data`` as it
came, plus a custom area (our items, order no., seller note), and the component renders
and prints. The protocol, as the spec and public ERP front ends use it [corroborated]:

* ``{"cmd": "getPrinters", "requestID", "version": "1.0"}`` → ``{"cmd": "getPrinters",
  "requestID", "defaultPrinter", "printers": [{"name", "status"}]}``;
* ``{"cmd": "print", "requestID", "version": "1.0", "task": {"taskID", "printer",
  "preview": false, "documents": [{"documentID", "contents": [<print_data>, <custom
  area>]}]}}`` → ``{"cmd": "print", "requestID", "taskID", "status": "success" |
  "failed", "msg"}``, then, once the printer is done, ``{"cmd": "notifyPrintResult",
  "printer", "taskID", "taskStatus": "printed" | "failed", "printStatus":
  [{"documentID", "status", "msg"}]}``.

:class:`PrintComponent` is the station's adapter (a blocking client: the kiosk prints
from a worker thread, as it does for TSPL); :class:`FakePrintComponent` is a component
that speaks the same protocol for tests and the demo, refusing what a component refuses.
``websockets`` is imported only here (the ``edge-hw`` extra).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

from edge.errors import DeviceUnavailable, PrinterError

PROTOCOL_VERSION = "1.0"
"""The ``version`` every request carries."""
REPLY_TIMEOUT_S = 10.0
"""Longest wait for the component's answer to a request."""
PRINTED_TIMEOUT_S = 30.0
"""Longest wait for ``notifyPrintResult`` after the component took a print task (a
printer warming up, a long queue)."""
OK_STATUSES = frozenset({"success"})
"""``status`` values of a reply that took the request."""
PRINTED = "printed"
"""``taskStatus`` of a task that came out of the printer."""


@dataclass(frozen=True, slots=True)
class Printers:
    """What ``getPrinters`` answered."""

    default: str
    """The component's default printer."""
    names: tuple[str, ...]
    """Every printer it offers."""


def print_command(request_id: str, task_id: str, printer: str,
                  documents: Sequence[tuple[str, Sequence[Mapping[str, Any]]]]) -> dict[str, Any]:
    """The ``print`` request: one document per (document id, contents)."""
    return {"cmd": "print", "requestID": request_id, "version": PROTOCOL_VERSION,
            "task": {"taskID": task_id, "printer": printer, "preview": False,
                     "documents": [{"documentID": doc_id, "contents": list(contents)}
                                   for doc_id, contents in documents]}}


def encode(message: Mapping[str, Any]) -> str:
    """A message as sent on the wire: compact JSON, Chinese kept as characters."""
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


def waybill_contents(print_data: str, custom: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """A document's contents: the platform's ``print_data`` (a JSON object, passed on
    unchanged) and the custom area when there is one. Print data that is not a JSON
    object is refused here: the component could only fail on it."""
    try:
        data = json.loads(print_data)
    except (TypeError, ValueError):
        data = None
    if not isinstance(data, dict):
        raise PrinterError("面单打印数据无效 / the waybill's print data is not a JSON object")
    return [data, dict(custom)] if custom else [data]


class PrintComponent:
    """A blocking client of a Cainiao-protocol print component (``ws://host:port``)."""

    def __init__(self, url: str, *, printer: str = "", timeout: float = REPLY_TIMEOUT_S,
                 printed_timeout: float = PRINTED_TIMEOUT_S) -> None:
        self.url = url
        """The component's WebSocket address."""
        self.printer = printer
        """The printer to use; empty: the component's default."""
        self._timeout = timeout
        self._printed_timeout = printed_timeout
        self._ws: Any = None
        self._lock = threading.Lock()

    def open(self) -> None:
        """Connect (the component must be running)."""
        from websockets.exceptions import WebSocketException
        from websockets.sync.client import connect

        try:
            # entered as a context manager (websockets ≥ 17.1 warns otherwise); left in
            # close()
            self._ws = connect(self.url, open_timeout=self._timeout,
                               max_size=2**22).__enter__()
        except (OSError, TimeoutError, WebSocketException) as err:
            raise DeviceUnavailable(f"打印组件未启动或无法连接 / print component unreachable at "
                                    f"{self.url}: {err}") from err

    def close(self) -> None:
        """Disconnect."""
        if self._ws is not None:
            self._ws.close()
            self._ws = None

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def printers(self) -> Printers:
        """``getPrinters``."""
        with self._lock:
            request_id = uuid.uuid4().hex
            self._send({"cmd": "getPrinters", "requestID": request_id,
                        "version": PROTOCOL_VERSION})
            reply = self._wait(lambda m: m.get("cmd") == "getPrinters"
                               and m.get("requestID") == request_id, self._timeout)
        names = tuple(str(p.get("name", "")) for p in reply.get("printers") or []
                      if isinstance(p, dict))
        return Printers(str(reply.get("defaultPrinter") or ""), names)

    def print_documents(self, task_id: str,
                        documents: Sequence[tuple[str, Sequence[Mapping[str, Any]]]]) -> None:
        """Print and wait until the component reports the task printed; a refusal, a
        failed print or no answer raises :class:`PrinterError` with the component's words."""
        with self._lock:
            request_id = uuid.uuid4().hex
            self._send(print_command(request_id, task_id, self.printer, documents))
            reply = self._wait(lambda m: m.get("cmd") == "print"
                               and m.get("requestID") == request_id, self._timeout)
            if reply.get("status") not in OK_STATUSES:
                raise PrinterError(f"打印组件拒绝 / the print component refused: "
                                   f"{reply.get('msg') or reply.get('status')}")
            done = self._wait(lambda m: m.get("cmd") == "notifyPrintResult"
                              and m.get("taskID") == task_id
                              and m.get("taskStatus") in (PRINTED, "failed"),
                              self._printed_timeout)
        if done.get("taskStatus") != PRINTED:
            why = "; ".join(str(s.get("msg") or s.get("status")) for s in
                            done.get("printStatus") or [] if isinstance(s, dict))
            raise PrinterError(f"打印失败 / printing failed: {why or done.get('taskStatus')}")

    def _send(self, message: Mapping[str, Any]) -> None:
        from websockets.exceptions import WebSocketException

        if self._ws is None:
            raise DeviceUnavailable("打印组件未连接 / print component not connected")
        try:
            self._ws.send(encode(message))
        except (OSError, WebSocketException) as err:
            raise PrinterError(f"打印组件连接断开 / print component connection lost: {err}") from err

    def _wait(self, wanted: Callable[[dict[str, Any]], bool], timeout: float) -> dict[str, Any]:
        """The next message ``wanted`` picks (others — another task's notice — skipped)."""
        from websockets.exceptions import WebSocketException

        while True:
            try:
                raw = self._ws.recv(timeout=timeout)
            except TimeoutError as err:
                raise PrinterError("打印组件无响应 / the print component did not answer") from err
            except (OSError, WebSocketException) as err:
                raise PrinterError(f"打印组件连接断开 / print component connection lost: "
                                   f"{err}") from err
            try:
                message = json.loads(raw)
            except ValueError:
                continue
            if isinstance(message, dict) and wanted(message):
                return message


class FakePrintComponent:
    """A Cainiao-protocol print component on 127.0.0.1 that records what it is sent.

    ``received`` holds every request's text as it arrived; ``printed`` each document it
    printed (``(printer, documentID, contents)``). It answers ``getPrinters`` and
    ``print`` as the protocol says, then sends ``notifyPrintResult``. It refuses a task
    for an unknown printer ("无效的打印机"), with no documents, or whose contents do not
    start with an object carrying the platform's ``encryptedData``/``signature`` or
    ``data`` (what its renderer needs); ``set_jammed()`` makes tasks fail at the printer.
    """

    def __init__(self, printers: Sequence[str] = ("Deli DL-888D", "Xprinter XP-420B"),
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.printer_names = tuple(printers)
        """The printers offered (the first is the default)."""
        self.host, self.port = host, port
        self.received: list[str] = []
        """Every request, as text, in arrival order."""
        self.printed: list[tuple[str, str, list[Any]]] = []
        """(printer, documentID, contents) of each printed document."""
        self.jammed = False
        """Tasks are taken, then reported failed (paper jam)."""
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def url(self) -> str:
        """``ws://host:port``."""
        return f"ws://{self.host}:{self.port}"

    def set_jammed(self, value: bool = True) -> None:
        """Take print tasks, then report them failed."""
        self.jammed = value

    def start(self) -> None:
        """Listen (a free port when 0) in a background thread."""
        from websockets.sync.server import serve

        self._server = serve(self._session, self.host, self.port, max_size=2**22)
        self.port = self._server.socket.getsockname()[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="fake-print-component")
        self._thread.start()

    def stop(self) -> None:
        """Stop listening and drop connections."""
        if self._server is not None:
            self._server.shutdown()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _session(self, ws: Any) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            for raw in ws:
                text = raw if isinstance(raw, str) else raw.decode()
                self.received.append(text)
                for reply in self.answer(text):
                    ws.send(encode(reply))
        except ConnectionClosed:
            return

    def answer(self, text: str) -> list[dict[str, Any]]:
        """The component's messages in answer to one request."""
        try:
            request = json.loads(text)
        except ValueError:
            return [{"cmd": "", "status": "failed", "msg": "请求不是合法的JSON"}]
        if not isinstance(request, dict):
            return [{"cmd": "", "status": "failed", "msg": "请求不是合法的JSON"}]
        cmd, request_id = request.get("cmd"), request.get("requestID")
        if cmd == "getPrinters":
            return [{"cmd": "getPrinters", "requestID": request_id, "status": "success",
                     "msg": "", "defaultPrinter": self.printer_names[0],
                     "printers": [{"name": n, "status": "enable"} for n in self.printer_names]}]
        if cmd != "print":
            return [{"cmd": cmd, "requestID": request_id, "status": "failed",
                     "msg": "不支持的命令"}]
        task = request.get("task")
        if not isinstance(task, dict) or not task.get("taskID"):
            return [{"cmd": "print", "requestID": request_id, "status": "failed",
                     "msg": "缺少task或taskID"}]
        task_id = str(task["taskID"])
        printer = str(task.get("printer") or self.printer_names[0])
        refused = self._refusal(task, printer)
        if refused:
            return [{"cmd": "print", "requestID": request_id, "taskID": task_id,
                     "status": "failed", "msg": refused}]
        docs = task["documents"]
        status = "failed" if self.jammed else "success"
        if not self.jammed:
            self.printed += [(printer, str(d["documentID"]), d["contents"]) for d in docs]
        return [{"cmd": "print", "requestID": request_id, "taskID": task_id,
                 "status": "success", "msg": ""},
                {"cmd": "notifyPrintResult", "printer": printer, "taskID": task_id,
                 "taskStatus": "failed" if self.jammed else PRINTED,
                 "printStatus": [{"documentID": d["documentID"], "status": status,
                                  "msg": "卡纸" if self.jammed else "", "detail": ""}
                                 for d in docs]}]

    def _refusal(self, task: dict[str, Any], printer: str) -> str:
        if printer not in self.printer_names:
            return "无效的打印机"
        docs = task.get("documents")
        if not isinstance(docs, list) or not docs:
            return "documents不能为空"
        for doc in docs:
            if not isinstance(doc, dict) or not doc.get("documentID"):
                return "documentID不能为空"
            contents = doc.get("contents")
            if not isinstance(contents, list) or not contents or not isinstance(
                    contents[0], dict):
                return "contents不能为空"
            first = contents[0]
            if not (("encryptedData" in first and "signature" in first) or "data" in first):
                return "打印数据无效"
        return ""
