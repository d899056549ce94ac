// The console page: polls /api/overview, draws both pipelines against their budgets, runs the
// inspector and the drills. Plain browser JavaScript, no dependencies, works offline.
"use strict";

const REFRESH_MS = 2000;


const fmtMs = (x) => (x === null || x === undefined ? "-" : x < 1 ? `${x.toFixed(3)} ms` : x < 100 ? `${x.toFixed(2)} ms` : `${Math.round(x)} ms`);
const fmtPct = (x) => (x === null || x === undefined ? "-" : `${(x * 100).toFixed(2)} %`);
const fmtN = (x) => (x === null || x === undefined ? "-" : String(x));

/** The p99 a stage is judged by: the window's when it saw traffic, else since start. */
function shown(view) {
  if (view.window && view.window.count > 0) return { p50: view.window.p50Ms, p99: view.window.p99Ms, scope: "last window" };
  return { p50: view.p50Ms, p99: view.p99Ms, scope: "since start" };
}

function bar(p99, budget) {
  const scale = Math.max(budget || 0, p99 || 0) * 1.25 || 1;
  const b = el("div", { class: "bar" }, el("div", { class: "fill", style: `width:${Math.min(100, ((p99 || 0) / scale) * 100)}%` }));
  if (budget) b.append(el("div", { class: "budget", style: `left:${(budget / scale) * 100}%`, title: `p99 budget ${budget} ms` }));
  return b;
}

function stageBox(stage) {
  const s = shown(stage);
  const box = el(
    "div",
    { class: `stage${stage.overBudget ? " over" : ""}`, "data-stage": stage.id },
    el("div", { class: "name", text: stage.label }),
    el("div", { class: "svcname", text: stage.service }),
    el(
      "div",
      { class: "nums" },
      el("span", { text: "p50 " }),
      el("span", { class: "p50", text: fmtMs(s.p50) }),
      el("span", { text: " p99 " }),
      el("span", { class: "p99", text: fmtMs(s.p99) }),
    ),
    el("div", { class: "nums muted" }, el("span", { class: "count", text: fmtN(stage.count) }), " since start", stage.budgetP99Ms ? ` · budget p99 ${stage.budgetP99Ms} ms` : ""),
    bar(s.p99, stage.budgetP99Ms),
  );
  if (stage.inner && stage.inner.length > 0) box.append(el("div", { class: "inner" }, stage.inner.map(stageBox)));
  return box;
}

function pipelinePanel(p) {
  const e2e = p.endToEnd;
  const s = shown(e2e);
  const rate = e2e.window ? e2e.window.perSecond : null;
  const stages = [];
  p.stages.forEach((stage, i) => {
    if (i > 0) stages.push(el("div", { class: "arrow", text: "\u2192" }));
    stages.push(stageBox(stage));
  });
  return el(
    "div",
    { class: "panel pipeline", "data-design": p.design },
    el("h2", { text: p.title }),
    el(
      "div",
      { class: "pipeline-head" },
      el("span", { class: `kpi${p.up ? "" : " fail"}`, text: p.up ? `${p.service} up` : `${p.service} DOWN` }),
      el("span", { class: "kpi" }, "requests ", el("b", { class: "requests", text: fmtN(e2e.count) })),
      el("span", { class: "kpi" }, "throughput ", el("b", { class: "throughput", text: rate === null ? "-" : `${rate}/s` }), p.rateTarget ? ` (budget stated at ${p.rateTarget}/s)` : ""),
      el("span", { class: `kpi${e2e.overBudget ? " fail" : ""}` }, `end to end (${s.scope}) p50 `, el("b", { class: "e2e-p50", text: fmtMs(s.p50) }), " p99 ", el("b", { class: "e2e-p99", text: fmtMs(s.p99) }), p.budget.p99 ? ` / budget ${p.budget.p99} ms` : ""),
      el("span", { class: "kpi" }, "errors ", el("b", { class: "error-rate", text: fmtPct(e2e.errorRate) })),
      el("span", { class: "kpi" }, "fallback ", el("b", { class: "fallback-rate", text: fmtPct(p.fallbackRate) })),
      el("span", { class: "kpi" }, "degraded ", el("b", { class: "degraded-rate", text: fmtPct(p.degradedRate) })),
    ),
    el("div", { class: "stages" }, stages),
    el("div", { class: "muted outcomes" }, "answers: ", Object.entries(p.outcomes).map(([k, v]) => el("span", { class: "tag", "data-outcome": k, text: `${k} ${v}` }))),
  );
}

