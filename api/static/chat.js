// Citizen web chat: one WebSocket, JSON frames (see bots/web.py). Messages typed while offline
// wait in localStorage and are sent, with the same id, when the connection is back: the server
// drops duplicates, so nothing is lost and nothing is filed twice.
"use strict";

(() => {
  const TOKEN_KEY = "hotline.token";
  const PENDING_KEY = "hotline.pending";
  const MAX_CHARS = 2000;
  const TICKET_NUMBER = /(20\d{11})/g;

  const log = document.getElementById("log");
  const form = document.getElementById("composer");
  const input = document.getElementById("input");
  const statusBadge = document.getElementById("status");
  const notice = document.getElementById("notice");
  const locateButton = document.getElementById("locate");

  const rendered = new Map(); // message id (server or client) -> <li>
  let socket = null;
  let ready = false;
  let retryDelay = 1000;

  const newId = () => (crypto.randomUUID ? crypto.randomUUID()
    : Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join(""));
  const loadPending = () => { try { return JSON.parse(localStorage.getItem(PENDING_KEY)) || []; } catch { return []; } };
  const savePending = (items) => localStorage.setItem(PENDING_KEY, JSON.stringify(items));

  function setStatus(kind, text) {
    statusBadge.className = `status status--${kind}`;
    statusBadge.textContent = text;
  }

  function showNotice(text) {
    notice.textContent = text;
    notice.hidden = !text;
  }

  // Text goes in as text nodes only; ticket numbers are wrapped, never parsed as HTML.
  function fillText(element, text) {
    let last = 0;
    for (const match of text.matchAll(TICKET_NUMBER)) {
      element.append(document.createTextNode(text.slice(last, match.index)));
      const number = document.createElement("span");
      number.className = "ticket-number";
      number.textContent = match[0];
      element.append(number);
      last = match.index + match[0].length;
    }
    element.append(document.createTextNode(text.slice(last)));
  }

  function timeLabel(iso) {
    const date = iso ? new Date(iso) : new Date();
    return date.toLocaleTimeString("zh-CN", { hour: "2-digit", minute: "2-digit" });
  }

  function render(message, { pendingId = null } = {}) {
    const key = message.id || pendingId;
    if (key && rendered.has(key)) return rendered.get(key);
    const item = document.createElement("li");
    const incoming = message.direction === "in";
    item.className = `msg ${incoming ? "msg--in" : "msg--out"}`;
    if (message.sender === "operator") item.classList.add("msg--operator");
    if (message.kind === "status") item.classList.add("msg--status");
    item.dataset.sender = message.sender || (incoming ? "citizen" : "bot");
    const bubble = document.createElement("div");
    bubble.className = "msg__bubble";
    fillText(bubble, message.text || "");
    item.append(bubble);
    if (!incoming && message.buttons && message.buttons.length) {
      const row = document.createElement("div");
      row.className = "msg__buttons";
      for (const button of message.buttons) {
        const element = document.createElement("button");
        element.type = "button";
        element.textContent = button.label;
        element.addEventListener("click", () => submit({ type: "button", payload: button.payload }, button.label));
        row.append(element);
      }
      item.append(row);
    }
    const meta = document.createElement("span");
    meta.className = "msg__meta";
    meta.textContent = (message.sender === "operator" ? "话务员 · " : "") + timeLabel(message.created_at);
    item.append(meta);
    log.append(item);
    if (key) rendered.set(key, item);
    log.scrollTop = log.scrollHeight;
    return item;
  }

  function send(frame) {
    if (socket && ready && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  function submit(frame, label) {
    frame.id = newId();
    const pending = loadPending();
    pending.push({ frame, label });
    savePending(pending);
    const item = render({ direction: "in", text: label }, { pendingId: frame.id });
    item.classList.add("msg--pending");
    send(frame);
  }

  function settle(id, { failed = false, reason = "" } = {}) {
    savePending(loadPending().filter((p) => p.frame.id !== id));
    const item = rendered.get(id);
    if (!item) return;
    item.classList.remove("msg--pending");
    if (failed) {
      item.classList.add("msg--failed");
      item.title = reason;
    }
  }

  function flushPending() {
    for (const { frame, label } of loadPending()) {
      if (!rendered.has(frame.id)) render({ direction: "in", text: label }, { pendingId: frame.id }).classList.add("msg--pending");
      send(frame);
    }
  }

  function onFrame(frame) {
    switch (frame.type) {
      case "welcome":
        localStorage.setItem(TOKEN_KEY, frame.token);
        ready = true;
        retryDelay = 1000;
        setStatus("online", "在线");
        showNotice("");
        for (const message of frame.history) render(message);
        if (!frame.history.length) {
          render({ direction: "out", sender: "bot", text: "您好，这里是12345市民服务热线。请描述您遇到的问题和发生的位置，我们会立即为您登记并转交办理。\n查询进度请发「我的工单」。" , id: "greeting" });
        }
        flushPending();
        enterLane();
        break;
      case "ack": {
        const shown = frame.message_id && rendered.get(frame.message_id);
        if (frame.duplicate && shown && shown !== rendered.get(frame.id)) {
          rendered.get(frame.id)?.remove(); // already in the history: the resend was dropped
          savePending(loadPending().filter((p) => p.frame.id !== frame.id));
          break;
        }
        settle(frame.id);
        if (frame.message_id && rendered.has(frame.id)) rendered.set(frame.message_id, rendered.get(frame.id));
        break;
      }
      case "message":
        render(frame.message);
        break;
      case "error":
        if (frame.code === "unavailable") {
          showNotice(frame.message);
          setTimeout(flushPending, 3000); // stays pending: try again shortly
        } else {
          if (frame.id) settle(frame.id, { failed: true, reason: frame.message });
          showNotice(frame.message);
        }
        break;
      default:
        break;
    }
  }

  // /?lane=enterprise is the businesses' entry (企业热线): said once per browser tab.
  function enterLane() {
    const lane = new URLSearchParams(location.search).get("lane");
    if (lane !== "enterprise" || sessionStorage.getItem("hotline.lane") === lane) return;
    sessionStorage.setItem("hotline.lane", lane);
    send({ type: "entry", id: newId(), entry: lane });
  }

  function connect() {
    setStatus("connecting", "连接中…");
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/ws/chat`);
    socket.addEventListener("open", () => {
      socket.send(JSON.stringify({ type: "hello", token: localStorage.getItem(TOKEN_KEY) }));
    });
    socket.addEventListener("message", (event) => {
      try { onFrame(JSON.parse(event.data)); } catch (error) { console.error(error); }
    });
    socket.addEventListener("close", () => {
      ready = false;
      setStatus("offline", "已断开，正在重连…");
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 15000);
    });
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value;
    if (!text.trim()) { showNotice("请输入内容。"); return; }
    if (text.length > MAX_CHARS) { showNotice(`消息过长，请控制在${MAX_CHARS}字以内。`); return; }
    showNotice("");
    submit({ type: "message", text }, text);
    input.value = "";
    input.focus();
  });

  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  locateButton.addEventListener("click", () => {
    if (!navigator.geolocation) { showNotice("此浏览器不支持定位，请直接输入地址。"); return; }
    navigator.geolocation.getCurrentPosition(
      (position) => submit(
        { type: "location", latitude: position.coords.latitude, longitude: position.coords.longitude },
        `📍 我的位置（${position.coords.latitude.toFixed(5)}, ${position.coords.longitude.toFixed(5)}）`,
      ),
      () => showNotice("无法获取位置，请直接输入地址。"),
      { enableHighAccuracy: true, timeout: 10000 },
    );
  });

  connect();
})();
