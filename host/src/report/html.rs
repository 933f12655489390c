//! The run report as one self-contained HTML page (`--report run.html`):
//! the counts, failures grouped by reason, warnings, the plan, where the
//! time went, and a timeline of every shard on the instance or pod that ran
//! it, so a slow shard or an idle worker shows at a glance.
//!
//! The page carries the report as JSON and a small script that draws it;
//! it loads nothing from the network. Every text that came from a plugin or
//! a server is put in the page as text (`textContent`), never as markup.

use super::RunReport;
use serde_json::{Value, json};

/// The page for `report`.
pub fn render(report: &RunReport) -> String {
    let data = page_data(report);
    // Inside <script>, only `</` (and `<!--`) could end or confuse it.
    let data = data.to_string().replace("</", "<\\/").replace("<!--", "<\\!--");
    let title = format!("weir run {} — {}", report.run_id, report.service);
    let mut page = String::with_capacity(TEMPLATE.len() + data.len() + 256);
    page.push_str(&TEMPLATE.replace("{{TITLE}}", &escape_html(&title)).replace("{{DATA}}", &data));
    page
}

/// What the script draws: the report less its plan's refs (the shards'
/// records say what each held), with failures grouped.
fn page_data(report: &RunReport) -> Value {
    let mut value = serde_json::to_value(report).unwrap_or_default();
    if let Value::Object(map) = &mut value {
        map.remove("plan");
        map.remove("failures");
        let strategy = report
            .plan
            .as_ref()
            .and_then(|raw| serde_json::from_str::<Value>(raw.get()).ok())
            .and_then(|plan| plan.get("strategy").cloned());
        map.insert("strategy".into(), strategy.unwrap_or(Value::Null));
        let groups: Vec<Value> = report
            .failure_groups()
            .iter()
            .map(|g| json!({"error": g.error, "reason": g.reason, "entities": g.entities}))
            .collect();
        map.insert("failureGroups".into(), groups.into());
        map.insert("failed".into(), report.failed().into());
        map.insert("exitCode".into(), report.exit_code().into());
    }
    value
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

const TEMPLATE: &str = r##"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>{{TITLE}}</title>
<style>
  :root { --fg: #1d2330; --muted: #667085; --line: #e4e7ec; --bg: #f8f9fb; --ok: #12b76a; --bad: #f04438; --warn: #f79009; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
  header { padding: 20px 28px; background: #fff; border-bottom: 1px solid var(--line); }
  header h1 { margin: 0 0 4px; font-size: 20px; }
  header .sub { color: var(--muted); }
  main { padding: 20px 28px; max-width: 1400px; }
  section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; margin-bottom: 18px; }
  h2 { margin: 0 0 12px; font-size: 16px; }
  .cards { display: flex; gap: 12px; flex-wrap: wrap; }
  .card { flex: 1 1 120px; border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
  .card .n { font-size: 22px; font-weight: 600; }
  .card .l { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
  .badge { display: inline-block; padding: 2px 10px; border-radius: 999px; color: #fff; font-weight: 600; font-size: 12px; }
  .success { background: var(--ok); } .partialSuccess { background: var(--warn); } .failed { background: var(--bad); }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: right; padding: 4px 10px; border-bottom: 1px solid var(--line); white-space: nowrap; }
  th:first-child, td:first-child, #shards td:nth-child(2), #shards th:nth-child(2) { text-align: left; }
  th { color: var(--muted); font-weight: 500; font-size: 12px; }
  tr.total td { font-weight: 600; border-top: 2px solid var(--line); }
  .phases { display: flex; height: 26px; border-radius: 6px; overflow: hidden; }
  .phases div { color: #fff; font-size: 12px; padding: 4px 6px; overflow: hidden; white-space: nowrap; }
  .legend span { display: inline-flex; align-items: center; margin-right: 14px; color: var(--muted); font-size: 12px; }
  .legend i { width: 10px; height: 10px; border-radius: 2px; margin-right: 5px; display: inline-block; }
  .group { border-left: 3px solid var(--bad); padding: 4px 10px; margin-bottom: 10px; }
  .group .reason { font-family: ui-monospace, monospace; white-space: pre-wrap; word-break: break-word; }
  .group .entities { color: var(--muted); font-size: 12px; word-break: break-all; }
  .warning { border-left: 3px solid var(--warn); padding: 2px 10px; margin-bottom: 6px; white-space: pre-wrap; word-break: break-word; }
  .muted { color: var(--muted); }
  svg text { font: 11px system-ui, sans-serif; fill: var(--fg); }
  svg .grid { stroke: var(--line); }
  svg rect.shard:hover { stroke: #000; stroke-width: 1; }
</style>
</head>
<body>
<noscript><p style="padding:20px">This report is drawn by a script in the page: allow scripts for this file to see it.</p></noscript>
<header><h1 id="title"></h1><div class="sub" id="subtitle"></div></header>
<main>
  <section id="summary"><h2>Outcome</h2><div class="cards" id="cards"></div></section>
  <section id="kinds"><h2>Entities by kind</h2><table id="counts"></table></section>
  <section id="time"><h2>Where the time went</h2><div class="phases" id="phases"></div><div class="legend" id="phase-legend"></div></section>
  <section id="timeline"><h2>Shards on their instances and pods</h2><div class="legend" id="kind-legend"></div><div id="gantt"></div></section>
  <section id="failures"><h2>Failures by reason</h2><div id="failure-groups"></div></section>
  <section id="warnings-section"><h2>Warnings</h2><div id="warnings"></div></section>
  <section id="plan"><h2>Plan</h2><div id="plan-summary" class="muted"></div><table id="shards"></table></section>
</main>
<script type="application/json" id="report-data">{{DATA}}</script>
<script>
(function () {
  "use strict";
  const r = JSON.parse(document.getElementById("report-data").textContent);
  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs, text) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = String(text);
    return e;
  };
  const svg = (tag, attrs, text) => {
    const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = String(text);
    return e;
  };
  const secs = (s) => s >= 60 ? (s / 60).toFixed(1) + " min" : s.toFixed(s < 10 ? 2 : 1) + " s";
  const sum = (f) => r.kinds.reduce((a, k) => a + (k[f] || 0), 0);
  const state = r.failed === 0 ? "success" : (r.stopped ? "failed" : "partialSuccess");

  $("title").textContent = r.service + " \u2192 " + r.catalog;
  $("subtitle").textContent = "run " + r.runId + " \u00b7 " + r.plugin + " " + r.pluginVersion + " \u00b7 started " +
    new Date(r.startedUnixMs).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC") + " \u00b7 " + secs(r.elapsedSecs) +
    " \u00b7 exit status " + r.exitCode;

  const cards = $("cards");
  const card = (n, label) => { const c = el("div", { class: "card", "data-count": label }); c.append(el("div", { class: "n" }, n), el("div", { class: "l" }, label)); cards.append(c); };
  const badge = el("div", { class: "card" });
  badge.append(el("span", { class: "badge " + state, id: "state" }, state), el("div", { class: "l" }, "state"));
  cards.append(badge);
  card(sum("found"), "found"); card(sum("written"), "written"); card(sum("unchanged"), "unchanged");
  card(sum("failed"), "failed"); card(sum("filtered"), "filtered"); card(sum("deleted"), "deleted");
  card(r.relationsApplied, "relations"); card(r.peakRssMib ? r.peakRssMib.toFixed(0) + " MiB" : "\u2013", "peak memory");

  const fields = ["found", "filtered", "written", "unchanged", "failed", "cancelled", "deleted", "batches", "queries"];
  const counts = $("counts");
  const head = el("tr"); head.append(el("th", {}, "kind")); fields.forEach((f) => head.append(el("th", {}, f)));
  counts.append(head);
  for (const k of r.kinds) {
    const row = el("tr", { "data-kind": k.kind }); row.append(el("td", {}, k.kind));
    fields.forEach((f) => row.append(el("td", { "data-field": f }, k[f] || 0)));
    counts.append(row);
  }
  const total = el("tr", { class: "total" }); total.append(el("td", {}, "total"));
  fields.forEach((f) => total.append(el("td", { "data-field": f }, sum(f))));
  counts.append(total);

  const phaseColors = { load: "#7f56d9", connect: "#2e90fa", discover: "#15b79e", process: "#f79009", relations: "#ee46bc" };
  const phases = ["load", "connect", "discover", "process", "relations"].map((k) => [k, r.phases[k + "Secs"] || 0]);
  const phaseTotal = phases.reduce((a, [, v]) => a + v, 0) || 1;
  for (const [name, v] of phases) {
    const d = el("div", { "data-phase": name, title: name + ": " + secs(v), style: "width:" + (100 * v / phaseTotal) + "%;background:" + phaseColors[name] }, v / phaseTotal > 0.08 ? name + " " + secs(v) : "");
    $("phases").append(d);
    const l = el("span"); const i = el("i", { style: "background:" + phaseColors[name] }); l.append(i, document.createTextNode(name + " " + secs(v))); $("phase-legend").append(l);
  }

  // The timeline: one lane per instance (per pod and instance for a run in pods).
  const palette = ["#2e90fa", "#15b79e", "#f79009", "#7f56d9", "#ee46bc", "#66c61c", "#ef6820", "#6172f3"];
  const kinds = [...new Set(r.shards.map((s) => s.kind))];
  const color = (kind) => palette[kinds.indexOf(kind) % palette.length];
  kinds.forEach((k) => { const l = el("span"); l.append(el("i", { style: "background:" + color(k) }), document.createTextNode(k)); $("kind-legend").append(l); });
  const laneOf = (s) => (s.process ? s.process + " / " : "") + (s.instances && s.instances.length ? s.instances[s.instances.length - 1] : "?");
  const lanes = [...new Set(r.shards.map(laneOf))].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  const start = Math.min(0, ...r.shards.map((s) => s.startedSecs));
  const end = Math.max(0.001, ...r.shards.map((s) => s.endedSecs));
  const W = Math.max(600, document.getElementById("timeline").clientWidth - 40), left = 190, laneH = 22, top = 8;
  const H = top + lanes.length * laneH + 26;
  const x = (t) => left + (W - left - 10) * (t - start) / (end - start);
  const chart = svg("svg", { width: W, height: H, id: "gantt-svg", "data-lanes": lanes.length });
  for (let i = 0; i <= 10; i++) {
    const t = start + (end - start) * i / 10, gx = x(t);
    chart.append(svg("line", { class: "grid", x1: gx, x2: gx, y1: top, y2: H - 20 }));
    chart.append(svg("text", { x: gx, y: H - 6, "text-anchor": i === 10 ? "end" : "middle" }, secs(t)));
  }
  lanes.forEach((lane, i) => chart.append(svg("text", { x: 4, y: top + i * laneH + 15, class: "lane" }, lane.length > 30 ? "\u2026" + lane.slice(-29) : lane)));
  for (const s of r.shards) {
    const lane = lanes.indexOf(laneOf(s));
    const w = Math.max(1, x(s.endedSecs) - x(s.startedSecs));
    const rect = svg("rect", { class: "shard", "data-shard": s.id, "data-lane": laneOf(s), x: x(s.startedSecs), y: top + lane * laneH + 3, width: w, height: laneH - 6, rx: 2, fill: s.failed > 0 ? "#f04438" : color(s.kind) });
    const attempts = s.attempts > 1 ? ", attempt " + s.attempts : "";
    rect.append(svg("title", {}, s.id + " (" + s.kind + "): " + s.refs + " refs, " + secs(s.endedSecs - s.startedSecs) + ", " + s.calls + " calls, " + s.failed + " failed" + attempts + " on " + laneOf(s)));
    chart.append(rect);
  }
  $("gantt").append(r.shards.length ? chart : el("p", { class: "muted" }, "No shard was processed."));

  const groups = $("failure-groups");
  if (!r.failureGroups.length) groups.append(el("p", { class: "muted", id: "no-failures" }, "No entity failed."));
  for (const g of r.failureGroups) {
    const d = el("div", { class: "group", "data-error": g.error, "data-count": g.entities.length });
    d.append(el("div", {}, g.entities.length + " \u00d7 " + g.error), el("div", { class: "reason" }, g.reason));
    const shown = g.entities.slice(0, 50).join(", ") + (g.entities.length > 50 ? " and " + (g.entities.length - 50) + " more" : "");
    d.append(el("div", { class: "entities" }, shown));
    groups.append(d);
  }
  const unresolved = r.relationsUnresolved || [];
  if (unresolved.length) groups.append(el("p", { class: "muted" }, unresolved.length + " relations unresolved (see the JSON report)."));

  const warnings = $("warnings");
  const texts = (r.warnings || []).concat(r.stopped ? ["stopped: " + r.stopped] : []);
  if (!texts.length) warnings.append(el("p", { class: "muted" }, "None."));
  texts.forEach((w) => warnings.append(el("div", { class: "warning" }, w)));

  $("plan-summary").textContent = (r.strategy ? "strategy " + r.strategy + ", " : "") + r.shards.length + " shards, " +
    r.shards.reduce((a, s) => a + s.refs, 0) + " refs, " + r.instances + " instances per process";
  const shards = $("shards");
  const sh = el("tr"); ["shard", "kind", "refs", "cost", "seconds", "calls", "failed", "ran on", "attempts"].forEach((h) => sh.append(el("th", {}, h)));
  shards.append(sh);
  for (const s of r.shards) {
    const row = el("tr");
    [s.id, s.kind, s.refs, s.cost, (s.endedSecs - s.startedSecs).toFixed(2), s.calls, s.failed, laneOf(s), s.attempts || 1].forEach((c) => row.append(el("td", {}, c)));
    shards.append(row);
  }
  document.body.setAttribute("data-drawn", "true");
})();
</script>
</body>
</html>
"##;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_a_plugin_cannot_close_the_script_it_is_carried_in() {
        let mut report = RunReport { service: "<b>svc</b>".into(), ..RunReport::default() };
        report.warnings.push("</script><script>alert(1)</script><!--".into());
        let page = render(&report);
        assert_eq!(page.matches("</script>").count(), 2, "only the page's own two scripts end");
        assert!(!page.contains("<!--"), "no comment opened inside the script");
        assert!(page.contains("&lt;b&gt;svc&lt;/b&gt;"), "the title is escaped");
        assert!(!page.contains(" src=") && !page.contains(" href="), "nothing is loaded from anywhere");
    }
}
