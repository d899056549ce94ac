import { withLiveStack } from "./stack";
const t0 = performance.now();
await withLiveStack({ seed: 1, world: { numUsers: 300, numItems: 1000, sessionsPerUser: 4 }, services: ["retrieval", "ranker", "recommender"], log: (l) => console.log(((performance.now()-t0)/1000).toFixed(1), l) }, async (s) => {
  console.log("ready", ((performance.now()-t0)/1000).toFixed(1));
  const r = await fetch(`${s.url("recommender")}/v1/recommendations`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ userId: "5", k: 10 }) });
  console.log(r.status, JSON.stringify(await r.json()).slice(0, 1500));
  const c = await fetch(`${s.url("retrieval")}/v1/candidates`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ userId: "5", k: 100 }) });
  console.log(c.status, JSON.stringify(await c.json()).slice(0, 400));
});
console.log("done", ((performance.now()-t0)/1000).toFixed(1));