function renderServices(services) {
  const root = document.getElementById("services");
  root.replaceChildren(
    // Each chip opens the service's OpenAPI document (generated from its zod contracts).
    ...services.map((s) => el("a", { class: `svc ${s.up ? "up" : "down"}${s.ready ? " ready" : ""}`, "data-service": s.name, href: `${s.url}/openapi.json`, title: s.error || `${s.url}: API document`, text: s.name })),
  );
}

function renderModels(models) {
  const body = document.querySelector("#models tbody");
  body.replaceChildren(
    ...models.map((m) =>
      el(
        "tr",
        { "data-model": m.model },
        el("td", { text: m.service }),
        el("td", { text: m.model }),
        el("td", { class: "version", text: m.version }),
        el("td", { text: m.challenger ? `${m.challenger.version} (${m.challenger.mode}, ${Math.round(m.challenger.share * 100)} %)` : "-" }),
        el("td", { text: Object.entries(m.answersByArm).map(([a, n]) => `${a} ${n}`).join(", ") || "-" }),
      ),
    ),
  );
}

function renderRollouts(rollouts) {
  const root = document.getElementById("rollouts");
  if (!rollouts) return;
  const rows = [...rollouts.running, ...rollouts.finished.slice().reverse()];
  if (rows.length === 0) {
    root.replaceChildren(el("span", { class: "muted", text: "no rollouts yet" }));
    return;
  }
  root.replaceChildren(
    el(
      "table",
      {},
      el("thead", {}, el("tr", {}, ["model", "candidate", "current", "stage", "status", "exposure", "last decision"].map((h) => el("th", { text: h })))),
      el(
        "tbody",
        {},
        rows.map((r) => {
          const last = r.decisions[r.decisions.length - 1];
          return el(
            "tr",
            { "data-rollout": r.id },
            el("td", { text: r.model }),
            el("td", { text: r.candidateVersion }),
            el("td", { text: r.currentVersion }),
            el("td", { text: r.stage }),
            el("td", { class: r.status === "rolled-back" || r.status === "failed" ? "fail" : r.status === "promoted" ? "pass" : "", text: r.status }),
            el("td", { text: `${r.exposure.totalRequests} requests, ${r.exposure.totalUnits} units` }),
            el("td", { text: last ? `${last.action}: ${last.reasons.join("; ")}` : "-" }),
          );
        }),
      ),
    ),
  );
}

function renderDrift(drift) {
  const root = document.getElementById("drift");
  if (!drift) return;
  const head = el("p", {}, `${drift.model}: ${drift.decisions} decisions seen; window ${drift.window || "-"}; `, drift.episode && drift.episode.active ? el("span", { class: "fail", text: `drift episode on (${drift.episode.features.join(", ")})` }) : el("span", { class: "pass", text: "no drift episode" }));
  const table = el(
    "table",
    {},
    el("thead", {}, el("tr", {}, ["feature", "PSI", "band", "p (adjusted)", "alerting"].map((h) => el("th", { text: h })))),
    el(
      "tbody",
      {},
      drift.features.map((f) =>
        el(
          "tr",
          { class: f.alerting ? "alerting" : "", "data-feature": f.feature },
          el("td", { text: f.feature }),
          el("td", { text: f.psi.toFixed(4) }),
          el("td", { text: f.band || "-" }),
          el("td", { text: f.pValue === null ? "-" : f.pValue.toExponential(2) }),
          el("td", { text: f.alerting ? "yes" : "no" }),
        ),
      ),
    ),
  );
  root.replaceChildren(head, drift.features.length > 0 ? table : el("span", { class: "muted", text: "no evaluation yet (the window fills first)" }));
}

