// The walkthrough page: one design, step by step, with this system's live numbers and the claims
// that back each step. Plain browser JavaScript, no dependencies, works offline.
"use strict";

const REFRESH_MS = 3000;
const design = new URLSearchParams(location.search).get("design") === "recs" ? "recs" : "fraud";
const TITLES = { fraud: "Fraud scoring, step by step", recs: "Recommendations, step by step" };


const VERDICT_CLASS = { holds: "tag ok", "does not hold": "tag bad", inconclusive: "tag" };

function stepNode(step) {
  return el(
    "li",
    { class: "panel", "data-step": step.key },
    el("h2", { text: step.title }),
    el("ul", {}, step.points.map((p) => el("li", { text: p }))),
    step.live.length > 0
      ? el("table", { class: "live" }, el("tbody", {}, step.live.map((v) => el("tr", { "data-live": v.label }, el("td", { text: v.label }), el("td", { class: "value", text: v.value })))))
      : null,
    step.claims.length > 0
      ? el(
          "div",
          { class: "claims" },
          "Claims: ",
          step.claims.map((c) =>
            el("span", { class: "claim", "data-claim": c.id }, el("span", { class: VERDICT_CLASS[c.verdict] || "tag", text: c.verdict || "not run" }), " ", el("b", { text: c.id }), ` ${c.title}`, c.page ? el("code", { text: ` ${c.page}` }) : null),
          ),
        )
      : null,
  );
}

async function refresh() {
  try {
    const res = await fetch(`/api/walkthrough/${design}`);
    const body = await res.json();
    if (!res.ok) throw new Error(body.error ? body.error.message : res.status);
    document.getElementById("steps").replaceChildren(...body.steps.map(stepNode));
    document.getElementById("status").textContent = `scraped ${body.scrapedAt}`;
  } catch (error) {
    document.getElementById("status").textContent = `could not load: ${error.message}`;
  }
}

document.getElementById("walkthrough-title").textContent = TITLES[design];
document.title = `mlsd-lab: ${TITLES[design]}`;
refresh();
setInterval(refresh, REFRESH_MS);
