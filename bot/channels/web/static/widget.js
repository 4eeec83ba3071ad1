/*
 * egovbot web chat widget.
 *
 * Embed with one tag:  <script src="https://<bot host>/static/widget.js" defer></script>
 * Optional attributes on that tag:
 *   data-open="true"        open the panel when the page loads
 *   data-title="..."        the panel's title (default "Trợ lý thủ tục hành chính")
 *   data-poll-seconds="3"   how often to ask for staff replies
 *
 * The widget talks to the server it was loaded from (the origin of its own src), keeps the
 * conversation in localStorage (its sender id is issued and signed by the server: only this
 * browser can read the conversation's staff replies), and inserts all text with textContent: server text is never
 * parsed as HTML. Every class and id starts with "egb-" so the host page's CSS is not touched.
 * window.EgovBot.open() / .close() let the host page open it from its own buttons.
 */
(function () {
  "use strict";

  if (window.EgovBot && window.EgovBot.loaded) {
    return; // the tag was included twice
  }

  var MAX_CHARS = 4000;
  var MAX_IMAGE_BYTES = 10 * 1024 * 1024; // EGOVBOT_RECEIPT_MAX_BYTES's default
  var COUNTER_FROM = 3500; // show the character counter once the text is this long
  var MAX_STORED = 200; // messages kept in localStorage
  var REQUEST_TIMEOUT_MS = 30000;
  var SVG_NS = "http://www.w3.org/2000/svg";

  var TEXT = {
    title: "Trợ lý thủ tục hành chính",
    subtitle: "Trả lời tự động",
    launcher: "Hỏi đáp thủ tục",
    unread: " (có tin nhắn mới)",
    close: "Đóng cửa sổ trò chuyện",
    newChat: "Cuộc trò chuyện mới",
    eraseShort: "Xóa dữ liệu",
    erase: "Xóa dữ liệu của tôi",
    greeting: "Xin chào! Tôi là trợ lý ảo hướng dẫn thủ tục hành chính. Bạn có thể hỏi về " +
      "các bước, giấy tờ, lệ phí, thời gian, nơi nộp hồ sơ, hoặc tra cứu tình trạng hồ sơ.",
    examplesLabel: "Câu hỏi gợi ý",
    examples: [
      "Làm căn cước cần giấy tờ gì?",
      "Làm hộ chiếu hết bao nhiêu tiền?",
      "Đăng ký khai sinh online được không?",
      "Tra cứu tình trạng hồ sơ",
    ],
    inputLabel: "Nhập câu hỏi của bạn",
    placeholder: "Nhập câu hỏi…",
    send: "Gửi",
    typing: "Trợ lý đang trả lời…",
    you: "Bạn",
    bot: "Trợ lý",
    staff: "Nhân viên hỗ trợ",
    logLabel: "Nội dung trò chuyện",
    optionsLabel: "Lựa chọn",
    linksLabel: "Liên kết",
    newWindow: " (mở trong cửa sổ mới)",
    retry: "Thử lại",
    notice: "Vui lòng không gửi mật khẩu, mã OTP.",
    tooLong: "Tin nhắn dài tối đa " + MAX_CHARS.toLocaleString("vi-VN") + " ký tự.",
    unreachable: "Không kết nối được với máy chủ. Vui lòng kiểm tra kết nối mạng rồi bấm " +
      "“Thử lại”.",
    badRequest: "Tin nhắn không gửi được vì không hợp lệ (tối đa " +
      MAX_CHARS.toLocaleString("vi-VN") + " ký tự). Vui lòng sửa lại rồi gửi.",
    busy: "Hệ thống đang bận hoặc đang khởi động lại. Vui lòng thử lại sau ít phút.",
    serverError: "Máy chủ đang gặp sự cố. Vui lòng thử lại sau ít phút.",
    tooFast: "Bạn gửi tin nhắn quá nhanh. Vui lòng chờ một chút rồi thử lại.",
    interrupted: "Tin nhắn này chưa nhận được trả lời. Bấm “Thử lại” để gửi lại.",
    attach: "Gửi ảnh giấy tiếp nhận hồ sơ",
    photo: "📷 Ảnh giấy tiếp nhận hồ sơ",
    imageTooBig: "Ảnh lớn quá " + (MAX_IMAGE_BYTES / 1048576) + " MB. Vui lòng chụp lại " +
      "hoặc chọn ảnh nhỏ hơn.",
    imageGone: "Ảnh này chưa gửi được. Vui lòng bấm nút máy ảnh để chọn lại ảnh.",
  };

  // ---- where we come from -------------------------------------------------------------------

  function findScript() {
    if (document.currentScript && document.currentScript.src) {
      return document.currentScript;
    }
    var scripts = document.getElementsByTagName("script");
    for (var i = scripts.length - 1; i >= 0; i--) {
      if (/\/static\/widget\.js(\?|#|$)/.test(scripts[i].src)) {
        return scripts[i];
      }
    }
    return null;
  }

  var script = findScript();
  var scriptUrl = new URL(script ? script.src : "/static/widget.js", document.baseURI);
  var API = scriptUrl.origin;
  var dataset = script ? script.dataset : {};
  var TITLE = (dataset.title || "").trim() || TEXT.title;
  var pollSeconds = parseFloat(dataset.pollSeconds);
  var POLL_MS = (pollSeconds >= 0.2 ? pollSeconds : 3) * 1000;
  var STORAGE_KEY = "egovbot:" + API;

  // ---- state kept across reloads ------------------------------------------------------------

  var memoryStore = {}; // used when localStorage is unavailable (private mode, blocked)

  function storageGet(key) {
    try {
      return window.localStorage.getItem(key);
    } catch (e) {
      return Object.prototype.hasOwnProperty.call(memoryStore, key) ? memoryStore[key] : null;
    }
  }

  function storageSet(key, value) {
    try {
      window.localStorage.setItem(key, value);
    } catch (e) {
      memoryStore[key] = value;
    }
  }

  // A sender id the server issued: "w" + 32 random hex digits, "." and its signature.
  var SIGNED_SENDER = /^w[0-9a-f]{32}\.[A-Za-z0-9_-]{16,64}$/;

  function freshState() {
    // the sender id is asked for with the first message (see ensureSender)
    return { v: 1, sender: null, messages: [], lastId: 0, seq: 0, open: false };
  }

  function loadState() {
    var raw = storageGet(STORAGE_KEY);
    if (!raw) {
      return null;
    }
    try {
      var saved = JSON.parse(raw);
      if (!saved || saved.v !== 1 || !Array.isArray(saved.messages)) {
        return null;
      }
      if (typeof saved.sender !== "string" || !SIGNED_SENDER.test(saved.sender)) {
        // none yet, or one the browser made up (older widget): the next message gets one
        saved.sender = null;
        saved.lastId = 0;
      }
      saved.lastId = Number(saved.lastId) || 0;
      saved.seq = Number(saved.seq) || 0;
      saved.messages = saved.messages.filter(function (m) {
        return m && typeof m.text === "string" && (m.role === "user" || m.role === "bot");
      });
      return saved;
    } catch (e) {
      return null;
    }
  }

  function saveState() {
    if (state.messages.length > MAX_STORED) {
      state.messages = state.messages.slice(-MAX_STORED);
    }
    storageSet(STORAGE_KEY, JSON.stringify(state));
  }

  var state = loadState() || freshState();
  state.messages.forEach(function (m) {
    if (m.status === "pending") {
      m.status = "failed"; // the page was closed before the answer came
      m.error = TEXT.interrupted;
    }
  });

  // ---- small DOM helpers --------------------------------------------------------------------

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function icon(paths, className) {
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", className || "egb-icon");
    paths.forEach(function (d) {
      var path = document.createElementNS(SVG_NS, "path");
      path.setAttribute("d", d);
      svg.appendChild(path);
    });
    return svg;
  }

  var ICON_CHAT = ["M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 " +
    "2 0 0 1 2-2z"];
  var ICON_CLOSE = ["M6 6l12 12", "M18 6L6 18"];
  var ICON_SEND = ["M3 20l18-8L3 4v6l12 2-12 2z"];
  var ICON_CAMERA = ["M4 8h3l2-3h6l2 3h3v11H4z", "M12 10.5a3 3 0 1 0 0 6a3 3 0 1 0 0-6"];
  var ICON_NEW = ["M4 12a8 8 0 1 0 2.3-5.6", "M4 4v4h4"];
  var ICON_ERASE = ["M4 7h16", "M9 7V4h6v3", "M6 7l1 13h10l1-13"];
  var ERASE_PAYLOAD = "/delete_my_data";  // the bot asks to confirm, with its own buttons

  function safeUrl(url) {
    try {
      var parsed = new URL(String(url), API);
      if (/^(https?|mailto|tel):$/.test(parsed.protocol)) {
        return parsed.href;
      }
    } catch (e) {
      // not a URL: shown as text
    }
    return null;
  }

  function linkElement(href, text, className) {
    var a = el("a", className, text);
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    return a;
  }

  var URL_IN_TEXT = /https?:\/\/[^\s<>"'`]+/g;

  // Punctuation after an address ends the sentence; a ")" is part of it only when balanced.
  function trimUrl(url) {
    for (;;) {
      if (/[.,;:!?'"]$/.test(url)) {
        url = url.slice(0, -1);
      } else if (/\)$/.test(url) && url.split("(").length < url.split(")").length) {
        url = url.slice(0, -1);
      } else {
        return url;
      }
    }
  }

  // Append text to a node, turning web addresses into links; line breaks are kept by CSS.
  function appendRichText(node, text) {
    var last = 0;
    var match;
    URL_IN_TEXT.lastIndex = 0;
    while ((match = URL_IN_TEXT.exec(text)) !== null) {
      var url = trimUrl(match[0]);
      var href = safeUrl(url);
      if (!href || url.length < 10) {
        continue;
      }
      node.appendChild(document.createTextNode(text.slice(last, match.index)));
      node.appendChild(linkElement(href, url, "egb-inline-link"));
      last = match.index + url.length;
      URL_IN_TEXT.lastIndex = last;
    }
    node.appendChild(document.createTextNode(text.slice(last)));
  }

  // ---- building the widget ------------------------------------------------------------------

  var root = el("div", "egb-root");
  root.id = "egb-root";
  root.style.display = "none"; // until our stylesheet is in
  root.setAttribute("lang", "vi");

  var launcher = el("button", "egb-launcher");
  launcher.type = "button";
  launcher.setAttribute("aria-controls", "egb-panel");
  launcher.setAttribute("aria-expanded", "false");
  launcher.appendChild(icon(ICON_CHAT));
  launcher.appendChild(el("span", "egb-launcher-text", TEXT.launcher));
  var unreadText = el("span", "egb-sr-only", "");
  launcher.appendChild(unreadText);
  var badge = el("span", "egb-badge");
  badge.hidden = true;
  badge.setAttribute("aria-hidden", "true");
  launcher.appendChild(badge);

  var panel = el("section", "egb-panel");
  panel.id = "egb-panel";
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-modal", "false");
  panel.setAttribute("aria-labelledby", "egb-title");

  // Header: the title and a close button, then a line with the subtitle and "new conversation".
  var header = el("div", "egb-header");
  var headerTop = el("div", "egb-header-row");
  var title = el("h2", "egb-title", TITLE);
  title.id = "egb-title";
  var headerBottom = el("div", "egb-header-row egb-header-tools");
  var newChatButton = el("button", "egb-header-button egb-new");
  newChatButton.type = "button";
  newChatButton.title = TEXT.newChat;
  newChatButton.appendChild(icon(ICON_NEW));
  newChatButton.appendChild(el("span", "egb-new-text", TEXT.newChat));
  // "Xóa dữ liệu của tôi": sends the request; the bot answers with "Xóa" / "Không xóa".
  var eraseButton = el("button", "egb-header-button egb-new egb-erase");
  eraseButton.type = "button";
  eraseButton.title = TEXT.erase;
  eraseButton.setAttribute("aria-label", TEXT.erase);
  eraseButton.appendChild(icon(ICON_ERASE));
  eraseButton.appendChild(el("span", "egb-new-text egb-erase-text", TEXT.eraseShort));
  var closeButton = el("button", "egb-header-button egb-close");
  closeButton.type = "button";
  closeButton.setAttribute("aria-label", TEXT.close);
  closeButton.title = TEXT.close;
  closeButton.appendChild(icon(ICON_CLOSE));
  headerTop.appendChild(title);
  headerTop.appendChild(closeButton);
  headerBottom.appendChild(el("p", "egb-subtitle", TEXT.subtitle));
  headerBottom.appendChild(eraseButton);
  headerBottom.appendChild(newChatButton);
  header.appendChild(headerTop);
  header.appendChild(headerBottom);

  var scroller = el("div", "egb-scroll");
  var welcome = el("div", "egb-welcome");
  var log = el("div", "egb-log");
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  log.setAttribute("aria-relevant", "additions");
  log.setAttribute("aria-label", TEXT.logLabel);
  var typing = el("div", "egb-typing");
  typing.setAttribute("role", "status");
  var typingDots = el("span", "egb-typing-dots");
  typingDots.setAttribute("aria-hidden", "true");
  typingDots.appendChild(el("span", "egb-dot"));
  typingDots.appendChild(el("span", "egb-dot"));
  typingDots.appendChild(el("span", "egb-dot"));
  var typingText = el("span", "egb-sr-only", "");
  typing.appendChild(typingDots);
  typing.appendChild(typingText);
  typing.hidden = true;
  scroller.appendChild(welcome);
  scroller.appendChild(log);
  scroller.appendChild(typing);

  var form = el("form", "egb-form");
  form.noValidate = true;
  var label = el("label", "egb-sr-only", TEXT.inputLabel);
  label.htmlFor = "egb-input";
  var input = el("textarea", "egb-input");
  input.id = "egb-input";
  input.rows = 1;
  input.maxLength = MAX_CHARS;
  input.placeholder = TEXT.placeholder;
  input.setAttribute("enterkeyhint", "send");
  input.setAttribute("aria-describedby", "egb-counter");
  var sendButton = el("button", "egb-send");
  sendButton.type = "submit";
  sendButton.setAttribute("aria-label", TEXT.send);
  sendButton.title = TEXT.send;
  sendButton.appendChild(icon(ICON_SEND));
  // A photo of the receipt ("Giấy tiếp nhận hồ sơ"): its QR code or barcode is read server-side.
  var fileInput = el("input", "egb-sr-only");
  fileInput.type = "file";
  fileInput.accept = "image/*";
  fileInput.setAttribute("capture", "environment");
  fileInput.tabIndex = -1;
  fileInput.setAttribute("aria-hidden", "true");
  var attachButton = el("button", "egb-attach");
  attachButton.type = "button";
  attachButton.setAttribute("aria-label", TEXT.attach);
  attachButton.title = TEXT.attach;
  attachButton.appendChild(icon(ICON_CAMERA));
  form.appendChild(fileInput);
  form.appendChild(attachButton);
  form.appendChild(label);
  form.appendChild(input);
  form.appendChild(sendButton);

  var footer = el("div", "egb-footer");
  var notice = el("span", "egb-notice", TEXT.notice);
  var counter = el("span", "egb-counter", "");
  counter.id = "egb-counter";
  counter.setAttribute("aria-live", "polite");
  footer.appendChild(notice);
  footer.appendChild(counter);

  panel.appendChild(header);
  panel.appendChild(scroller);
  panel.appendChild(form);
  panel.appendChild(footer);
  root.appendChild(panel);
  root.appendChild(launcher);

  // ---- rendering messages -------------------------------------------------------------------

  var elements = {}; // message key -> its element

  function senderName(message) {
    if (message.role === "user") {
      return TEXT.you;
    }
    return message.from && message.from !== "bot" ? TEXT.staff : TEXT.bot;
  }

  function renderButtons(buttons, className) {
    var group = el("div", className);
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", TEXT.optionsLabel);
    buttons.forEach(function (b) {
      if (!b || typeof b.title !== "string" || !b.title) {
        return;
      }
      var button = el("button", "egb-choice", b.title);
      button.type = "button";
      button.addEventListener("click", function () {
        send(b.title, typeof b.payload === "string" && b.payload ? b.payload : b.title);
      });
      group.appendChild(button);
    });
    return group;
  }

  function renderMessage(message) {
    var item = el("div", "egb-msg egb-msg-" + message.role);
    item.appendChild(el("span", "egb-sr-only", senderName(message) + ": "));
    if (message.role === "bot" && message.from && message.from !== "bot") {
      var who = el("span", "egb-from", TEXT.staff);
      who.setAttribute("aria-hidden", "true");
      item.appendChild(who);
    }
    var bubble = el("div", "egb-bubble");
    appendRichText(bubble, message.text);
    item.appendChild(bubble);

    var links = Array.isArray(message.links) ? message.links : [];
    if (links.length) {
      var list = el("ul", "egb-links");
      list.setAttribute("aria-label", TEXT.linksLabel);
      links.forEach(function (link) {
        if (!link) {
          return;
        }
        var li = el("li", "egb-links-item");
        var linkTitle = String(link.title || link.url || "");
        var href = safeUrl(link.url);
        if (href) {
          var a = linkElement(href, linkTitle, "egb-link");
          a.appendChild(el("span", "egb-sr-only", TEXT.newWindow));
          li.appendChild(a);
        } else {
          li.textContent = linkTitle + (link.url ? ": " + String(link.url) : "");
        }
        list.appendChild(li);
      });
      item.appendChild(list);
    }
    var buttons = Array.isArray(message.buttons) ? message.buttons : [];
    if (message.role === "bot" && buttons.length) {
      item.appendChild(renderButtons(buttons, "egb-choices"));
    }
    if (message.role === "user" && message.status === "failed") {
      var error = el("div", "egb-error");
      error.setAttribute("role", "alert");
      error.appendChild(el("span", "egb-error-text", message.error || TEXT.unreachable));
      var retry = el("button", "egb-retry", TEXT.retry);
      retry.type = "button";
      retry.addEventListener("click", function () {
        retryMessage(message);
      });
      error.appendChild(retry);
      item.appendChild(error);
    }
    return item;
  }

  // Buttons of bot messages are offered only until the citizen writes again.
  function refreshChoices() {
    var afterLastUser = true;
    for (var i = state.messages.length - 1; i >= 0; i--) {
      var m = state.messages[i];
      var node = elements[m.key];
      if (m.role === "user") {
        afterLastUser = false;
      } else if (node) {
        node.classList.toggle("egb-old", !afterLastUser);
      }
    }
  }

  function renderWelcome() {
    while (welcome.firstChild) {
      welcome.removeChild(welcome.firstChild);
    }
    if (state.messages.length) {
      welcome.hidden = true;
      return;
    }
    welcome.hidden = false;
    var greeting = el("div", "egb-msg egb-msg-bot");
    greeting.appendChild(el("div", "egb-bubble", TEXT.greeting));
    var examples = TEXT.examples.map(function (q) {
      return { title: q, payload: q };
    });
    var group = renderButtons(examples, "egb-choices egb-examples");
    group.setAttribute("aria-label", TEXT.examplesLabel);
    greeting.appendChild(group);
    welcome.appendChild(greeting);
  }

  function scrollToEnd() {
    scroller.scrollTop = scroller.scrollHeight;
  }

  // New replies: show them from their start (a long answer is read from the top).
  function reveal(messages) {
    var first = messages.length ? elements[messages[0].key] : null;
    if (first) {
      scroller.scrollTop = Math.max(0, first.offsetTop - 12);
    }
  }

  function renderAll() {
    elements = {};
    while (log.firstChild) {
      log.removeChild(log.firstChild);
    }
    state.messages.forEach(function (m) {
      elements[m.key] = renderMessage(m);
      log.appendChild(elements[m.key]);
    });
    renderWelcome();
    refreshChoices();
    scrollToEnd();
  }

  function rerender(message) {
    var old = elements[message.key];
    var fresh = renderMessage(message);
    elements[message.key] = fresh;
    if (old && old.parentNode) {
      old.parentNode.replaceChild(fresh, old);
    } else {
      log.appendChild(fresh);
    }
    refreshChoices();
  }

  function addMessage(message) {
    state.seq += 1;
    message.key = "m" + state.seq;
    message.at = Date.now();
    state.messages.push(message);
    saveState();
    if (state.messages.length === 1) {
      renderWelcome();
    }
    elements[message.key] = renderMessage(message);
    log.appendChild(elements[message.key]);
    refreshChoices();
    scrollToEnd();
    return message;
  }

  function botMessage(reply, from, id) {
    return {
      role: "bot",
      from: from || "bot",
      id: id,
      text: typeof reply.text === "string" ? reply.text : "",
      buttons: Array.isArray(reply.buttons) ? reply.buttons : [],
      links: Array.isArray(reply.links) ? reply.links : [],
    };
  }

  // ---- talking to the server ----------------------------------------------------------------

  var queue = Promise.resolve();
  var waiting = 0;

  function setTyping(on) {
    typing.hidden = !on;
    typingText.textContent = on ? TEXT.typing : "";
    if (on) {
      scrollToEnd();
    }
  }

  function errorFor(status) {
    if (status === 410) {
      return TEXT.imageGone;
    }
    if (status === 400 || status === 413) {
      return TEXT.badRequest;
    }
    if (status === 429) {
      return TEXT.tooFast;
    }
    if (status === 502 || status === 503 || status === 504) {
      return TEXT.busy;
    }
    return TEXT.serverError;
  }

  function fetchJson(url, options) {
    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); },
      REQUEST_TIMEOUT_MS) : null;
    var opts = Object.assign({ credentials: "omit", cache: "no-store" }, options || {});
    if (controller) {
      opts.signal = controller.signal;
    }
    return fetch(url, opts).then(function (response) {
      if (!response.ok) {
        var failure = new Error("HTTP " + response.status);
        failure.status = response.status;
        throw failure;
      }
      return response.json();
    }).finally(function () {
      if (timer) {
        clearTimeout(timer);
      }
    });
  }

  // The conversation's sender id, asked from the server the first time.
  function ensureSender() {
    if (state.sender) {
      return Promise.resolve(state.sender);
    }
    var asked = state;
    return fetchJson(API + "/api/chat/session", { method: "POST" }).then(function (answer) {
      if (!answer || typeof answer.sender !== "string" || !SIGNED_SENDER.test(answer.sender)) {
        throw new Error("bad session answer");
      }
      if (asked !== state) {
        throw new Error("started over"); // the citizen began a new conversation meanwhile
      }
      if (!state.sender) {
        state.sender = answer.sender;
        saveState();
      }
      return state.sender;
    });
  }

  // After the citizen's deletion: the messages shown and stored so far go; the server's
  // conversation starts again with the confirmation, under the same sender id.
  function forgetConversation() {
    state.messages = [];
    state.lastId = 0;
    saveState();
    renderAll();
  }

  function forgetSender() {
    state.sender = null;
    state.lastId = 0;
    saveState();
  }

  // Whether an answer is for a conversation the citizen has left (another tab's copy of the
  // same conversation is not a different one).
  function stale(owner, sender) {
    return owner !== state && (!sender || sender !== state.sender);
  }

  function deliver(message) {
    var owner = state;
    var sender = state.sender;
    return ensureSender().then(function (issued) {
      sender = issued;
      if (message.image) {
        var file = imageFiles.get(message);
        if (!file) { // the page was reloaded: the photo itself is not kept
          var gone = new Error("image gone");
          gone.status = 410;
          throw gone;
        }
        return fetchJson(API + "/api/chat/image?sender=" + encodeURIComponent(sender), {
          method: "POST",
          headers: { "Content-Type": file.type || "application/octet-stream" },
          body: file,
        });
      }
      return fetchJson(API + "/api/chat", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ sender: sender, message: message.payload }),
      });
    }).then(function (replies) {
      if (stale(owner, sender)) {
        return; // the citizen started a new conversation meanwhile
      }
      message.status = "sent";
      delete message.error;
      saveState();
      rerender(message);
      var added = [];
      (Array.isArray(replies) ? replies : []).forEach(function (reply) {
        if (reply && reply.custom && reply.custom.event === "erased") {
          forgetConversation(); // deleted on the server: keep no copy on this device either
          added = [];
        }
        var message = reply && botMessage(reply);
        if (message && (message.text || message.buttons.length || message.links.length)) {
          added.push(addMessage(message));
        }
      });
      if (panel.hidden && added.length) {
        setUnread(unread + added.length);
      }
      reveal(added);
    }, function (failure) {
      if (stale(owner, sender)) {
        return;
      }
      if (failure && failure.status === 403 && sender && sender === state.sender) {
        forgetSender(); // the server no longer knows this id: "Thử lại" gets a new one
      }
      message.status = "failed";
      message.error = failure && failure.status ? errorFor(failure.status) : TEXT.unreachable;
      saveState();
      rerender(message);
      scrollToEnd();
    });
  }

  function enqueue(message) {
    waiting += 1;
    setTyping(true);
    schedulePoll(); // a conversation exists now: start asking for staff replies
    queue = queue.then(function () {
      return deliver(message);
    }).finally(function () {
      waiting -= 1;
      if (!waiting) {
        setTyping(false);
      }
    });
  }

  // Show the citizen's words (a button's title) and send the payload.
  function send(shown, payload) {
    var text = String(shown).trim();
    if (!text) {
      return;
    }
    if (text.length > MAX_CHARS || String(payload).length > MAX_CHARS) {
      counter.textContent = TEXT.tooLong;
      return;
    }
    var message = addMessage({ role: "user", text: text, payload: payload || text,
      status: "pending" });
    enqueue(message);
  }

  // A photo: shown as a line in the conversation and sent as it is (kept in memory only).
  var imageFiles = new WeakMap();
  function sendImage(file) {
    if (!file) {
      return;
    }
    if (file.size > MAX_IMAGE_BYTES) {
      counter.textContent = TEXT.imageTooBig;
      return;
    }
    counter.textContent = "";
    var message = addMessage({ role: "user", text: TEXT.photo, payload: TEXT.photo,
      image: true, status: "pending" });
    imageFiles.set(message, file);
    enqueue(message);
  }

  attachButton.addEventListener("click", function () {
    fileInput.click();
  });
  fileInput.addEventListener("change", function () {
    var file = fileInput.files && fileInput.files[0];
    fileInput.value = "";
    sendImage(file);
  });

  function retryMessage(message) {
    if (message.status !== "failed") {
      return;
    }
    message.status = "pending";
    delete message.error;
    saveState();
    rerender(message);
    enqueue(message);
  }

  var pollTimer = null;
  var pollFailures = 0;
  var polling = false;

  function hasConversation() {
    return state.messages.some(function (m) { return m.role === "user"; });
  }

  function schedulePoll(delay) {
    if (pollTimer !== null) {
      clearTimeout(pollTimer);
    }
    pollTimer = null;
    if (!hasConversation()) {
      return; // nobody can answer a conversation that never started
    }
    var wait = delay !== undefined ? delay : pollDelay();
    if (wait !== null) {
      pollTimer = setTimeout(poll, wait);
    }
  }

  // Poll often while the conversation is live, less and less as it goes quiet, and stop after
  // a day (a page load still checks once); hidden tabs poll less.
  function pollDelay() {
    var last = state.messages.length ? Number(state.messages[state.messages.length - 1].at) : 0;
    var idle = last ? Date.now() - last : 0;
    var minute = 60000;
    if (idle > 24 * 60 * minute) {
      return null;
    }
    var wait = idle < 10 * minute ? POLL_MS : idle < 60 * minute ? Math.max(POLL_MS, 15000) :
      Math.max(POLL_MS, minute);
    return wait * (document.hidden ? 4 : 1);
  }

  function poll() {
    pollTimer = null;
    if (polling) {
      return;
    }
    if (!state.sender) {
      schedulePoll(); // no conversation on the server yet: look again later
      return;
    }
    polling = true;
    var sender = state.sender;
    var url = API + "/api/chat/poll?sender=" + encodeURIComponent(sender) +
      "&after=" + encodeURIComponent(String(state.lastId || 0));
    fetchJson(url).then(function (items) {
      pollFailures = 0;
      if (sender !== state.sender || !Array.isArray(items)) {
        return;
      }
      var added = [];
      items.forEach(function (item) {
        var id = Number(item && item.id);
        if (!id || id <= state.lastId) {
          return;
        }
        state.lastId = id;
        added.push(addMessage(botMessage(item, item.sender, id)));
        if (panel.hidden) {
          setUnread(unread + 1);
        }
      });
      saveState();
      reveal(added);
    }, function (failure) {
      pollFailures += 1;
      if (failure && failure.status === 403 && sender === state.sender) {
        forgetSender();
      }
    }).finally(function () {
      polling = false;
      // Back off while the server is unreachable, up to a minute.
      schedulePoll(pollFailures ? Math.min(60000, POLL_MS * Math.pow(2, pollFailures)) :
        undefined);
    });
  }

  // ---- opening, closing, input --------------------------------------------------------------

  var unread = 0;

  function setUnread(count) {
    unread = count;
    badge.hidden = !count;
    badge.textContent = count ? String(Math.min(count, 9)) : "";
    unreadText.textContent = count ? TEXT.unread : "";
  }

  function openPanel(focus) {
    panel.hidden = false;
    root.classList.add("egb-open");
    launcher.setAttribute("aria-expanded", "true");
    setUnread(0);
    state.open = true;
    saveState();
    scrollToEnd();
    if (focus) {
      input.focus();
    }
  }

  function closePanel(focus) {
    panel.hidden = true;
    root.classList.remove("egb-open");
    launcher.setAttribute("aria-expanded", "false");
    state.open = false;
    saveState();
    if (focus) {
      launcher.focus();
    }
  }

  function startOver() {
    state = freshState();
    state.open = !panel.hidden;
    saveState();
    setUnread(0);
    counter.textContent = "";
    input.value = "";
    autoSize();
    renderAll();
    schedulePoll();
    input.focus();
  }

  function autoSize() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 140) + "px";
  }

  function updateCounter() {
    var length = input.value.length;
    counter.textContent = length >= MAX_CHARS ? TEXT.tooLong :
      length >= COUNTER_FROM ? length.toLocaleString("vi-VN") + "/" +
        MAX_CHARS.toLocaleString("vi-VN") : "";
  }

  function submitInput() {
    var text = input.value.trim();
    if (!text) {
      return;
    }
    if (text.length > MAX_CHARS) {
      counter.textContent = TEXT.tooLong;
      return;
    }
    input.value = "";
    updateCounter();
    autoSize();
    send(text, text);
  }

  launcher.addEventListener("click", function () {
    openPanel(true);
  });
  closeButton.addEventListener("click", function () {
    closePanel(true);
  });
  newChatButton.addEventListener("click", startOver);
  eraseButton.addEventListener("click", function () {
    send(TEXT.erase, ERASE_PAYLOAD);
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    submitInput();
    input.focus();
  });
  input.addEventListener("keydown", function (event) {
    // Enter sends, Shift+Enter adds a line; never while an IME (Telex, VNI) is composing.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      submitInput();
    }
  });
  input.addEventListener("input", function () {
    updateCounter();
    autoSize();
  });
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      closePanel(true);
    }
  });
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && !polling) {
      schedulePoll(0); // catch up at once when the citizen comes back
    }
  });
  // Another tab of the same site changed the conversation: show the same.
  window.addEventListener("storage", function (event) {
    if (event.key !== STORAGE_KEY) {
      return;
    }
    var saved = loadState();
    if (saved) {
      var open = !panel.hidden;
      state = saved;
      state.open = open;
      renderAll();
      schedulePoll();
    }
  });

  // ---- start --------------------------------------------------------------------------------

  function mount() {
    document.body.appendChild(root);
    renderAll();
    if (state.open || dataset.open === "true") {
      openPanel(false);
    }
    schedulePoll(0);
  }

  var stylesheet = document.createElement("link");
  stylesheet.rel = "stylesheet";
  stylesheet.href = API + "/static/widget.css" + scriptUrl.search;
  stylesheet.addEventListener("load", function () {
    root.style.display = "";
  });
  stylesheet.addEventListener("error", function () {
    if (window.console) {
      window.console.warn("egovbot widget: could not load " + stylesheet.href);
    }
  });
  document.head.appendChild(stylesheet);

  window.EgovBot = {
    loaded: true,
    open: function () { openPanel(true); },
    close: function () { closePanel(false); },
  };

  if (document.body) {
    mount();
  } else {
    document.addEventListener("DOMContentLoaded", mount);
  }
})();
