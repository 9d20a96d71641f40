// Supervisors' dashboard: the three rates, the ranking, where and what, hot topics. Charts by
// Chart.js (vendored); every text from the data goes in as text.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const charts = {};
  const pct = (value) => (value === null || value === undefined ? "—" : `${(value * 100).toFixed(1)}%`);

  function h(tag, props = {}, ...children) {
    const element = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (value === null || value === undefined) continue;
      if (key === "class") element.className = value; else if (key === "style") element.style.cssText = value; else element.setAttribute(key, value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      element.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return element;
  }

  async function get(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (response.status === 401 || response.status === 403) throw new Error("login");
    if (!response.ok) throw new Error(`请求失败（${response.status}）`);
    return response.json();
  }

  function lastCompleteMonth() {
    const now = new Date();
    const date = new Date(now.getFullYear(), now.getMonth() - 1, 1);
    return `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, "0")}`;
  }

  function chart(id, config) {
    if (charts[id]) charts[id].destroy();
    charts[id] = new Chart($(id), config);
  }

  async function load(month) {
    try {
      const [trend, breakdown, ranking, topics] = await Promise.all([
        get(`/api/stats/trend?month=${month}&months=6`),
        get(`/api/stats/breakdown?month=${month}`),
        get(`/api/stats/ranking?month=${month}`),
        get(`/api/stats/hot-topics?month=${month}`),
      ]);
      $("notice").hidden = true;
      $("board").hidden = false;
      renderKpis(trend.at(-1));
      renderTrend(trend);
      renderBreakdown(breakdown);
      renderRanking(ranking);
      renderTopics(topics);
    } catch (error) {
      $("board").hidden = true;
      $("notice").hidden = false;
      $("notice").replaceChildren(error.message === "login"
        ? h("span", {}, "请先以督办或话务人员身份 ", h("a", { href: "/console" }, "登录工作台"), "，再打开看板。")
        : error.message);
    }
  }

  function renderKpis(current) {
    const c = current.counts;
    $("kpi-tickets").textContent = current.tickets;
    $("kpi-tickets-note").textContent = `${current.month}`;
    $("kpi-response").textContent = pct(current.response_rate);
    $("kpi-response-note").textContent = `按时响应 ${c.responded_in_time} / 派单 ${c.dispatched}`;
    $("kpi-resolution").textContent = pct(current.resolution_rate);
    $("kpi-resolution-note").textContent = `已解决 ${c.resolved} / 回访 ${c.answered}`;
    $("kpi-satisfaction").textContent = pct(current.satisfaction_rate);
    $("kpi-satisfaction-note").textContent = `满意 ${c.satisfied} · 基本满意 ${c.basically_satisfied} · 不满意 ${c.unsatisfied}`;
  }

  function renderTrend(trend) {
    const percent = (key) => trend.map((m) => (m[key] === null ? null : +(m[key] * 100).toFixed(1)));
    chart("chart-trend", {
      type: "line",
      data: {
        labels: trend.map((m) => m.month),
        datasets: [
          { label: "响应率", data: percent("response_rate"), borderColor: "#2563eb", backgroundColor: "#2563eb" },
          { label: "解决率", data: percent("resolution_rate"), borderColor: "#c8161d", backgroundColor: "#c8161d" },
          { label: "满意率", data: percent("satisfaction_rate"), borderColor: "#059669", backgroundColor: "#059669" },
        ],
      },
      options: { responsive: true, aspectRatio: 3.5, scales: { y: { suggestedMin: 50, max: 100, ticks: { callback: (v) => `${v}%` } } } },
    });
  }

  function renderBreakdown(data) {
    chart("chart-category", {
      type: "bar",
      data: { labels: Object.keys(data.by_category), datasets: [{ label: "诉求量", data: Object.values(data.by_category), backgroundColor: "#c8161d" }] },
      options: { plugins: { legend: { display: false } } },
    });
    chart("chart-district", {
      type: "bar",
      data: { labels: Object.keys(data.by_district), datasets: [{ label: "诉求量", data: Object.values(data.by_district), backgroundColor: "#2563eb" }] },
      options: { indexAxis: "y", plugins: { legend: { display: false } } },
    });
    const categories = Object.keys(data.by_category);
    const max = Math.max(1, ...Object.values(data.grid).flatMap((row) => Object.values(row)));
    $("grid").replaceChildren(h("table", {},
      h("thead", {}, h("tr", {}, h("th", {}, "区"), categories.map((c) => h("th", {}, c)), h("th", {}, "合计"))),
      h("tbody", {}, Object.entries(data.grid).map(([district, row]) => h("tr", {},
        h("th", {}, district),
        categories.map((c) => {
          const count = row[c] || 0;
          return h("td", { class: "heat", style: `background: rgba(200, 22, 29, ${(0.85 * count / max).toFixed(2)}); color: ${count / max > 0.5 ? "#fff" : "inherit"}` }, count || "");
        }),
        h("td", { class: "heat" }, Object.values(row).reduce((a, b) => a + b, 0)))))));
  }

  function renderRanking(data) {
    $("ranking-title").textContent = `${data.month} 街道（乡镇）四类排名 · 参与排名 ${data.scored} / ${data.streets}`;
    const table = (title, rows, kind) => h("div", {}, h("h3", {}, title), h("table", {},
      h("thead", {}, h("tr", {}, ["#", "街道（乡镇）", kind === "governance" ? "诉求量" : kind === "improved" ? "名次变化" : "综合得分", "响应率", "解决率", "满意率"].map((x) => h("th", {}, x)))),
      h("tbody", {}, rows.map((r, i) => h("tr", {},
        h("td", {}, i + 1), h("td", {}, r.name),
        h("td", {}, kind === "governance" ? r.counts.tickets : kind === "improved" ? h("span", { class: "up" }, `↑${r.places_gained}（${r.previous_rank}→${r.rank}）`) : (r.score === null ? "—" : r.score.toFixed(2))),
        h("td", {}, pct(r.response_rate)), h("td", {}, pct(r.resolution_rate)), h("td", {}, pct(r.satisfaction_rate)))))));
    $("ranking").replaceChildren(
      table("先进类", data.advanced, "advanced"), table("进步类", data.improved, "improved"),
      table("整改类", data.rectify, "rectify"), table("治理类", data.governance, "governance"));
  }

  function renderTopics(topics) {
    if (!topics.length) { $("topics").replaceChildren(h("li", {}, "本月暂无集中反映的问题")); return; }
    $("topics").replaceChildren(...topics.map((t) => h("li", {},
      h("strong", {}, `${t.category || "未分类"} · ${t.keywords.join(" ")}`), ` ${t.size} 件`,
      t.growth === null ? h("span", { class: "meta" }, "（新出现）") : h("span", { class: t.growth >= 0 ? "up" : "down" }, `（较上月 ${t.growth >= 0 ? "+" : ""}${Math.round(t.growth * 100)}%）`),
      h("div", { class: "meta" }, "集中在：", t.places.map(([name, count]) => `${name}(${count})`).join("、")),
      h("ul", {}, t.typical.map((x) => h("li", {}, `${x.number} ${x.place}：`, x.description))))));
  }

  const params = new URLSearchParams(location.search);
  $("month").value = params.get("month") || lastCompleteMonth();
  $("month").addEventListener("change", () => {
    history.replaceState(null, "", `?month=${$("month").value}`);
    load($("month").value);
  });
  load($("month").value);
})();
