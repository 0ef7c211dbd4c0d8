// emlab dashboard: polls /api/runs and redraws the runs table and the live
// training curves. Table cells are filled with textContent (never markup);
// the curve plot is SVG the server rendered with every label escaped.
"use strict";
(function () {
  const poll = parseInt(document.body.dataset.poll || "2000", 10);
  const fmt = (v) => {
    if (v === null || v === undefined) return "—";
    const a = Math.abs(v);
    if (a >= 1e9) return (v / 1e9).toPrecision(3) + "G";
    if (a >= 1e6) return (v / 1e6).toPrecision(3) + "M";
    if (a >= 1e4) return (v / 1e3).toPrecision(3) + "k";
    return String(Number(v.toPrecision(3)));
  };
  function render(data) {
    const body = document.querySelector("#runs tbody");
    const rows = [];
    for (const r of data.runs) {
      const tr = document.createElement("tr");
      tr.dataset.run = r.id;
      const cells = [r.id, r.status + (r.error ? " (" + r.error + ")" : ""), fmt(r.params), String(r.step), fmt(r.loss), fmt(r.eval_loss), fmt(r.tokens)];
      cells.forEach((c, i) => {
        const td = document.createElement("td");
        if (i === 0) { // the run's page; the id goes through the URL API, never into markup
          const a = document.createElement("a");
          a.href = "/run?" + new URLSearchParams({ id: r.id }).toString();
          a.textContent = c;
          td.appendChild(a);
        } else {
          td.textContent = c;
        }
        if (i === 1) td.className = "st-" + r.status;
        tr.appendChild(td);
      });
      rows.push(tr);
    }
    if (rows.length > 0) body.replaceChildren(...rows);
    const counts = Object.keys(data.counts).sort().map((k) => k + ": " + data.counts[k]).join(" ");
    document.getElementById("counts").textContent = counts;
    document.getElementById("live").innerHTML = data.curves_svg;
    document.getElementById("live-status").textContent = "(updated " + new Date().toLocaleTimeString() + ")";
  }
  async function tick() {
    try {
      const resp = await fetch("/api/runs", { cache: "no-store" });
      if (resp.ok) render(await resp.json());
    } catch (e) {
      document.getElementById("live-status").textContent = "(server unreachable; retrying)";
    }
    setTimeout(tick, poll);
  }
  setTimeout(tick, poll);
})();
