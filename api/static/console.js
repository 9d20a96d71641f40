// The operators' console: queue, live chat, ticket review and dispatch; the units' queue; supervision;
// search. Plain DOM, no build step. Every piece of citizen text goes in as a text node (see h()).
"use strict";

(() => {
  const state = { me: null, csrf: null, tab: null, selected: null, categories: [], canned: [], queue: [], socket: null, unitRows: {} };
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
    const tabs = tabsFor(state.me.role);
    $("tabs").replaceChildren(...tabs.map(([key, label]) => h("button", { type: "button", "data-tab": key, onclick: () => show(key) }, label)));
    if (state.me.role !== "unit_handler") {
      state.categories = (await act(api("GET", "/api/categories"))) || [];
      state.canned = (await act(api("GET", "/api/canned-replies"))) || [];
    }
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
  let refreshTimer = null, firstWaiting = 0, ticketChanged = false;
  function onChanges(changes) {
    const selected = state.selected;
    for (const change of changes) {
      if (change.kind === "message" && selected && change.conversation_id === selected.conversation_id) appendMessage(change.data);
    }
    if (selected && changes.some((c) => c.ticket_id && c.ticket_id === selected.ticket_id)) ticketChanged = true;
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
    if (ticketChanged && state.selected && state.selected.ticket_id) loadTicket(state.selected.ticket_id);
    ticketChanged = false;
  }

  // -- queue and chat -----------------------------------------------------------------------------

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

  async function loadQueue() {
    const queue = await act(api("GET", "/api/queue"));
    if (!queue || state.tab !== "queue") return;
    state.queue = queue.items;
    $("queue-title").textContent = `队列：${queue.waiting} 位等待，最长 ${wait(queue.longest_wait_seconds)}`;
    const list = $("queue-list");
    if (!queue.items.length) { list.replaceChildren(h("p", { class: "empty" }, "暂无等待的市民")); return; }
    const more = queue.total > queue.items.length ? h("p", { class: "hint" }, `显示最先的 ${queue.items.length} 项，共 ${queue.total} 项`) : null;
    const rows = queue.items.map((item) => {
      const mine = item.operator_id === state.me.id;
      const key = item.conversation_id || item.ticket_id;
      const selected = state.selected && (state.selected.conversation_id || state.selected.ticket_id) === key;
      return h("div", { class: `item${selected ? " selected" : ""}`, tabindex: 0, role: "button", "data-key": key,
        onclick: () => select(item), onkeydown: (e) => { if (e.key === "Enter") select(item); } },
        h("div", { class: "meta" },
          h("span", {}, item.urgent ? h("span", { class: "badge urgent" }, "紧急") : null, " ", h("span", { class: "badge" }, CHANNELS[item.channel] || item.channel), " ",
            item.lane === "enterprise" ? h("span", { class: "badge held" }, "企业") : null, " ",
            item.ticket_status ? h("span", { class: "badge" }, STATUS[item.ticket_status]) : null, " ",
            item.operator_id ? h("span", { class: "badge held" }, mine ? "我接待中" : "他人接待") : null),
          h("span", {}, `等待 ${wait(item.waiting_seconds)}`)),
        h("div", {}, item.citizen_name || "市民", item.ticket_number ? ` · ${item.ticket_number}` : ""),
        h("div", { class: "preview" }, item.preview));
    });
    list.replaceChildren(...rows, ...(more ? [more] : []));
  }

  async function select(item) {
    state.selected = item;
    for (const element of document.querySelectorAll("#queue-list .item")) element.classList.toggle("selected", element.dataset.key === (item.conversation_id || item.ticket_id));
    if (item.conversation_id) await loadChat(item.conversation_id); else $("chat-body").replaceChildren(h("p", { class: "empty" }, "该工单没有在线会话"));
    if (item.ticket_id) await loadTicket(item.ticket_id); else $("ticket-body").replaceChildren(h("p", { class: "empty" }, "尚未形成工单"));
  }

  async function loadChat(conversationId) {
    const chat = await act(api("GET", `/api/conversations/${conversationId}`));
    if (!chat) return;
    const held = chat.state === "operator";
    const mine = held && chat.operator_id === state.me.id;
    $("chat-title").textContent = `会话 · ${CHANNELS[chat.channel] || chat.channel} · ${held ? (mine ? "我接待中" : "他人接待中") : chat.state === "queued" ? "等待接入" : "机器人接待"}`;
    const history = chat.citizen_tickets.length
      ? h("details", { open: true }, h("summary", {}, `该市民的工单（${chat.citizen_tickets.length}）`),
          h("ul", { class: "timeline" }, chat.citizen_tickets.map((t) => h("li", {}, h("strong", {}, t.number), ` ${STATUS[t.status]} · ${t.category || "未分类"} · `, t.description.slice(0, 40)))))
      : null;
    $("chat-body").replaceChildren(history || "", h("ul", { class: "messages", id: "messages" }, chat.messages.map(messageItem)));
    scrollChat();
    const actions = [];
    if (chat.state === "queued") actions.push(h("button", { class: "primary", type: "button", onclick: () => claim(conversationId) }, "接入会话"));
    if (held && (mine || state.me.role !== "operator")) {
      actions.push(h("button", { class: "ghost", type: "button", onclick: async () => { await act(api("POST", `/api/conversations/${conversationId}/release`), "已放回队列"); refreshSelected(); } }, "放回队列"));
      const colleague = h("input", { placeholder: "同事用户名", size: 10, "aria-label": "转接给" });
      actions.push(colleague, h("button", { class: "ghost", type: "button", onclick: async () => { await act(api("POST", `/api/conversations/${conversationId}/transfer`, { username: colleague.value }), "已转接"); refreshSelected(); } }, "转接"));
      actions.push(h("button", { class: "ghost", type: "button", onclick: async () => { await act(api("POST", `/api/conversations/${conversationId}/end`), "会话已结束，机器人接管"); refreshSelected(); } }, "结束会话"));
    }
    const composer = mine ? composerFor(conversationId) : null;
    $("chat-actions").replaceChildren(...(composer ? [composer] : []), h("div", { class: "actions" }, actions));
    if (composer) composer.querySelector("textarea").focus();
  }

  function messageItem(message) {
    const sender = message.sender || (message.direction === "in" ? "citizen" : "bot");
    const label = { citizen: "市民", bot: "机器人", operator: "话务员", system: "系统" }[sender] || sender;
    return h("li", { class: sender, "data-id": message.id }, message.text || (message.payload ? "[位置/图片]" : ""), h("span", { class: "time" }, `${label} · ${time(message.created_at)}`));
  }

  function appendMessage(message) {
    const list = $("messages");
    if (!list || list.querySelector(`[data-id="${CSS.escape(message.id)}"]`)) return;
    list.append(messageItem(message));
    scrollChat();
  }

  function scrollChat() { const body = $("chat-body"); body.scrollTop = body.scrollHeight; }

  function composerFor(conversationId) {
    const input = h("textarea", { "aria-label": "回复市民", placeholder: "输入回复，Ctrl+Enter 发送；输入 /where 后按 Tab 插入常用语" });
    const send = async () => {
      const text = input.value.trim();
      if (!text) return;
      const sent = await act(api("POST", `/api/conversations/${conversationId}/messages`, { text }));
      if (sent) { input.value = ""; appendMessage(sent); }
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
      const fresh = state.queue.find((i) => (i.conversation_id || i.ticket_id) === (state.selected.conversation_id || state.selected.ticket_id));
      await select(fresh || state.selected);
    }
  }

  // -- the ticket panel -----------------------------------------------------------------------------

  async function loadTicket(ticketId) {
    const detail = await act(api("GET", `/api/tickets/${ticketId}`));
    if (detail) renderTicket(detail, $("ticket-body"));
  }

  function guess(text, confidence) {
    if (confidence === null || confidence === undefined) return h("span", { class: "guess" }, text);
    return h("span", { class: `guess${confidence < 0.6 ? " low" : ""}` }, `${text}（置信度 ${Math.round(confidence * 100)}%）`);
  }

  function renderTicket(detail, container) {
    const t = detail.ticket;
    const a = detail.analysis || {};
    const editable = state.me.role !== "unit_handler" && ["accepted", "returned", "reopened"].includes(t.status);
    const field = (name, element) => { element.name = name; element.disabled = !editable; return element; };
    const type = field("request_type", h("select", { "aria-label": "诉求类型" }, TYPES.map((x) => h("option", { value: x, selected: x === t.request_type }, x))));
    const category = field("category", h("select", { "aria-label": "类别" }, h("option", { value: "" }, "（请选择）"), state.categories.map((x) => h("option", { value: x, selected: x === t.category }, x))));
    const street = field("street_code", h("input", { value: t.street_code || "", "aria-label": "街道编码", placeholder: "街道/乡镇编码，如 110105026" }));
    const address = field("address", h("input", { value: t.address || "", "aria-label": "地址" }));
    const description = field("description", h("textarea", { rows: 3, "aria-label": "诉求内容" }, t.description));
    const phone = field("contact_phone", h("input", { value: t.contact_phone || "", "aria-label": "联系电话" }));
    const urgent = field("urgent", h("input", { type: "checkbox", checked: t.urgent, "aria-label": "紧急" }));
    const review = async () => {
      const body = { request_type: type.value, description: description.value, address: address.value, contact_phone: phone.value, urgent: urgent.checked };
      if (category.value) body.category = category.value;
      if (street.value && street.value !== t.street_code) body.street_code = street.value.trim();
      const updated = await act(api("PATCH", `/api/tickets/${t.id}`, body), "工单已确认");
      if (updated) renderTicket(updated, container);
    };
    const units = h("div", { class: "units" }, detail.suggested_units.map((u, i) => h("label", {}, h("input", { type: "checkbox", value: u.id, checked: i === 0 }), ` ${u.name}`, h("span", { class: "hint" }, ` ${u.kind === "street" ? "属地" : "部门"}`))));
    const dispatch = async () => {
      const ids = [...units.querySelectorAll("input:checked")].map((x) => x.value);
      const updated = await act(api("POST", `/api/tickets/${t.id}/dispatch`, { unit_ids: ids }), "已派单");
      if (updated) { renderTicket(updated, container); loadQueue(); }
    };
    const answer = h("textarea", { rows: 2, "aria-label": "直接答复", placeholder: "可直接答复的咨询：写下答复并办结" });
    const close = async () => {
      const updated = await act(api("POST", `/api/tickets/${t.id}/close`, { answer: answer.value }), "已答复办结");
      if (updated) { renderTicket(updated, container); loadQueue(); }
    };
    container.replaceChildren(
      h("p", {}, h("strong", { class: "number" }, t.number), " ", h("span", { class: "badge" }, STATUS[t.status]), " ", t.urgent ? h("span", { class: "badge urgent" }, `紧急 ${t.urgency_cue || ""}`) : null,
        t.lane === "enterprise" ? h("span", { class: "badge held" }, `企业${t.credit_code ? ` ${t.credit_code}` : ""}`) : null),
      h("div", { class: "form" },
        h("label", {}, "诉求类型"), type, a.request_type ? guess(`识别：${a.request_type}`, a.request_type_confidence) : null,
        h("label", {}, "类别"), category, a.category ? guess(`识别：${a.category}${a.category_unsure ? "（不确定）" : ""}`, a.category_confidence) : null,
        h("label", {}, "位置"), h("span", {}, place(t)),
        h("label", {}, "街道编码"), street,
        h("label", {}, "地址"), address,
        h("label", {}, "诉求内容"), description,
        h("label", {}, "联系电话"), phone,
        h("label", {}, "紧急"), urgent),
      editable ? h("div", { class: "actions" }, h("button", { class: "ghost", type: "button", onclick: review }, t.confirmed_at ? "保存修改" : "确认识别结果")) : null,
      editable ? h("div", {}, h("h3", {}, "派单"), units, h("button", { class: "primary", type: "button", onclick: dispatch }, "派单")) : null,
      editable && t.conversation_id ? h("div", {}, h("h3", {}, "直接答复"), answer, h("button", { class: "ghost", type: "button", onclick: close }, "答复并办结")) : null,
      detail.assignments.length ? h("div", {}, h("h3", {}, "承办单位"), h("ul", { class: "timeline" }, detail.assignments.map((x) => h("li", {}, `${x.unit.name} · ${({ dispatched: "待签收", signed: "已签收", in_progress: "办理中", resolved: "已办结", returned: "已退回", withdrawn: "已改派" })[x.status]}`, x.reminders ? ` · 督办${x.reminders}次` : "", x.return_reason ? ` · 退回理由：${x.return_reason}` : "", x.result ? ` · 结果：${x.result}` : "")))) : null,
      state.me.role !== "unit_handler" ? h("details", { class: "similar", ontoggle: (e) => { if (e.target.open) loadSimilar(t.id, e.target); } },
        h("summary", {}, "相似工单（举一反三）")) : null,
      h("h3", {}, "办理记录"),
      h("ul", { class: "timeline" }, detail.timeline.map((e) => h("li", {}, h("time", {}, time(e.created_at)), " ", e.to_status ? STATUS[e.to_status] || e.to_status : e.kind, " · ", { bot: "机器人", operator: "话务员", unit: "承办单位", supervisor: "督办", citizen: "市民", system: "系统" }[e.actor_type] || e.actor_type, e.note ? ` · ${e.note}` : ""))),
    );
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

  let unitLoads = 0, unitShown = 0;
  async function loadUnit() {
    const load = ++unitLoads;
    const rows = await act(api("GET", "/api/my/assignments"));
    // An answer that comes back after a newer one is older news: drawing it would undo the newer.
    if (!rows || state.tab !== "unit" || load < unitShown) return;
    unitShown = load;
    const listed = new Set(rows.map(({ assignment: a }) => a.id));
    for (const id of Object.keys(state.unitRows)) if (!listed.has(id)) delete state.unitRows[id];
    const body = $("unit-body");
    if (!rows.length) { body.replaceChildren(h("p", { class: "empty" }, "暂无待办工单")); return; }
    let tbody = body.querySelector("tbody");
    if (!tbody) body.replaceChildren(h("table", {}, h("thead", {}, h("tr", {}, ["工单", "诉求", "位置", "时限", "状态", "操作"].map((x) => h("th", {}, x)))), tbody = h("tbody")));
    const focused = document.activeElement;
    rows.forEach((row, i) => {
      const tr = unitRow(row);
      if (tbody.children[i] !== tr) tbody.insertBefore(tr, tbody.children[i] || null);  // moves only rows out of place
    });
    while (tbody.children.length > rows.length) tbody.lastElementChild.remove();
    if (focused && focused !== document.activeElement && focused.isConnected) focused.focus();  // its row moved, or its form was rebuilt
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
    cells.forEach((cell, i) => { if (!row.element.cells[i].isEqualNode(cell)) row.element.cells[i].replaceWith(cell); });
    return row.element;
  }

  // An assignment's row and its two forms: 签收 (or 退回), then 报进展, 办结 (or 退回). What the handler
  // types stays in these inputs across refreshes; the note field is in both.
  function unitForm(assignmentId) {
    const note = h("input", { placeholder: "进展 / 结果 / 退回理由", "aria-label": "说明", size: 18 });
    const reply = h("input", { placeholder: "给市民的答复", "aria-label": "给市民的答复", size: 18 });
    const phoned = h("input", { type: "checkbox", "aria-label": "已电话联系市民" });
    const valueOf = (input) => (input.type === "checkbox" ? input.checked : input.value);
    const post = async (path, body, done, inputs = []) => {
      // Only what was sent is cleared, and only if it was not changed while the request was out:
      // the handler may already be typing the next note.
      const sent = inputs.map((input) => [input, valueOf(input)]);
      if (await act(api("POST", `/api/assignments/${assignmentId}/${path}`, body), done)) {
        for (const [input, value] of sent) if (valueOf(input) === value) { if (input.type === "checkbox") input.checked = false; else input.value = ""; }
      }
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

  async function loadSupervision() {
    const rows = await act(api("GET", "/api/supervision/overdue"));
    if (!rows || state.tab !== "supervision") return;
    const body = $("supervision-body");
    if (!rows.length) { body.replaceChildren(h("p", { class: "empty" }, "暂无超期或临期工单")); return; }
    body.replaceChildren(h("table", {}, h("thead", {}, h("tr", {}, ["单位", "工单", "环节", "时限", "督办", "操作"].map((x) => h("th", {}, x)))),
      h("tbody", {}, rows.map((r) => {
        const unit = h("input", { placeholder: "改派单位编码", size: 12, "aria-label": "改派单位编码" });
        const reassign = async () => {
          const found = await act(api("GET", `/api/units?q=${encodeURIComponent(unit.value)}`));
          if (!found || !found.length) { toast("找不到该单位"); return; }
          await act(api("POST", `/api/assignments/${r.assignment_id}/reassign`, { unit_id: found[0].id }), `已改派至${found[0].name}`);
          loadSupervision();
        };
        return h("tr", {}, h("td", {}, r.unit.name), h("td", {}, r.ticket_number, r.urgent ? h("span", { class: "badge urgent" }, "紧急") : null),
          h("td", {}, r.stage === "sign" ? "签收" : "办结"), h("td", {}, time(r.deadline), " ", h("span", { class: `badge${r.overdue ? " overdue" : ""}` }, r.overdue ? "已超期" : "临期")),
          h("td", {}, `${r.reminders}次`),
          h("td", {}, h("div", { class: "actions" }, h("button", { class: "primary", type: "button", onclick: () => act(api("POST", `/api/assignments/${r.assignment_id}/remind`, {}), "已督办").then(loadSupervision) }, "督办"), unit, h("button", { class: "ghost", type: "button", onclick: reassign }, "改派"))));
      }))));
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
        h("tbody", {}, rows.map((t) => h("tr", { tabindex: 0, class: "item-row", onclick: () => loadTicketInto(t.id), onkeydown: (e) => { if (e.key === "Enter") loadTicketInto(t.id); } },
          h("td", {}, t.number), h("td", {}, time(t.accepted_at)), h("td", {}, t.request_type), h("td", {}, t.category || ""), h("td", {}, place(t)), h("td", {}, STATUS[t.status]), h("td", {}, t.description.slice(0, 60))))))
        : h("p", { class: "empty" }, "没有符合条件的工单"));
    };
    $("view").replaceChildren(
      h("section", { class: "panel chat" }, h("form", { class: "filters", onsubmit: search }, Object.values(inputs), h("button", { class: "primary", type: "submit" }, "查询")), h("div", { class: "body", id: "search-results" })),
      h("section", { class: "panel ticket" }, h("h2", {}, "工单详情"), h("div", { class: "body", id: "search-detail" }, h("p", { class: "empty" }, "点击一行查看办理记录"))),
    );
    search();
  }

  async function loadTicketInto(ticketId) {
    const detail = await act(api("GET", `/api/tickets/${ticketId}`));
    if (detail) renderTicket(detail, $("search-detail"));
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