async function refresh() {
  try {
    const res = await fetch("/api/overview");
    if (!res.ok) throw new Error(`overview answered ${res.status}`);
    const o = await res.json();
    renderServices(o.services);
    document.getElementById("pipelines").replaceChildren(...o.pipelines.map(pipelinePanel));
    renderModels(o.models);
    renderRollouts(o.rollouts);
    renderDrift(o.drift);
    const status = document.getElementById("status");
    status.textContent = `scraped ${new Date(o.scrapedAt).toLocaleTimeString()}${o.windowSeconds ? ` · rates over ${o.windowSeconds} s` : ""}`;
    status.dataset.scrapedAt = o.scrapedAt;
  } catch (error) {
    document.getElementById("status").textContent = `console unreachable: ${error.message}`;
  }
}

// ---- inspector ----

function timingsList(timings) {
  const entries = Object.entries(timings || {}).filter(([k]) => k !== "total");
  return el(
    "div",
    { class: "path" },
    entries.map(([k, v], i) => [i > 0 ? el("span", { class: "arrow", text: "\u2192" }) : null, el("div", { class: "stage", "data-inspect-stage": k }, el("div", { class: "name", text: k }), el("div", { class: "nums", text: fmtMs(v) }))]),
    timings && timings.total !== undefined ? el("div", { class: "stage", "data-inspect-stage": "total" }, el("div", { class: "name", text: "total (service clock)" }), el("div", { class: "nums", text: fmtMs(timings.total) })) : null,
  );
}

function renderInspection(result) {
  const r = result.response || {};
  const parts = [el("h3", { text: `${result.target}: HTTP ${result.status}, ${fmtMs(result.roundTripMs)} round trip from the console` })];
  if (result.status !== 200) {
    parts.push(el("pre", { class: "log", text: JSON.stringify(r, null, 2) }));
  } else if (result.target === "recommender") {
    parts.push(
      timingsList(r.timings),
      el(
        "p",
        {},
        "answered by ",
        r.fallback ? el("span", { class: "tag bad", "data-fallback": r.fallback, text: `fallback: ${r.fallback}` }) : el("span", { class: "tag ok", "data-fallback": "none", text: "the models" }),
        r.fallbackReason ? ` (${r.fallbackReason})` : "",
      ),
      el("p", {}, "model versions: ", Object.entries(r.modelVersions || {}).map(([k, v]) => el("span", { class: "tag", text: `${k} ${v}` })), " arms: ", Object.entries(r.arms || {}).map(([k, v]) => el("span", { class: "tag", text: `${k} ${v}` }))),
      el("table", {}, el("thead", {}, el("tr", {}, ["position", "item", "score", "category"].map((h) => el("th", { text: h })))), el("tbody", {}, (r.items || []).map((i) => el("tr", {}, el("td", { text: i.position }), el("td", { text: i.itemId }), el("td", { text: i.score.toFixed(4) }), el("td", { text: i.category === null ? "-" : i.category }))))),
    );
  } else {
    parts.push(
      timingsList(r.timings),
      el(
        "p",
        {},
        "decision ",
        el("span", { class: `tag ${r.decision === "approve" ? "ok" : "bad"}`, "data-decision": r.decision, text: r.decision }),
        ` by ${r.decidedBy}${r.rule ? ` (rule ${r.rule})` : ""}, score ${r.score === null ? "-" : r.score.toFixed(4)} (review >= ${r.thresholds.review}, decline >= ${r.thresholds.decline}); model ${r.modelVersion}, arm ${r.arm}`,
        r.degraded ? el("span", { class: "tag bad", text: ` degraded: ${r.degradedReason}` }) : "",
        r.replayed ? el("span", { class: "tag", text: " replayed" }) : "",
      ),
      el("table", {}, el("thead", {}, el("tr", {}, ["reason code (feature)", "value", "contribution (log-odds)"].map((h) => el("th", { text: h })))), el("tbody", {}, (r.reasons || []).map((c) => el("tr", {}, el("td", { text: c.feature }), el("td", { text: c.value === null ? "-" : c.value }), el("td", { text: c.contribution.toFixed(4) }))))),
    );
  }
  document.getElementById("inspect-result").replaceChildren(el("div", { class: "panel", "data-inspected": result.target }, parts));
}

