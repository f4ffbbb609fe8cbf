// 打单台: print the ticked orders' e-waybills through the Cainiao-protocol print component
// running on this PC (ws://127.0.0.1:13528 unless told otherwise; the address is kept in
// this browser). The server gives the documents (the platform's print data unchanged plus
// the custom area); the component prints them; what it reports printed goes back to the
// server, which keeps the print status. Without JavaScript the list, filters and the
// packing list still work; printing needs the component, which only the browser can reach.
(function () {
  "use strict";
  var box = document.getElementById("desk-component");
  if (!box) { return; }
  var KEY = "packline.printComponent";
  var url = document.getElementById("desk-url");
  var connectButton = document.getElementById("desk-connect");
  var printer = document.getElementById("desk-printer");
  var reason = document.getElementById("desk-reason");
  var printButton = document.getElementById("desk-print");
  var message = document.getElementById("desk-message");
  var all = document.getElementById("desk-all");
  var orderBy = document.getElementById("f-order");
  var zh = document.documentElement.lang !== "en";
  var csrf = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || "";
  var ws = null;
  var tasks = {};
  var seq = 0;
  box.hidden = false;
  url.value = window.localStorage.getItem(KEY) || url.value;

  function say(zhText, enText, bad) {
    message.textContent = zh ? zhText : enText;
    message.className = bad ? "error" : "muted";
  }
  function nextId(prefix) {
    seq += 1;
    return prefix + Date.now().toString(36) + "-" + seq;
  }
  function send(request) {
    ws.send(JSON.stringify(request));
  }
  function ticked() {
    return Array.prototype.map.call(
      document.querySelectorAll('#desk-table input[name="ids"]:checked'),
      function (box) { return box.value; });
  }
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll('#desk-table input[name="ids"]').forEach(function (box) {
        box.checked = all.checked;
      });
    });
  }
  if (orderBy) {
    orderBy.addEventListener("change", function () {
      document.getElementById("desk-order-by").value = orderBy.value;
    });
  }

  function recordPrinted(task, result) {
    var printed = [];
    (result.printStatus || []).forEach(function (doc) {
      if (doc.status === "success" && task.orders[doc.documentID]) {
        printed.push({ documentID: doc.documentID, orderId: task.orders[doc.documentID] });
      }
    });
    var failed = (result.printStatus || []).length - printed.length;
    if (!printed.length) {
      say("打印失败: " + ((result.printStatus || [])[0] || {}).msg,
          "printing failed: " + ((result.printStatus || [])[0] || {}).msg, true);
      return;
    }
    fetch("/desk/printed", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ taskId: result.taskID, printer: result.printer || task.printer,
                             reason: task.reason, printed: printed })
    }).then(function (r) { return r.json().then(function (body) { return [r.ok, body]; }); })
      .then(function (answer) {
        if (!answer[0]) { say(answer[1].error, answer[1].error, true); return; }
        say("已打印 " + printed.length + " 张" + (failed ? ", 失败 " + failed + " 张" : ""),
            printed.length + " printed" + (failed ? ", " + failed + " failed" : ""), failed > 0);
        window.setTimeout(function () { window.location.reload(); }, 600);
      });
  }

  function onMessage(event) {
    var m;
    try { m = JSON.parse(event.data); } catch (e) { return; }
    if (m.cmd === "getPrinters") {
      printer.innerHTML = "";
      (m.printers || []).forEach(function (p) {
        var option = document.createElement("option");
        option.value = option.textContent = p.name;
        option.selected = p.name === m.defaultPrinter;
        printer.appendChild(option);
      });
      printButton.disabled = false;
      say("打印组件已连接", "print component connected", false);
    } else if (m.cmd === "print" && m.status !== "success") {
      say("打印组件拒绝: " + m.msg, "the print component refused: " + m.msg, true);
    } else if (m.cmd === "notifyPrintResult" && tasks[m.taskID]) {
      recordPrinted(tasks[m.taskID], m);
      delete tasks[m.taskID];
    }
  }

  connectButton.addEventListener("click", function () {
    if (ws) { ws.close(); }
    window.localStorage.setItem(KEY, url.value);
    say("正在连接…", "connecting…", false);
    try {
      ws = new WebSocket(url.value);
    } catch (e) {
      say("打印组件地址无效", "not a valid component address", true);
      return;
    }
    ws.onopen = function () { send({ cmd: "getPrinters", requestID: nextId("R"), version: "1.0" }); };
    ws.onmessage = onMessage;
    ws.onerror = function () {
      printButton.disabled = true;
      say("连不上打印组件, 请确认它已在本机运行", "cannot reach the print component: is it running on this PC?", true);
    };
  });

  printButton.addEventListener("click", function () {
    var ids = ticked();
    if (!ids.length) { say("请先勾选订单", "select orders first", true); return; }
    var form = new URLSearchParams();
    ids.forEach(function (id) { form.append("ids", id); });
    form.append("order_by", orderBy ? orderBy.value : "ship_by");
    form.append("reason", reason.value);
    fetch("/desk/print-data", {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf }, body: form
    }).then(function (r) { return r.json().then(function (body) { return [r.ok, body]; }); })
      .then(function (answer) {
        if (!answer[0]) { say(answer[1].error, answer[1].error, true); reason.focus(); return; }
        var docs = answer[1].documents;
        if (!docs.length) { say("所选订单还没有面单号", "the selected orders have no waybill yet", true); return; }
        var taskId = nextId("T");
        var orders = {};
        docs.forEach(function (d) { orders[d.documentID] = d.orderId; });
        tasks[taskId] = { orders: orders, reason: reason.value, printer: printer.value };
        send({ cmd: "print", requestID: nextId("R"), version: "1.0", task: {
          taskID: taskId, printer: printer.value, preview: false,
          documents: docs.map(function (d) { return { documentID: d.documentID, contents: d.contents }; })
        } });
        say("已发送 " + docs.length + " 张到打印机…", docs.length + " sent to the printer…", false);
      });
  });
  // a component this browser used before: connect at once (the page reloads after a print)
  if (window.localStorage.getItem(KEY)) { connectButton.click(); }
}());
