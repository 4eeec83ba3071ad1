// Behaviour of the staff pages. It lives in this file, not in the pages, because their
// Content-Security-Policy allows scripts from our own origin only (no inline script or
// on...= handler; see bot/service/headers.py). Each part acts only on the page whose
// elements it finds; values from the server come in data-* attributes.
(function () {
  "use strict";

  // A form or button with data-confirm asks before it submits.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) {
        event.preventDefault();
      }
    });
  });
  document.querySelectorAll("button[data-confirm]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      if (!window.confirm(button.dataset.confirm)) {
        event.preventDefault();
      }
    });
  });

  // Knowledge-base editor: "add a row" buttons copy the table's last row, emptied.
  document.querySelectorAll("[data-add-row]").forEach(function (button) {
    button.addEventListener("click", function () {
      var body = document.getElementById("rows-" + button.dataset.addRow);
      var last = body.rows[body.rows.length - 1];
      var row = last.cloneNode(true);
      var index = body.rows.length;
      row.querySelectorAll("input, textarea").forEach(function (input) {
        input.name = input.name.replace(/\.\d+\./, "." + index + ".");
        input.id = "f-" + input.name;
        if (input.type === "checkbox") {
          input.checked = false;
        } else {
          input.value = "";
        }
        input.removeAttribute("aria-invalid");
        input.removeAttribute("aria-describedby");
        var label = input.getAttribute("aria-label");
        if (label) { input.setAttribute("aria-label", label.replace(/dòng \d+/, "dòng " + (index + 1))); }
      });
      row.querySelectorAll(".field-error").forEach(function (e) { e.remove(); });
      row.querySelectorAll(".invalid").forEach(function (e) { e.classList.remove("invalid"); });
      body.appendChild(row);
      row.querySelector("input, textarea").focus();
    });
  });

  // Inbox: a search box per question finds any procedure (curated or national) through
  // /admin/api/procedures and puts the chosen one's id into the procedure field; without
  // this script the officer types the id.
  document.querySelectorAll(".procedure-search[data-target]").forEach(function (box) {
    var target = document.getElementById(box.dataset.target);
    var search = box.querySelector("input[type=search]");
    var results = box.querySelector(".procedure-results");
    var chosen = box.querySelector(".procedure-chosen");
    var timer = null;
    var asked = 0;
    box.hidden = false;
    var show = function (procedures) {
      results.textContent = "";
      if (!procedures.length) {
        results.textContent = "Không tìm thấy thủ tục nào.";
        return;
      }
      procedures.forEach(function (p) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "procedure-hit";
        button.textContent = p.name + (p.code ? " (" + p.code + ")" : "") +
          (p.tier === "national" ? " — bản ghi quốc gia" : "");
        button.addEventListener("click", function () {
          target.value = p.id;
          chosen.textContent = "Đã chọn: " + p.name + " (" + p.id + ")";
          results.textContent = "";
        });
        results.appendChild(button);
      });
    };
    var ask = function () {
      var query = search.value.trim();
      var mine = ++asked;
      if (!query) {
        results.textContent = "";
        return;
      }
      fetch("/admin/api/procedures?q=" + encodeURIComponent(query), {
        credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" }
      }).then(function (response) {
        return response.ok ? response.json() : null;
      }).then(function (data) {
        if (data && mine === asked) {
          show(data.procedures);
        }
      }).catch(function () {});
    };
    search.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(ask, 200);
    });
    search.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {  // searching must not submit the label
        event.preventDefault();
        clearTimeout(timer);
        ask();
      }
    });
    target.addEventListener("input", function () { chosen.textContent = ""; });
  });

  // Handoff queue: the lists refresh themselves, and the tab title counts who is waiting.
  var queue = document.getElementById("queue");
  if (queue && queue.dataset.refreshMs) {
    var queueUrl = "/admin/handoff?fragment=1&view=" + encodeURIComponent(queue.dataset.view);
    var queueDelay = parseInt(queue.dataset.refreshMs, 10);
    var showCount = function () {
      var lists = queue.querySelector("[data-waiting]");
      var count = lists ? parseInt(lists.getAttribute("data-waiting"), 10) : 0;
      document.title = (count ? "(" + count + ") " : "") + "Chờ hỗ trợ — Trợ lý thủ tục hành chính";
    };
    var refresh = function () {
      fetch(queueUrl, { credentials: "same-origin", cache: "no-store" }).then(function (response) {
        if (response.ok && !response.redirected) {
          return response.text();
        }
        return null;
      }).then(function (html) {
        if (html !== null) {
          queue.innerHTML = html;
          showCount();
        }
      }).catch(function () {}).finally(function () {
        setTimeout(refresh, queueDelay);
      });
    };
    showCount();
    setTimeout(refresh, queueDelay);
  }

  // Handoff conversation: new turns are appended; a change of status or officer is announced.
  var history = document.getElementById("history");
  if (history && history.dataset.turnsUrl) {
    var changed = document.getElementById("changed");
    var turnsUrl = history.dataset.turnsUrl;
    var historyDelay = parseInt(history.dataset.refreshMs, 10);
    history.scrollTop = history.scrollHeight;
    var check = function () {
      fetch(turnsUrl + encodeURIComponent(history.dataset.last), {
        credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" }
      }).then(function (response) {
        return response.ok ? response.json() : null;
      }).then(function (data) {
        if (!data) {
          return;
        }
        if (data.html && data.html.trim()) {
          history.insertAdjacentHTML("beforeend", data.html);
          history.scrollTop = history.scrollHeight;
        }
        history.dataset.last = String(data.last_id);
        if (data.status !== history.dataset.status || (data.assigned_to || "") !== history.dataset.assigned) {
          changed.hidden = false;
        }
      }).catch(function () {}).finally(function () {
        setTimeout(check, historyDelay);
      });
    };
    setTimeout(check, historyDelay);
    var text = document.getElementById("reply-text");
    if (text) {
      text.addEventListener("keydown", function (event) {
        if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
          event.preventDefault();
          document.getElementById("reply-form").requestSubmit();
        }
      });
    }
  }
})();