async function postJson(url, body, headers) {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...(headers || {}) }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

document.getElementById("inspect-recs").addEventListener("submit", async (event) => {
  event.preventDefault();
  const f = new FormData(event.target);
  const body = { userId: String(f.get("userId")), k: Number(f.get("k") || 10) };
  if (f.get("device")) body.context = { device: String(f.get("device")) };
  const res = await postJson("/api/inspect/recommendation", body);
  if (res.status === 200) renderInspection(res.body);
  else renderInspection({ target: "recommender", status: res.status, roundTripMs: null, response: res.body });
});

let txCounter = 0;
document.getElementById("inspect-fraud").addEventListener("submit", async (event) => {
  event.preventDefault();
  const f = new FormData(event.target);
  const body = { transactionId: `console-${Date.now().toString(36)}-${txCounter++}`, customerId: String(f.get("customerId")), terminalId: String(f.get("terminalId")), amount: Number(f.get("amount")) };
  const res = await postJson("/api/inspect/transaction", body);
  if (res.status === 200) renderInspection(res.body);
  else renderInspection({ target: "fraud", status: res.status, roundTripMs: null, response: res.body });
});

// ---- drills ----

function renderReport(report) {
  const phases = [];
  for (const [target, byPhase] of Object.entries(report.phases)) {
    for (const [phase, s] of Object.entries(byPhase)) {
      phases.push(el("tr", {}, el("td", { text: target }), el("td", { text: phase }), el("td", { text: s.requests }), el("td", { text: fmtPct(s.availability) }), el("td", { text: fmtMs(s.p50Ms) }), el("td", { text: fmtMs(s.p99Ms) }), el("td", { text: Object.entries(s.outcomes).map(([k, v]) => `${k} ${v}`).join(", ") })));
    }
  }
  return el(
    "div",
    { class: "panel", "data-report": report.drill },
    el("h3", {}, `${report.drill}: `, el("span", { class: report.pass ? "pass" : "fail", "data-verdict": report.pass ? "pass" : "fail", text: report.pass ? "PASS" : "FAIL" })),
    el("p", { text: `time to detect ${fmtMs(report.timeToDetectMs)}, time to recover ${fmtMs(report.timeToRecoverMs)}` }),
    el("table", {}, el("thead", {}, el("tr", {}, ["expectation", "observed", "result"].map((h) => el("th", { text: h })))), el("tbody", {}, report.expectations.map((e) => el("tr", {}, el("td", { text: e.text }), el("td", { text: e.observed }), el("td", { class: e.pass ? "pass" : "fail", text: e.pass === null ? "not judged" : e.pass ? "pass" : "FAIL" }))))),
    el("table", {}, el("thead", {}, el("tr", {}, ["target", "phase", "requests", "availability", "p50", "p99", "outcomes"].map((h) => el("th", { text: h })))), el("tbody", {}, phases)),
    el("ul", {}, report.notes.map((n) => el("li", { text: n }))),
  );
}

