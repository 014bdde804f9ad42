// StreamIngest operations dashboard: polls /v1/dashboard while visible, tails /v1/stream/posts (SSE),
// searches /v1/search and grounds /v1/ground. No build step; uPlot (vendor/uplot) draws the charts.
// Every piece of post text goes into the page through textContent, never as HTML.
(() => {
  // When the host requires API keys, open the dashboard as /?api_key=<key> (an admin key): every call carries it.
  const apiKey = new URLSearchParams(location.search).get("api_key");
  const keyed = (url) => apiKey ? `${url}${url.includes("?") ? "&" : "?"}api_key=${encodeURIComponent(apiKey)}` : url;
  "use strict";
  const $ = (id) => document.getElementById(id);
  const POLL_MS = 2000;
  const fmt = (n, digits = 1) => (n === undefined || n === null || Number.isNaN(n)) ? "–" : Number(n).toLocaleString(undefined, { maximumFractionDigits: digits });
  const el = (tag, props = {}, ...children) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props)) {
      if (k === "class") e.className = v; else if (k === "text") e.textContent = v; else e.setAttribute(k, v);
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c);
    return e;
  };
  const safeLink = (url, text) => {
    try {
      const u = new URL(url);
      if (u.protocol === "http:" || u.protocol === "https:") return el("a", { href: u.href, target: "_blank", rel: "noopener noreferrer", text });
    } catch { /* not a URL */ }
    return document.createTextNode(text);
  };
  const time = (iso) => iso ? new Date(iso).toLocaleTimeString() : "–";

  // ---- charts -------------------------------------------------------------------------------
  const palette = ["#58a6ff", "#3fb950", "#d29922", "#f778ba", "#a371f7", "#79c0ff", "#ffa657", "#56d4dd"];
  const charts = {};
  function chart(id, labels, data) {
    const host = $(id);
    const width = Math.max(280, host.clientWidth || 400);
    const key = labels.join("|");
    if (charts[id] && charts[id].key === key) {
      charts[id].plot.setData(data);
      if (Math.abs(charts[id].plot.width - width) > 4) charts[id].plot.setSize({ width, height: 200 });
      return;
    }
    if (charts[id]) charts[id].plot.destroy();
    const opts = {
      width, height: 200,
      // At least the last 15 minutes on the x axis, however few samples there are yet.
      scales: { x: { time: true, range: (u, min, max) => [Math.min(min, max - 900), max] } },
      axes: [{ stroke: "#8a96a3", grid: { stroke: "#2d333b" } }, { stroke: "#8a96a3", grid: { stroke: "#2d333b" }, size: 55 }],
      series: [{}, ...labels.map((l, i) => ({ label: l, stroke: palette[i % palette.length], width: 1.5, spanGaps: true }))],
      legend: { live: false },
    };
    charts[id] = { key, plot: new uPlot(opts, data, host) };
  }

  window.addEventListener("resize", () => {
    for (const id of Object.keys(charts)) {
      const width = Math.max(280, $(id).clientWidth || 400);
      charts[id].plot.setSize({ width, height: 200 });
    }
  });

  function drawCharts(history) {
    const xs = history.map((s) => new Date(s.at).getTime() / 1000);
    const sources = [...new Set(history.flatMap((s) => Object.keys(s.in_per_second_by_source || {})))].sort();
    chart("chart-ingest", sources.length ? sources : ["(no feeds)"],
      [xs, ...(sources.length ? sources.map((src) => history.map((s) => (s.in_per_second_by_source || {})[src] ?? null)) : [history.map(() => null)])]);
    chart("chart-freshness", ["p50", "p99"], [xs, history.map((s) => s.freshness_p50_ms ?? null), history.map((s) => s.freshness_p99_ms ?? null)]);
    chart("chart-throughput", ["stored", "embedded"], [xs, history.map((s) => s.stored_per_second), history.map((s) => s.embedded_per_second)]);
    chart("chart-queue", ["queue", "dead letters/min"], [xs, history.map((s) => s.queue ?? null), history.map((s) => s.dead_letters_per_minute)]);
    const pct = (v) => (v == null ? null : Math.round(v * 1000) / 10);
    chart("chart-split", ["ingest %", "queries %", "queue age ms"],
      [xs, history.map((s) => pct(s.ingest_share)), history.map((s) => pct(s.query_share)), history.map((s) => s.queue_age_ms ?? null)]);
    chart("chart-queries", ["admitted", "refused"], [xs, history.map((s) => s.queries_admitted_per_second ?? 0), history.map((s) => s.queries_refused_per_second ?? 0)]);
  }

  // ---- tables and cards ---------------------------------------------------------------------
  function drawStats(d) {
    const last = d.history.length ? d.history[d.history.length - 1] : null;
    const totalIn = last ? Object.values(last.in_per_second_by_source || {}).reduce((a, b) => a + b, 0) : null;
    $("stat-in").textContent = fmt(totalIn);
    $("stat-stored-rate").textContent = fmt(last ? last.stored_per_second : null);
    $("stat-stored").textContent = fmt(d.stats.stored, 0);
    $("stat-freshness").textContent = `${fmt(d.stats.freshness_p50_ms, 0)} / ${fmt(d.stats.freshness_p99_ms, 0)} ms`;
    $("stat-queue").textContent = fmt(d.stats.queue, 0);
    $("stat-deadletters").textContent = fmt(d.stats.rejected, 0);
    const split = d.stats.capacity;
    $("stat-split").textContent = split ? `${fmt(split.ingest_share * 100, 0)} / ${fmt(split.query_share * 100, 0)} %` : "–";
    $("stat-refused").textContent = fmt(last ? last.queries_refused_per_second : null);
    $("role").textContent = `role: ${d.role}`;
  }

  function drawFeeds(feeds) {
    const body = $("feeds").querySelector("tbody");
    body.replaceChildren(...(feeds.length ? feeds : []).map((f) => {
      const gaps = (f.gaps || []).slice(-3).map((g) => `${time(g.start)}–${time(g.end)} ${g.recovered ? "recovered" : "NOT recovered"} (${g.reason})`).join("; ");
      return el("tr", { "data-feed": f.name },
        el("td", { text: f.name }),
        el("td", { class: `state ${f.connected ? "ok" : "bad"}`, text: f.connected ? "connected" : "disconnected" }),
        el("td", { class: "wrap", text: f.endpoint || "–" }),
        el("td", { class: "num", text: fmt(f.events, 0) }),
        el("td", { class: "num", text: fmt(f.events_per_second) }),
        el("td", { class: "num", text: fmt(f.reconnects, 0) }),
        el("td", { class: "wrap", text: f.resume_cursor || "–" }),
        el("td", { class: "wrap", text: f.last_error || "" }),
        el("td", { class: "wrap", text: gaps || "none" }));
    }));
    if (!feeds.length) body.append(el("tr", {}, el("td", { colspan: "9", class: "muted", text: "No feeds run in this process." })));
  }

  function drawPartitions(d) {
    const section = $("partitions-section");
    if (!d.partitions && !d.partitions_error) { section.hidden = true; return; }
    section.hidden = false;
    $("partitions-error").textContent = d.partitions_error || "";
    $("partitions").querySelector("tbody").replaceChildren(...(d.partitions || []).map((p) => el("tr", {},
      el("td", { text: p.partition_id }),
      el("td", { text: p.owner || "unowned" }),
      el("td", { text: time(p.owned_since) }),
      el("td", { class: "num", text: fmt(p.checkpoint_sequence_number, 0) }),
      el("td", { class: "num", text: fmt(p.last_enqueued_sequence_number, 0) }),
      el("td", { class: "num", text: fmt(p.lag, 0) }))));
  }

  function drawTrends(trends, bursts) {
    const host = $("trends");
    const burstGroup = (bursts && bursts.length)
      ? [el("div", { class: "trend-group", id: "bursts" },
          el("h3", { text: "bursting in the last hour (against each one's own 12-hour baseline)" }),
          el("ol", {}, ...bursts.slice(0, 12).map((b) => el("li", { "data-entity": b.entity },
            el("span", { class: "entity", text: b.entity }),
            document.createTextNode(` ${fmt(b.posts, 0)} posts (expected ${fmt(b.expected)}) · z ${fmt(b.score)} · ${fmt(b.posts_per_hour)}/h${b.mean_sentiment !== undefined ? ` · sentiment ${fmt(b.mean_sentiment, 2)}` : ""}`)))))]
      : [];
    if (!trends.length && !burstGroup.length) { host.replaceChildren(el("p", { class: "muted", text: "Nothing bursting, and no platform trends yet (X and Mastodon report them when configured)." })); return; }
    host.replaceChildren(...burstGroup, ...trends.map((t) => el("div", { class: "trend-group" },
      el("h3", { text: `${t.source} · ${time(t.at)}` }),
      el("div", {}, ...t.trends.slice(0, 15).map((x) => el("span", { class: "entity" }, x.url ? safeLink(x.url, x.name) : document.createTextNode(x.name),
        x.volume ? document.createTextNode(` (${fmt(x.volume, 0)})`) : null))))));
  }

  // ---- polling (only while the page is visible: a hidden tab costs the API nothing) --------
  let timer = null;
  async function poll() {
    timer = null;
    try {
      const r = await fetch(keyed("/v1/dashboard"), { cache: "no-store" });
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      const d = await r.json();
      drawStats(d); drawCharts(d.history); drawFeeds(d.feeds); drawPartitions(d); drawTrends(d.trends, d.bursts);
      $("connection").textContent = "live"; $("connection").className = "pill ok";
      $("updated").textContent = `updated ${new Date(d.generated_at).toLocaleTimeString()}`;
    } catch (e) {
      $("connection").textContent = `API unreachable (${e.message})`; $("connection").className = "pill bad";
    }
    if (document.visibilityState === "visible") timer = setTimeout(poll, POLL_MS);
  }
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && !timer) poll();
    if (document.visibilityState === "visible") openTail(); else closeTail();
  });

  // ---- live tail ------------------------------------------------------------------------------
  let tail = null;
  function postItem(p) {
    const labels = (p.safety_labels || []).map((l) => el("span", { class: "label-chip", title: (l.evidence || []).join("; "), text: `${l.label} ${fmt(l.score, 2)}` }));
    return el("li", { "data-id": p.id },
      el("div", { class: "meta" }, ...labels, document.createTextNode(`${p.source} · @${p.author} · ${time(p.created_at)} `), p.url ? safeLink(p.url, "source") : null),
      el("div", { text: p.text }));
  }
  function openTail() {
    if (tail || !window.EventSource) return;
    tail = new EventSource(keyed("/v1/stream/posts"));
    tail.addEventListener("post", (e) => {
      const list = $("tail");
      list.prepend(postItem(JSON.parse(e.data)));
      while (list.children.length > 100) list.lastChild.remove();
    });
    tail.onopen = () => { $("tail-state").textContent = "(streaming)"; };
    tail.onerror = () => { $("tail-state").textContent = "(reconnecting…)"; };
  }
  function closeTail() { if (tail) { tail.close(); tail = null; } }

  // ---- search and ground ---------------------------------------------------------------------
  const params = () => new URLSearchParams({ q: $("q").value, window: $("window").value, mode: $("mode").value, k: "10" });
  async function problem(r) {
    try { const p = await r.json(); return p.errors ? Object.values(p.errors).flat().join(" ") : (p.detail || p.title); } catch { return `HTTP ${r.status}`; }
  }
  $("search-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("search-status").textContent = "searching…";
    const r = await fetch(keyed(`/v1/search?${params()}`));
    if (!r.ok) { $("search-status").textContent = await problem(r); return; }
    const d = await r.json();
    const stages = Object.entries(d.stage_ms || {}).map(([k, v]) => `${k} ${fmt(v)}`).join(" · ");
    $("search-status").textContent = `${d.results.length} results of ${d.candidates_considered} candidates in ${fmt(d.took_ms)} ms${stages ? ` (${stages})` : ""}`;
    $("results").replaceChildren(...d.results.map((h) => {
      const s = h.score;
      const entities = [...(h.entities.hashtags || []).map((x) => "#" + x), ...(h.entities.cashtags || []).map((x) => "$" + x), ...(h.entities.mentions || []).map((x) => "@" + x)];
      return el("li", { class: "result" },
        el("div", { class: "meta" }, document.createTextNode(`${h.source} · @${h.author.handle} · ${time(h.created_at)} `), h.url ? safeLink(h.url, "source") : null,
          h.duplicates ? document.createTextNode(` · +${h.duplicates} copies`) : null),
        el("div", {}, ...(h.safety_labels || []).map((l) => el("span", { class: "label-chip", title: (l.evidence || []).join("; "), text: `${l.label} ${fmt(l.score, 2)}` }))),
        el("div", { text: h.text }),
        el("div", {}, ...entities.map((x) => el("span", { class: "entity", text: x }))),
        h.sentiment ? el("div", { class: "meta", text: `sentiment ${h.sentiment.label} ${fmt(h.sentiment.score, 2)}${h.sentiment.tickers ? " · " + Object.entries(h.sentiment.tickers).map(([t, v]) => `$${t} ${fmt(v, 2)}`).join(" ") : ""}` }) : null,
        el("div", { class: "scores", text: `final ${fmt(s.final, 4)} · fused ${fmt(s.fused, 4)} · vector ${fmt(s.vector, 3)} · keyword ${fmt(s.keyword, 3)} · recency ${fmt(s.recency, 3)} · engagement ${fmt(s.engagement, 3)}` }));
    }));
  });
  $("ground").addEventListener("click", async () => {
    if (!$("q").value) { $("search-status").textContent = "type a question first"; return; }
    $("search-status").textContent = "grounding…";
    const r = await fetch(keyed("/v1/ground"), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ question: $("q").value, window: $("window").value, mode: $("mode").value, k: 8 }) });
    if (!r.ok) { $("search-status").textContent = await problem(r); return; }
    const g = await r.json();
    $("search-status").textContent = "";
    $("ground-output").hidden = false;
    $("ground-meta").textContent = `${(g.excluded || []).length ? `${g.excluded.length} left out for safety (${g.excluded.map((x) => x.id).join(", ")}) · ` : ""}${g.citations.length} citations · ${g.tokens}/${g.max_tokens} tokens · newest ${time(g.freshness.newest)} · considered ${g.freshness.candidates_considered}, dropped for budget ${g.freshness.dropped_for_budget}`;
    $("citations").replaceChildren(...g.citations.map((c) => el("li", {}, document.createTextNode(`[${c.n}] ${c.source} @${c.author} ${time(c.created_at)} `), c.url ? safeLink(c.url, c.id) : document.createTextNode(c.id))));
    $("ground-prompt").textContent = `${g.system}\n\n${g.context}\n\nQuestion: ${g.question}`;
  });

  poll();
  if (document.visibilityState === "visible") openTail();
})();
