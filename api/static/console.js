// The operators' console: queue, live chat, ticket review and dispatch; the units' queue; supervision;
// search. Plain DOM, no build step. Every piece of citizen text goes in as a text node (see h()).
"use strict";

(() => {
  const state = { me: null, csrf: null, tab: null, selected: null, categories: [], canned: [], queue: [], socket: null, queueRows: {}, unitRows: {}, overdueRows: {} };
  const STATUS = {
    accepted: "已受理", dispatched: "已派单", signed: "已签收", in_progress: "办理中", resolved: "已办结",
    surveyed: "已回访", archived: "已归档", returned: "已退回", reopened: "重办", cancelled: "已撤销",
  };
  const TYPES = ["咨询", "求助", "投诉", "举报", "建议", "表扬"];
  const CHANNELS = { web: "网页", telegram: "Telegram", wechat: "微信" };
  const $ = (id) => document.getElementById(id);

  // Build elements; strings become text nodes, never HTML.
  function h(tag, props = {}, ...children) {
    const element = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
      else if (key === "class") element.className = value;
      else if (key === "value") element.value = value;
      else if (key === "checked") element.checked = Boolean(value);
      else element.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      element.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return element;
  }

  const time = (iso) => (iso ? new Date(iso).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false }) : "");
  const wait = (seconds) => (seconds < 60 ? `${seconds}秒` : seconds < 3600 ? `${Math.floor(seconds / 60)}分` : `${Math.floor(seconds / 3600)}时${Math.floor((seconds % 3600) / 60)}分`);
  const place = (t) => [t.district, t.street, t.community, t.address].filter(Boolean).join(" ") || "（未提供位置）";

  function toast(message) {
    const box = $("toast");
    box.textContent = message;
    box.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { box.hidden = true; }, 4000);
  }

  async function api(method, url, body) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET" && state.csrf) headers["X-CSRF-Token"] = state.csrf;
    const response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin" });
    if (response.status === 401 && url !== "/api/login") { showLogin(); throw new Error("请重新登录"); }
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) {
      const detail = data && (data.message || (Array.isArray(data.detail) ? "输入有误：" + data.detail.map((d) => d.loc.at(-1)).join("、") : data.detail));
      throw new Error(detail || `请求失败（${response.status}）`);
    }
    return data;
  }

  async function act(promise, done) {
    try { const result = await promise; if (done) toast(done); return result; } catch (error) { toast(error.message); return null; }
  }

  // -- live refreshes draw in place ----------------------------------------------------------------
  // Changes arrive all day, in bursts once a second, and each redraws what they touch while the user
  // works in it. Nothing they work with may be taken out of the page for that: a field taken out,
  // even to be put back, loses the focus (the next keystrokes go nowhere), and an element pressed,
  // taken out and released gets no click. So fields, buttons and rows stay the same elements and the
  // rest is patched to the new answer; a field keeps what the user changed in it; and an answer
  // that comes back after a newer one is not drawn.

  // The answers a view asks for, drawn in the order they were asked: one that comes back after a
  // newer one was drawn is older news, and drawing it would undo the newer.
  function answers() {
    let asked = 0, drawn = 0;
    return {
      // Call when asking; the function returned says, once the answer is in, whether to draw it.
      ask() {
        const n = ++asked;
        return () => { if (n < drawn) return false; drawn = n; return true; };
      },
      // The view was drawn without asking (nothing to ask for): every answer still out is older.
      skip() { drawn = ++asked; },
    };
  }

  // Brings `node` up to `wanted` (freshly built, not in the page), keeping every node whose tag
  // still matches, so the one under the user's mouse stays. For what is drawn from an answer, not
  // for fields: their values are the user's.
  function patch(node, wanted) {
    if (node.isEqualNode(wanted)) return;
    if (node.nodeName !== wanted.nodeName) { node.replaceWith(wanted); return; }
    if (node.nodeType !== Node.ELEMENT_NODE) { node.nodeValue = wanted.nodeValue; return; }
    for (const name of node.getAttributeNames()) if (!wanted.hasAttribute(name)) node.removeAttribute(name);
    for (const { name, value } of wanted.attributes) if (node.getAttribute(name) !== value) node.setAttribute(name, value);
    const children = [...wanted.childNodes];
    children.forEach((child, i) => { if (i < node.childNodes.length) patch(node.childNodes[i], child); else node.append(child); });
    while (node.childNodes.length > children.length) node.lastChild.remove();
  }

  // Makes `elements` the children of `parent`, in this order, moving as few as possible: the
  // longest run of them already in order stays put, the others go around it. Gives the focus back
  // if a move took it.
  function arrange(parent, elements) {
    const focused = document.activeElement;
    const wanted = new Set(elements);
    for (const child of [...parent.children]) if (!wanted.has(child)) child.remove();
    const at = new Map([...parent.children].map((child, i) => [child, i]));
    const staying = longestRun(elements.map((element) => (at.has(element) ? at.get(element) : -1)));
    let next = null;
    for (let i = elements.length - 1; i >= 0; i--) {
      const element = elements[i];
      if (!staying.has(i) && !(element.parentNode === parent && element.nextElementSibling === next)) parent.insertBefore(element, next);
      next = element;
    }
    if (focused && focused !== document.activeElement && focused.isConnected) focused.focus();
  }

  // The indexes of a longest increasing run in `positions` (-1: not there, never in the run).
  function longestRun(positions) {
    const ends = [], before = [];  // ends[k]: the index ending the best run of length k + 1 so far
    positions.forEach((position, i) => {
      if (position < 0) return;
      let low = 0, high = ends.length;
      while (low < high) { const middle = (low + high) >> 1; if (positions[ends[middle]] < position) low = middle + 1; else high = middle; }
      before[i] = low > 0 ? ends[low - 1] : -1;
      ends[low] = i;
    });
    const run = new Set();
    for (let i = ends.length ? ends[ends.length - 1] : -1; i >= 0; i = before[i]) run.add(i);
    return run;
  }

  // Forgets the kept rows of `rows` whose keys are no longer listed.
  function forget(rows, listed) {
    for (const key of Object.keys(rows)) if (!listed.has(key)) delete rows[key];
  }

  const valueOf = (field) => (field.type === "checkbox" ? field.checked : field.value);
  function setValue(field, value) { if (field.type === "checkbox") field.checked = value; else field.value = value; }

  // A field filled from the answers keeps what the page last put in it: a refresh fills the fields
  // the user has not changed since, and leaves their edits until they are sent.
  const offered = new WeakMap();
  function offer(field, value) {
    const untouched = !offered.has(field) || valueOf(field) === offered.get(field);
    if (untouched) setValue(field, value);
    offered.set(field, untouched ? valueOf(field) : value);
  }

  // What the fields hold when a request is sent, for `settle`.
  const snapshot = (fields) => fields.map((field) => [field, valueOf(field)]);

  // After a request went through, a field still holding what was sent is done with: one filled
  // from the answers takes the next answer's value, another (a note, a reply) is emptied. A field
  // changed while the request was out keeps what the user is typing now.
  function settle(sent) {
    for (const [field, value] of sent) {
      if (valueOf(field) !== value) continue;
      if (offered.has(field)) offered.set(field, value); else setValue(field, field.type === "checkbox" ? false : "");
    }
  }

  // -- login ------------------------------------------------------------------------------------

  function showLogin() {
    state.me = null;
    $("login").hidden = false;
    $("view").hidden = true;
    $("logout").hidden = true;
    $("tabs").replaceChildren();
    $("who").textContent = "";
    if (state.socket) state.socket.close();
  }

  $("login").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    try {
      const session = await api("POST", "/api/login", { username: form.get("username"), password: form.get("password") });
      $("login-error").textContent = "";
      event.target.reset();
      start(session);
    } catch (error) {
      $("login-error").textContent = error.message;
    }
  });

  $("logout").addEventListener("click", async () => { await act(api("POST", "/api/logout")); showLogin(); });

  function tabsFor(role) {
    if (role === "unit_handler") return [["unit", "本单位工单"], ["search", "工单查询"]];
    const tabs = [["queue", "队列与会话"], ["search", "工单查询"]];
    if (role === "supervisor" || role === "admin") tabs.splice(1, 0, ["supervision", "超期督办"]);
    return tabs;
  }

  async function start(session) {
    state.me = session.operator;
    state.csrf = session.csrf_token;
    $("login").hidden = true;
    $("view").hidden = false;
    $("logout").hidden = false;
    $("who").textContent = `${state.me.display_name}（${state.me.username}）`;
    if (state.me.role !== "unit_handler") {
      state.categories = (await act(api("GET", "/api/categories"))) || [];
      state.canned = (await act(api("GET", "/api/canned-replies"))) || [];
    }
    // The tabs come with the first view: one clicked while these loaded was replaced by it.
    const tabs = tabsFor(state.me.role);
    $("tabs").replaceChildren(...tabs.map(([key, label]) => h("button", { type: "button", "data-tab": key, onclick: () => show(key) }, label)));
    connectLive();
    show(tabs[0][0]);
  }

  function show(tab) {
    state.tab = tab;
    for (const button of $("tabs").children) button.setAttribute("aria-current", button.dataset.tab === tab ? "page" : "false");
    ({ queue: renderQueueView, unit: renderUnitView, supervision: renderSupervisionView, search: renderSearchView })[tab]();
  }

  // -- live updates -------------------------------------------------------------------------------

  function connectLive() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws/console`);
    state.socket = socket;
    socket.addEventListener("open", () => { $("live").textContent = "● 实时"; });
    socket.addEventListener("message", (event) => {
      const frame = JSON.parse(event.data);
      if (frame.type === "changes") onChanges(frame.changes);
    });
    socket.addEventListener("close", () => {
      $("live").textContent = "○ 重连中";
      if (state.me && state.socket === socket) setTimeout(connectLive, 2000);
    });
  }

  // The lists refresh 150 ms after the last change, but no later than a second after the first one
  // waiting: in a burst changes never stop, and waiting for a quiet moment would freeze the queue.
  let refreshTimer = null, firstWaiting = 0, ticketChanged = false, chatChanged = false;
  function onChanges(changes) {
    const selected = state.selected;
    for (const change of changes) {
      if (change.kind === "message" && selected && change.conversation_id === selected.conversation_id) hear(change.conversation_id, change.data);
    }
    if (selected && changes.some((c) => c.ticket_id && c.ticket_id === selected.ticket_id)) ticketChanged = true;
    // The chat shown changed hands (a colleague took it, put it back, ended it): its title and buttons too.
    if (selected && changes.some((c) => c.kind === "conversation" && c.conversation_id === selected.conversation_id)) chatChanged = true;
    const now = Date.now();
    if (refreshTimer === null) firstWaiting = now;
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refreshLists, Math.max(0, Math.min(150, firstWaiting + 1000 - now)));
  }

  function refreshLists() {
    refreshTimer = null;
    if (state.tab === "queue") loadQueue();
    if (state.tab === "unit") loadUnit();
    if (state.tab === "supervision") loadSupervision();
    if (ticketChanged && state.tab === "queue" && state.selected && state.selected.ticket_id) loadTicket(state.selected.ticket_id);
    if (chatChanged && state.tab === "queue" && state.selected && state.selected.conversation_id) loadChat(state.selected.conversation_id);
    ticketChanged = chatChanged = false;
  }

  // -- queue and chat -----------------------------------------------------------------------------
  // A live refresh redraws the queue in place: an item stays the same element while it is listed
  // (a click or Enter on it spanning a refresh still opens it). The chat and the ticket panel show
  // the selected item only: an answer for an item selected before is not drawn.

  function renderQueueView() {
    $("view").replaceChildren(
      h("section", { class: "panel queue", "aria-label": "等待队列" },
        h("h2", {}, h("span", { id: "queue-title" }, "队列"), h("span", { class: "hint" }, "Alt+N 接入下一位")),
        h("div", { class: "body", id: "queue-list" })),
      h("section", { class: "panel chat", "aria-label": "会话" }, h("h2", {}, h("span", { id: "chat-title" }, "会话")), h("div", { class: "body", id: "chat-body" }, h("p", { class: "empty" }, "从左侧选择一位市民")), h("div", { id: "chat-actions" })),
      h("section", { class: "panel ticket", "aria-label": "工单" }, h("h2", {}, "工单"), h("div", { class: "body", id: "ticket-body" }, h("p", { class: "empty" }, "暂无工单"))),
    );
    loadQueue();
  }

  const queueAnswers = answers();
  async function loadQueue() {
    const fresh = queueAnswers.ask();
    const queue = await act(api("GET", "/api/queue"));
    if (!queue || state.tab !== "queue" || !fresh()) return;
    state.queue = queue.items;
    $("queue-title").textContent = `队列：${queue.waiting} 位等待，最长 ${wait(queue.longest_wait_seconds)}`;
    forget(state.queueRows, new Set(queue.items.map(keyOf)));
    const rows = queue.items.map(queueRow);
    if (!rows.length) rows.push(h("p", { class: "empty" }, "暂无等待的市民"));
    if (queue.total > queue.items.length) rows.push(h("p", { class: "hint" }, `显示最先的 ${queue.items.length} 项，共 ${queue.total} 项`));
    arrange($("queue-list"), rows);
  }

  const keyOf = (item) => item.conversation_id || item.ticket_id;

  // The element of a queue item, brought up to date; a click opens the item as last listed.
  function queueRow(item) {
    const key = keyOf(item);
    const row = (state.queueRows[key] ||= { item, element: h("div", { onclick: () => select(row.item), onkeydown: (e) => { if (e.key === "Enter") select(row.item); } }) });
    row.item = item;
    const mine = item.operator_id === state.me.id;
    const selected = state.selected && keyOf(state.selected) === key;
    patch(row.element, h("div", { class: `item${selected ? " selected" : ""}`, tabindex: 0, role: "button", "data-key": key },
      h("div", { class: "meta" },
        h("span", {}, item.urgent ? h("span", { class: "badge urgent" }, "紧急") : null, " ", h("span", { class: "badge" }, CHANNELS[item.channel] || item.channel), " ",
          item.lane === "enterprise" ? h("span", { class: "badge held" }, "企业") : null, " ",
          item.ticket_status ? h("span", { class: "badge" }, STATUS[item.ticket_status]) : null, " ",
          item.operator_id ? h("span", { class: "badge held" }, mine ? "我接待中" : "他人接待") : null),
        h("span", {}, `等待 ${wait(item.waiting_seconds)}`)),
      h("div", {}, item.citizen_name || "市民", item.ticket_number ? ` · ${item.ticket_number}` : ""),
      h("div", { class: "preview" }, item.preview)));
    return row.element;
  }

  async function select(item) {
    const before = state.selected;
    state.selected = item;
    if (state.tab !== "queue") return;
    for (const element of document.querySelectorAll("#queue-list .item")) element.classList.toggle("selected", element.dataset.key === keyOf(item));
    // Another item: what was shown goes at once, not to be taken for the new item's while it loads.
    if (!before || keyOf(before) !== keyOf(item)) {
      clearChat(item.conversation_id ? "加载中…" : "该工单没有在线会话");
      clearTicket(ticketView($("ticket-body")), item.ticket_id ? "加载中…" : "尚未形成工单");
    }
    await Promise.all([item.conversation_id && loadChat(item.conversation_id), item.ticket_id && loadTicket(item.ticket_id)]);
  }

  // The chat drawn: its messages, its reply box and its buttons stay while it is the one shown.
  let chatView = null;
  const chatAnswers = answers();

  function clearChat(note) {
    chatAnswers.skip();
    chatView = null;
    $("chat-title").textContent = "会话";
    $("chat-body").replaceChildren(h("p", { class: "empty" }, note));
    $("chat-actions").replaceChildren();
  }

  async function loadChat(conversationId) {
    const fresh = chatAnswers.ask();
    const chat = await act(api("GET", `/api/conversations/${conversationId}`));
    if (!chat || state.tab !== "queue" || !state.selected || state.selected.conversation_id !== conversationId || !fresh()) return;
    const held = chat.state === "operator";
    const mine = held && chat.operator_id === state.me.id;
    $("chat-title").textContent = `会话 · ${CHANNELS[chat.channel] || chat.channel} · ${held ? (mine ? "我接待中" : "他人接待中") : chat.state === "queued" ? "等待接入" : "机器人接待"}`;
    const opened = !chatView || chatView.conversationId !== conversationId || !chatView.messages.isConnected;
    if (opened) {
      chatView = chatFor(conversationId);
      $("chat-body").replaceChildren(chatView.history, chatView.messages);
      $("chat-actions").replaceChildren(chatView.composer, chatView.actions);
    }
    const view = chatView;
    view.history.hidden = !chat.citizen_tickets.length;
    patch(view.history.firstChild, h("summary", {}, `该市民的工单（${chat.citizen_tickets.length}）`));
    patch(view.history.lastChild, h("ul", { class: "timeline" }, chat.citizen_tickets.map((t) => h("li", {}, h("strong", {}, t.number), ` ${STATUS[t.status]} · ${t.category || "未分类"} · `, t.description.slice(0, 40)))));
    // The answer's messages, then those that came live after it was read (or were just sent).
    const shown = new Map([...view.messages.children].map((li) => [li.dataset.id, li]));
    const listed = new Set(chat.messages.map((m) => m.id));
    const count = view.messages.children.length, follow = opened || atEnd();
    arrange(view.messages, [...chat.messages.map((m) => shown.get(m.id) || messageItem(m)), ...[...shown.values()].filter((li) => !listed.has(li.dataset.id))]);
    if (heard.conversationId === conversationId) for (const message of heard.messages) appendMessage(conversationId, message);
    if (follow && view.messages.children.length > count) scrollChat();
    const stage = chat.state === "queued" ? "queued" : held && (mine || state.me.role !== "operator") ? "held" : "none";
    if (view.stage !== stage) { view.stage = stage; view.actions.replaceChildren(...view[stage]); }
    view.composer.hidden = !mine;
    // The reply box takes the focus, unless the operator is already typing elsewhere.
    const typing = document.activeElement && document.activeElement.matches("input, textarea, select");
    if (mine && !typing) view.reply.focus();
  }

  // A chat's elements: the citizen's tickets, the messages, the reply box, and the buttons of each
  // stage (waiting: 接入; held by the operator, or shown to a supervisor: 放回, 转接, 结束).
  function chatFor(conversationId) {
    const post = async (path, body, done) => { await act(api("POST", `/api/conversations/${conversationId}/${path}`, body), done); refreshSelected(); };
    const colleague = h("input", { placeholder: "同事用户名", size: 10, "aria-label": "转接给" });
    const composer = composerFor(conversationId);
    return {
      conversationId, composer, reply: composer.querySelector("textarea"), stage: null,
      history: h("details", { open: true, hidden: true }, h("summary"), h("ul", { class: "timeline" })),
      messages: h("ul", { class: "messages", id: "messages" }),
      actions: h("div", { class: "actions" }),
      queued: [h("button", { class: "primary", type: "button", onclick: () => claim(conversationId) }, "接入会话")],
      held: [h("button", { class: "ghost", type: "button", onclick: () => post("release", undefined, "已放回队列") }, "放回队列"),
        colleague, h("button", { class: "ghost", type: "button", onclick: () => post("transfer", { username: colleague.value }, "已转接") }, "转接"),
        h("button", { class: "ghost", type: "button", onclick: () => post("end", undefined, "会话已结束，机器人接管") }, "结束会话")],
      none: [],
    };
  }

  function messageItem(message) {
    const sender = message.sender || (message.direction === "in" ? "citizen" : "bot");
    const label = { citizen: "市民", bot: "机器人", operator: "话务员", system: "系统" }[sender] || sender;
    return h("li", { class: sender, "data-id": message.id }, message.text || (message.payload ? "[位置/图片]" : ""), h("span", { class: "time" }, `${label} · ${time(message.created_at)}`));
  }

  // The selected chat's messages heard live: one that comes while its chat loads is added when it
  // is drawn (the answer may have been read before it).
  let heard = { conversationId: null, messages: [] };
  function hear(conversationId, message) {
    if (heard.conversationId !== conversationId) heard = { conversationId, messages: [] };
    heard.messages.push(message);
    appendMessage(conversationId, message);
  }

  // `own`: the operator's reply, shown at the end wherever they had scrolled (heard live already, maybe).
  function appendMessage(conversationId, message, own = false) {
    if (!chatView || chatView.conversationId !== conversationId || !chatView.messages.isConnected) return;
    const follow = own || atEnd();
    if (!chatView.messages.querySelector(`[data-id="${CSS.escape(message.id)}"]`)) chatView.messages.append(messageItem(message));
    if (follow) scrollChat();
  }

  // The chat follows new messages while it is scrolled to its end; an operator who scrolled up to
  // read what the citizen wrote before stays there.
  function atEnd() { const body = $("chat-body"); return body.scrollHeight - body.scrollTop - body.clientHeight < 40; }
  function scrollChat() { const body = $("chat-body"); body.scrollTop = body.scrollHeight; }

  function composerFor(conversationId) {
    const input = h("textarea", { "aria-label": "回复市民", placeholder: "输入回复，Ctrl+Enter 发送；输入 /where 后按 Tab 插入常用语" });
    const send = async () => {
      const text = input.value.trim();
      if (!text) return;
      const sent = snapshot([input]);
      const message = await act(api("POST", `/api/conversations/${conversationId}/messages`, { text }));
      if (message) { settle(sent); appendMessage(conversationId, message, true); }
    };
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); send(); }
      if (event.key === "Tab" && input.value.startsWith("/")) {
        const reply = state.canned.find((c) => c.shortcut === input.value.slice(1).trim());
        if (reply) { event.preventDefault(); input.value = reply.text; }
      }
    });
    const shortcuts = h("div", { class: "hint" }, "常用语：", state.canned.map((c) => h("button", { type: "button", class: "ghost", title: c.text, onclick: () => { input.value = c.text; input.focus(); } }, `/${c.shortcut}`)));
    return h("div", {}, h("div", { class: "composer" }, input, h("button", { class: "primary", type: "button", onclick: send }, "发送")), h("div", { class: "actions" }, shortcuts));
  }

  async function claim(conversationId) {
    if (await act(api("POST", `/api/conversations/${conversationId}/claim`), "已接入")) refreshSelected();
    else loadQueue();
  }

  async function refreshSelected() {
    await loadQueue();
    if (state.selected) {
      const fresh = state.queue.find((i) => keyOf(i) === keyOf(state.selected));
      await select(fresh || state.selected);
    }
  }

  // -- the ticket panel -----------------------------------------------------------------------------
  // A panel is kept while it shows its ticket (the queue's panel, the search's), and a refresh
  // updates it in place: the fields keep their focus and what the operator changed in them (a field
  // they did not touch takes the news), the units they ticked stay ticked, the buttons stay the
  // same elements (a press spanning a refresh still clicks), and 相似工单 stays open.

  const ticketViews = new WeakMap();  // container -> { container, answers, panel }
  function ticketView(container) {
    if (!ticketViews.has(container)) ticketViews.set(container, { container, answers: answers(), panel: null });
    return ticketViews.get(container);
  }

  // The ticket, in the queue's panel if it is still the selected item's, or in `container`.
  async function loadTicket(ticketId, container = $("ticket-body")) {
    const view = ticketView(container);
    const fresh = view.answers.ask();
    const detail = await act(api("GET", `/api/tickets/${ticketId}`));
    const wanted = container.id !== "ticket-body" || (state.selected && state.selected.ticket_id === ticketId);
    if (detail && container.isConnected && wanted && fresh()) drawTicket(view, detail);
  }

  function drawTicket(view, detail) {
    if (view.panel && view.panel.ticketId === detail.ticket.id) { updateTicketPanel(view.panel, detail); return; }
    view.panel = ticketPanel(view, detail.ticket.id);
    updateTicketPanel(view.panel, detail);
    view.container.replaceChildren(...view.panel.parts);
  }

  function clearTicket(view, note) {
    view.answers.skip();
    view.panel = null;
    view.container.replaceChildren(h("p", { class: "empty" }, note));
  }

  function guess(text, confidence) {
    if (confidence === null || confidence === undefined) return h("span", { class: "guess" }, text);
    return h("span", { class: `guess${confidence < 0.6 ? " low" : ""}` }, `${text}（置信度 ${Math.round(confidence * 100)}%）`);
  }
  const noGuess = () => h("span", { class: "guess", hidden: true });

  // A ticket's panel: its fields and buttons, and the places the rest is drawn in.
  function ticketPanel(view, ticketId) {
    const panel = { ticketId, ticket: null, choices: {} };
    const fields = panel.fields = {
      request_type: h("select", { "aria-label": "诉求类型" }, TYPES.map((x) => h("option", { value: x }, x))),
      category: h("select", { "aria-label": "类别" }, h("option", { value: "" }, "（请选择）"), state.categories.map((x) => h("option", { value: x }, x))),
      street_code: h("input", { "aria-label": "街道编码", placeholder: "街道/乡镇编码，如 110105026" }),
      address: h("input", { "aria-label": "地址" }),
      description: h("textarea", { rows: 3, "aria-label": "诉求内容" }),
      contact_phone: h("input", { "aria-label": "联系电话" }),
      urgent: h("input", { type: "checkbox", "aria-label": "紧急" }),
    };
    for (const [name, field] of Object.entries(fields)) field.name = name;
    const answer = h("textarea", { rows: 2, "aria-label": "直接答复", placeholder: "可直接答复的咨询：写下答复并办结" });
    panel.units = h("div", { class: "units" });
    // A request about this ticket; its answer (the ticket as it now is) is drawn if the panel
    // still shows it and nothing newer was drawn meanwhile.
    const send = async (method, path, body, done, inputs) => {
      const fresh = view.answers.ask();
      const sent = snapshot(inputs);
      const updated = await act(api(method, `/api/tickets/${ticketId}${path}`, body), done);
      if (!updated) return;
      settle(sent);
      if (view.panel === panel && fresh()) updateTicketPanel(panel, updated);
      if (path) loadQueue();  // dispatched or closed: off the queue
    };
    const review = () => {
      const body = { request_type: fields.request_type.value, description: fields.description.value, address: fields.address.value, contact_phone: fields.contact_phone.value, urgent: fields.urgent.checked };
      if (fields.category.value) body.category = fields.category.value;
      if (fields.street_code.value && fields.street_code.value !== panel.ticket.street_code) body.street_code = fields.street_code.value.trim();
      send("PATCH", "", body, "工单已确认", Object.values(fields));
    };
    const dispatch = () => send("POST", "/dispatch", { unit_ids: [...panel.units.querySelectorAll("input:checked")].map((x) => x.value) }, "已派单", []);
    const close = () => send("POST", "/close", { answer: answer.value }, "已答复办结", [answer]);
    panel.reviewButton = h("button", { class: "ghost", type: "button", onclick: review });
    panel.editing = [h("div", { class: "actions" }, panel.reviewButton), h("div", {}, h("h3", {}, "派单"), panel.units, h("button", { class: "primary", type: "button", onclick: dispatch }, "派单"))];
    panel.answering = h("div", {}, h("h3", {}, "直接答复"), answer, h("button", { class: "ghost", type: "button", onclick: close }, "答复并办结"));
    panel.drawn = { header: h("p"), typeGuess: noGuess(), categoryGuess: noGuess(), place: h("span"), assignments: h("div", { hidden: true }), timeline: h("ul", { class: "timeline" }) };
    const { drawn } = panel;
    panel.parts = [
      drawn.header,
      h("div", { class: "form" },
        h("label", {}, "诉求类型"), fields.request_type, drawn.typeGuess,
        h("label", {}, "类别"), fields.category, drawn.categoryGuess,
        h("label", {}, "位置"), drawn.place,
        h("label", {}, "街道编码"), fields.street_code,
        h("label", {}, "地址"), fields.address,
        h("label", {}, "诉求内容"), fields.description,
        h("label", {}, "联系电话"), fields.contact_phone,
        h("label", {}, "紧急"), fields.urgent),
      ...panel.editing,
      panel.answering,
      drawn.assignments,
      state.me.role !== "unit_handler" ? h("details", { class: "similar", ontoggle: (e) => { if (e.target.open) loadSimilar(ticketId, e.target); } },
        h("summary", {}, "相似工单（举一反三）")) : null,
      h("h3", {}, "办理记录"),
      drawn.timeline,
    ].filter(Boolean);
    return panel;
  }

  function updateTicketPanel(panel, detail) {
    const t = detail.ticket;
    const a = detail.analysis || {};
    const { fields, drawn } = panel;
    panel.ticket = t;
    const editable = state.me.role !== "unit_handler" && ["accepted", "returned", "reopened"].includes(t.status);
    patch(drawn.header, h("p", {}, h("strong", { class: "number" }, t.number), " ", h("span", { class: "badge" }, STATUS[t.status]), " ", t.urgent ? h("span", { class: "badge urgent" }, `紧急 ${t.urgency_cue || ""}`) : null,
      t.lane === "enterprise" ? h("span", { class: "badge held" }, `企业${t.credit_code ? ` ${t.credit_code}` : ""}`) : null));
    offer(fields.request_type, TYPES.includes(t.request_type) ? t.request_type : TYPES[0]);
    offer(fields.category, state.categories.includes(t.category) ? t.category : "");
    offer(fields.street_code, t.street_code || "");
    offer(fields.address, t.address || "");
    offer(fields.description, t.description);
    offer(fields.contact_phone, t.contact_phone || "");
    offer(fields.urgent, t.urgent);
    for (const field of Object.values(fields)) field.disabled = !editable;
    patch(drawn.typeGuess, a.request_type ? guess(`识别：${a.request_type}`, a.request_type_confidence) : noGuess());
    patch(drawn.categoryGuess, a.category ? guess(`识别：${a.category}${a.category_unsure ? "（不确定）" : ""}`, a.category_confidence) : noGuess());
    patch(drawn.place, h("span", {}, place(t)));
    const label = t.confirmed_at ? "保存修改" : "确认识别结果";
    if (panel.reviewButton.textContent !== label) panel.reviewButton.textContent = label;
    for (const part of panel.editing) part.hidden = !editable;
    panel.answering.hidden = !(editable && t.conversation_id);
    // The suggested units, the first ticked; what the operator ticked or unticked stays.
    arrange(panel.units, detail.suggested_units.map((u, i) => {
      const choice = (panel.choices[u.id] ||= h("label", {}, h("input", { type: "checkbox", value: u.id }), h("span")));
      patch(choice.lastChild, h("span", {}, ` ${u.name}`, h("span", { class: "hint" }, ` ${u.kind === "street" ? "属地" : "部门"}`)));
      offer(choice.firstChild, i === 0);
      return choice;
    }));
    patch(drawn.assignments, detail.assignments.length
      ? h("div", {}, h("h3", {}, "承办单位"), h("ul", { class: "timeline" }, detail.assignments.map((x) => h("li", {}, `${x.unit.name} · ${({ dispatched: "待签收", signed: "已签收", in_progress: "办理中", resolved: "已办结", returned: "已退回", withdrawn: "已改派" })[x.status]}`, x.reminders ? ` · 督办${x.reminders}次` : "", x.return_reason ? ` · 退回理由：${x.return_reason}` : "", x.result ? ` · 结果：${x.result}` : ""))))
      : h("div", { hidden: true }));
    patch(drawn.timeline, h("ul", { class: "timeline" }, detail.timeline.map((e) => h("li", {}, h("time", {}, time(e.created_at)), " ", e.to_status ? STATUS[e.to_status] || e.to_status : e.kind, " · ", { bot: "机器人", operator: "话务员", unit: "承办单位", supervisor: "督办", citizen: "市民", system: "系统" }[e.actor_type] || e.actor_type, e.note ? ` · ${e.note}` : ""))));
  }

  async function loadSimilar(ticketId, container) {
    const rows = await act(api("GET", `/api/tickets/${ticketId}/similar`));
    if (!rows) return;
    container.replaceChildren(container.querySelector("summary"), rows.length
      ? h("ul", { class: "timeline" }, rows.map((r) => h("li", {}, h("strong", {}, r.ticket.number), r.same_street ? h("span", { class: "badge urgent" }, "同街道") : null,
          ` ${STATUS[r.ticket.status]} · ${place(r.ticket)} · 相似度 ${Math.round(r.similarity * 100)}%`, h("div", {}, r.ticket.description))))
      : h("p", { class: "empty" }, "附近没有相似的工单"));
  }

  // -- the unit's queue ----------------------------------------------------------------------------
  // A live refresh updates the table in place. A row and its form (inputs, buttons) stay the same
  // elements while the assignment is listed, and the form is rebuilt only when the status changes
  // what it offers: redrawing them under the handler took the focus from the field they were typing
  // in (the next keystrokes went nowhere), and swallowed a click pressed before a refresh and
  // released after it (no click is sent when the pressed element is removed).

  function renderUnitView() {
    $("view").replaceChildren(h("section", { class: "panel chat" }, h("h2", {}, "本单位待办工单"), h("div", { class: "body", id: "unit-body" })));
    loadUnit();
  }

  const unitAnswers = answers();
  async function loadUnit() {
    const fresh = unitAnswers.ask();
    const rows = await act(api("GET", "/api/my/assignments"));
    if (!rows || state.tab !== "unit" || !fresh()) return;
    forget(state.unitRows, new Set(rows.map(({ assignment: a }) => a.id)));
    const focused = document.activeElement;
    drawTable($("unit-body"), ["工单", "诉求", "位置", "时限", "状态", "操作"], rows.map(unitRow), "暂无待办工单");
    if (focused && focused !== document.activeElement && focused.isConnected) focused.focus();  // its form was rebuilt
  }

  // A table of kept rows (`arrange`d in place), or `empty` when there are none.
  function drawTable(body, headings, rows, empty) {
    if (!rows.length) { body.replaceChildren(h("p", { class: "empty" }, empty)); return; }
    let tbody = body.querySelector("tbody");
    if (!tbody) body.replaceChildren(h("table", {}, h("thead", {}, h("tr", {}, headings.map((x) => h("th", {}, x)))), (tbody = h("tbody"))));
    arrange(tbody, rows);
  }

  // The row of an assignment, its cells brought up to date.
  function unitRow({ assignment: a, ticket: t }) {
    const row = (state.unitRows[a.id] ||= unitForm(a.id));
    const stage = a.status === "dispatched" ? "sign" : "handle";
    if (row.stage !== stage) { row.stage = stage; row.actions.replaceChildren(...row[stage]); }
    const overdue = new Date(a.status === "dispatched" ? a.sign_deadline : a.resolve_deadline) < new Date();
    const cells = [
      h("td", {}, h("strong", {}, t.number), t.urgent ? h("div", {}, h("span", { class: "badge urgent" }, "紧急")) : null, a.reminders ? h("div", {}, h("span", { class: "badge overdue" }, `督办${a.reminders}次`)) : null),
      h("td", {}, t.description),
      h("td", {}, place(t)),
      h("td", {}, a.status === "dispatched" ? `签收时限 ${time(a.sign_deadline)}` : `办结时限 ${time(a.resolve_deadline)}`, overdue ? h("div", {}, h("span", { class: "badge overdue" }, "已超期")) : null),
      h("td", {}, ({ dispatched: "待签收", signed: "已签收", in_progress: "办理中" })[a.status]),
    ];
    row.element.dataset.number = t.number;
    cells.forEach((cell, i) => patch(row.element.cells[i], cell));
    return row.element;
  }

  // An assignment's row and its two forms: 签收 (or 退回), then 报进展, 办结 (or 退回). What the handler
  // types stays in these inputs across refreshes; the note field is in both.
  function unitForm(assignmentId) {
    const note = h("input", { placeholder: "进展 / 结果 / 退回理由", "aria-label": "说明", size: 18 });
    const reply = h("input", { placeholder: "给市民的答复", "aria-label": "给市民的答复", size: 18 });
    const phoned = h("input", { type: "checkbox", "aria-label": "已电话联系市民" });
    const post = async (path, body, done, inputs = []) => {
      // Only what was sent is cleared, and only if it was not changed while the request was out:
      // the handler may already be typing the next note.
      const sent = snapshot(inputs);
      if (await act(api("POST", `/api/assignments/${assignmentId}/${path}`, body), done)) settle(sent);
      loadUnit();
    };
    const giveBack = () => h("button", { class: "ghost", type: "button", onclick: () => post("return", { reason: note.value }, "已退回", [note]) }, "退回");
    const actions = h("div", { class: "actions" });
    return {
      stage: null, actions,
      element: h("tr", {}, h("td"), h("td"), h("td"), h("td"), h("td"), h("td", {}, actions)),
      sign: [h("button", { class: "primary", type: "button", onclick: () => post("sign", undefined, "已签收") }, "签收"), note, giveBack()],
      handle: [note, reply, h("label", { class: "hint" }, phoned, "已电话联系"),
        h("button", { class: "ghost", type: "button", onclick: () => post("progress", { note: note.value }, "进展已报送", [note]) }, "报进展"),
        h("button", { class: "primary", type: "button", onclick: () => post("result", { result: note.value, citizen_reply: reply.value || null, phone_contacted: phoned.checked }, "已办结并双反馈", [note, reply, phoned]) }, "办结"),
        giveBack()],
    };
  }

  // -- supervision ---------------------------------------------------------------------------------

  function renderSupervisionView() {
    $("view").replaceChildren(h("section", { class: "panel chat" }, h("h2", {}, "超期与临期工单（按单位）"), h("div", { class: "body", id: "supervision-body" })));
    loadSupervision();
  }

  // Like the unit's table: a row and its form stay the same elements while the assignment is
  // listed, what the supervisor types in it stays, and older answers are dropped.
  const overdueAnswers = answers();
  async function loadSupervision() {
    const fresh = overdueAnswers.ask();
    const rows = await act(api("GET", "/api/supervision/overdue"));
    if (!rows || state.tab !== "supervision" || !fresh()) return;
    forget(state.overdueRows, new Set(rows.map((r) => r.assignment_id)));
    drawTable($("supervision-body"), ["单位", "工单", "环节", "时限", "督办", "操作"], rows.map(overdueRow), "暂无超期或临期工单");
  }

  function overdueRow(r) {
    const row = (state.overdueRows[r.assignment_id] ||= overdueForm(r.assignment_id));
    const cells = [
      h("td", {}, r.unit.name), h("td", {}, r.ticket_number, r.urgent ? h("span", { class: "badge urgent" }, "紧急") : null),
      h("td", {}, r.stage === "sign" ? "签收" : "办结"), h("td", {}, time(r.deadline), " ", h("span", { class: `badge${r.overdue ? " overdue" : ""}` }, r.overdue ? "已超期" : "临期")),
      h("td", {}, `${r.reminders}次`),
    ];
    cells.forEach((cell, i) => patch(row.element.cells[i], cell));
    return row.element;
  }

  // An overdue assignment's row and its form: 督办, or 改派 to the unit whose code is typed.
  function overdueForm(assignmentId) {
    const unit = h("input", { placeholder: "改派单位编码", size: 12, "aria-label": "改派单位编码" });
    const reassign = async () => {
      const sent = snapshot([unit]);
      const found = await act(api("GET", `/api/units?q=${encodeURIComponent(unit.value)}`));
      if (!found || !found.length) { toast("找不到该单位"); return; }
      if (await act(api("POST", `/api/assignments/${assignmentId}/reassign`, { unit_id: found[0].id }), `已改派至${found[0].name}`)) settle(sent);
      loadSupervision();
    };
    const remindIt = () => act(api("POST", `/api/assignments/${assignmentId}/remind`, {}), "已督办").then(loadSupervision);
    return {
      element: h("tr", {}, h("td"), h("td"), h("td"), h("td"), h("td"),
        h("td", {}, h("div", { class: "actions" }, h("button", { class: "primary", type: "button", onclick: remindIt }, "督办"), unit, h("button", { class: "ghost", type: "button", onclick: reassign }, "改派")))),
    };
  }

  // -- search --------------------------------------------------------------------------------------

  function renderSearchView() {
    const inputs = {
      number: h("input", { placeholder: "工单号", "aria-label": "工单号", size: 14 }),
      phone: h("input", { placeholder: "电话", "aria-label": "电话", size: 12 }),
      text: h("input", { placeholder: "内容关键词", "aria-label": "关键词", size: 14 }),
      category: h("select", { "aria-label": "类别" }, h("option", { value: "" }, "全部类别"), state.categories.map((c) => h("option", { value: c }, c))),
      status: h("select", { "aria-label": "状态" }, h("option", { value: "" }, "全部状态"), Object.entries(STATUS).map(([k, v]) => h("option", { value: k }, v))),
      since: h("input", { type: "date", "aria-label": "起始日期" }),
      until: h("input", { type: "date", "aria-label": "截止日期" }),
    };
    const search = async (event) => {
      event?.preventDefault();
      const params = new URLSearchParams();
      for (const [key, input] of Object.entries(inputs)) {
        if (!input.value) continue;
        params.set(key, key === "since" || key === "until" ? new Date(`${input.value}T00:00:00+08:00`).toISOString() : input.value);
      }
      const rows = await act(api("GET", `/api/tickets?${params}`));
      if (!rows) return;
      $("search-results").replaceChildren(rows.length ? h("table", {}, h("thead", {}, h("tr", {}, ["工单号", "受理时间", "类型", "类别", "位置", "状态", "内容"].map((x) => h("th", {}, x)))),
        h("tbody", {}, rows.map((t) => h("tr", { tabindex: 0, class: "item-row", onclick: () => loadTicket(t.id, $("search-detail")), onkeydown: (e) => { if (e.key === "Enter") loadTicket(t.id, $("search-detail")); } },
          h("td", {}, t.number), h("td", {}, time(t.accepted_at)), h("td", {}, t.request_type), h("td", {}, t.category || ""), h("td", {}, place(t)), h("td", {}, STATUS[t.status]), h("td", {}, t.description.slice(0, 60))))))
        : h("p", { class: "empty" }, "没有符合条件的工单"));
    };
    $("view").replaceChildren(
      h("section", { class: "panel chat" }, h("form", { class: "filters", onsubmit: search }, Object.values(inputs), h("button", { class: "primary", type: "submit" }, "查询")), h("div", { class: "body", id: "search-results" })),
      h("section", { class: "panel ticket" }, h("h2", {}, "工单详情"), h("div", { class: "body", id: "search-detail" }, h("p", { class: "empty" }, "点击一行查看办理记录"))),
    );
    search();
  }

  // -- keyboard ------------------------------------------------------------------------------------

  document.addEventListener("keydown", (event) => {
    if (!state.me || state.tab !== "queue" || !event.altKey) return;
    if (event.key === "n" || event.key === "N") {
      const next = state.queue.find((i) => !i.operator_id && i.conversation_id);
      if (next) { event.preventDefault(); select(next).then(() => claim(next.conversation_id)); }
    }
    if (event.key === "j" || event.key === "k") {
      const index = state.queue.findIndex((i) => state.selected && (i.conversation_id || i.ticket_id) === (state.selected.conversation_id || state.selected.ticket_id));
      const next = state.queue[Math.max(0, Math.min(state.queue.length - 1, index + (event.key === "j" ? 1 : -1)))];
      if (next) { event.preventDefault(); select(next); }
    }
  });

  // -- start ---------------------------------------------------------------------------------------

  api("GET", "/api/me").then(start).catch(() => showLogin());
})();