async function followRun(id) {
  const log = document.getElementById("drill-log");
  log.hidden = false;
  for (;;) {
    const run = await (await fetch(`/api/drills/runs/${encodeURIComponent(id)}`)).json();
    log.textContent = run.log.join("\n");
    if (run.status !== "running") {
      if (run.report) document.getElementById("drill-report").replaceChildren(renderReport(run.report));
      else document.getElementById("drill-report").replaceChildren(el("p", { class: "fail", text: `drill failed: ${run.error}` }));
      document.querySelectorAll("button[data-drill]").forEach((b) => (b.disabled = false));
      return;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function startDrill(name) {
  const token = document.getElementById("admin-token").value;
  const res = await postJson(`/api/drills/${encodeURIComponent(name)}`, {}, token ? { authorization: `Bearer ${token}` } : {});
  if (res.status !== 202) {
    document.getElementById("drill-report").replaceChildren(el("p", { class: "fail", "data-drill-error": res.status, text: `${res.status}: ${res.body.error ? res.body.error.message : JSON.stringify(res.body)}` }));
    return;
  }
  document.querySelectorAll("button[data-drill]").forEach((b) => (b.disabled = true));
  document.getElementById("drill-report").replaceChildren();
  await followRun(res.body.id);
}

async function loadDrills() {
  const res = await fetch("/api/drills");
  const body = await res.json();
  document.getElementById("drill-list").replaceChildren(
    ...body.drills.map((d) =>
      el(
        "div",
        { class: "drill" },
        el("button", { "data-drill": d.name, disabled: d.unavailable !== null, title: d.unavailable || "" , text: `run ${d.name}` }),
        " ",
        el("span", { text: d.description }),
        d.unavailable ? el("div", { class: "muted", text: `cannot run here: ${d.unavailable}` }) : null,
        el("ul", {}, d.expectations.map((e) => el("li", { text: e }))),
      ),
    ),
  );
  document.querySelectorAll("button[data-drill]").forEach((b) => b.addEventListener("click", () => startDrill(b.dataset.drill)));
  const running = body.runs.find((r) => r.status === "running");
  if (running) followRun(running.id);
}

/** One operation of an OpenAPI document: method, path, summary, who may call it, and its schemas on request. */
function operationRow(path, method, op) {
  const auth = op["x-auth-role"] || (op.security && op.security.length > 0 ? "token" : "public");
  const body = op.requestBody ? Object.values(op.requestBody.content)[0].schema : null;
  const params = (op.parameters || []).map((p) => `${p.name} (${p.in}${p.required ? ", required" : ""})`).join(", ");
  const ok = Object.entries(op.responses || {}).find(([status]) => status.startsWith("2"));
  const answer = ok && ok[1].content ? Object.values(ok[1].content)[0].schema : null;
  return el(
    "tr",
    { "data-operation": `${method.toUpperCase()} ${path}` },
    el("td", {}, el("span", { class: "tag", text: method.toUpperCase() })),
    el("td", {}, el("code", { text: path })),
    el("td", {}, op.summary || "", params ? el("div", { class: "muted", text: `parameters: ${params}` }) : null),
    el("td", { text: auth }),
    el(
      "td",
      {},
      body ? el("details", {}, el("summary", { text: "request" }), el("pre", { class: "schema", text: JSON.stringify(body, null, 2) })) : null,
      answer ? el("details", {}, el("summary", { text: `answer ${ok[0]}` }), el("pre", { class: "schema", text: JSON.stringify(answer, null, 2) })) : null,
    ),
  );
}

async function showApi(service) {
  const target = document.getElementById("api-doc");
  const res = await fetch(`/api/openapi/${encodeURIComponent(service)}`);
  const doc = await res.json();
  if (!res.ok) {
    target.replaceChildren(el("p", { class: "fail", text: `${res.status}: ${doc.error ? doc.error.message : JSON.stringify(doc)}` }));
    return;
  }
  const rows = Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => operationRow(path, method, op)));
  target.replaceChildren(
    el("p", {}, el("b", { text: doc.info.title }), ` ${doc.info.version}: ${doc.info.description || ""} (OpenAPI ${doc.openapi}, ${rows.length} operations)`),
    el("table", { id: "api-operations" }, el("thead", {}, el("tr", {}, ["method", "path", "what it does", "auth", "schemas"].map((h) => el("th", { text: h })))), el("tbody", {}, rows)),
  );
}

async function loadApi() {
  const res = await fetch("/api/overview");
  const overview = await res.json();
  const select = document.getElementById("api-service");
  const names = ["console", ...overview.services.map((s) => s.name)];
  select.replaceChildren(...names.map((n) => el("option", { value: n, text: n })));
  select.addEventListener("change", () => showApi(select.value));
  await showApi(names[0]);
}

refresh();
loadDrills();
loadApi();
setInterval(refresh, REFRESH_MS);
