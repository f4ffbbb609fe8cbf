// 导出任务: keep each running export's progress current (polls /exports/{id}.json every
// second); when one finishes the row shows its download link.
"use strict";
(function () {
  function poll(row) {
    const id = row.dataset.export;
    fetch("/exports/" + encodeURIComponent(id) + ".json", {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (st) {
        if (!st) { return; }
        row.dataset.state = st.state;
        row.querySelector("progress").value = st.percent;
        row.querySelector(".export-state").textContent = st.state_text;
        row.querySelector(".export-rows").textContent = st.rows_text;
        if (st.state === "running") {
          setTimeout(function () { poll(row); }, 1000);
        } else if (st.download) {
          const cell = row.querySelector(".export-file");
          cell.textContent = "";
          const a = document.createElement("a");
          a.className = "button";
          a.href = st.download;
          a.setAttribute("download", "");
          a.textContent = st.download_text;
          cell.append(a, " " + st.file_name);
        } else if (st.error) {
          const div = document.createElement("div");
          div.className = "error";
          div.textContent = st.error;
          row.querySelector("progress").after(div);
        }
      })
      .catch(function () { setTimeout(function () { poll(row); }, 3000); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("tr[data-export][data-state='running']").forEach(poll);
  });
})();
