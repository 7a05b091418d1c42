// rpcgate status page: fetches status.json every 2 s and renders it.
// Plain DOM, no framework; every value goes in through textContent, never
// as HTML. The data-* attributes are a contract with the browser tests:
//   section[data-chain=NAME][data-health=ok|degraded|down]
//   tr[data-node=NAME] > td[data-state=STATE]
//   li[data-incident-node=NAME][data-incident-kind=down|up]
"use strict";

(function () {
  var REFRESH_MS = 2000;
  var SOURCE = "status.json"; // relative: works under a path prefix
  var root = document.getElementById("chains");
  var updated = document.getElementById("updated");
  var announce = document.getElementById("announce");
  var lastOK = null;
  var lastSummary = "";

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        if (attrs[k] !== undefined && attrs[k] !== null) e.setAttribute(k, String(attrs[k]));
      });
    }
    (children || []).forEach(function (c) {
      e.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return e;
  }

  function num(n) {
    return typeof n === "number" ? n.toLocaleString("en-US") : "–";
  }
  function ms(v) {
    if (typeof v !== "number") return "–";
    return (v < 10 ? v.toFixed(1) : Math.round(v).toLocaleString("en-US")) + " ms";
  }
  function pct(v) {
    if (typeof v !== "number") return "–";
    return (v >= 99.995 ? "100" : v.toFixed(2)) + "%";
  }
  function when(iso) {
    var d = new Date(iso);
    return isNaN(d.getTime()) ? iso : d.toLocaleString();
  }

  function health(c) {
    if (c.total > 0 && c.up >= c.total) return "ok";
    if (c.up > 0) return "degraded";
    return "down";
  }

  function nodeRow(n) {
    return el("tr", { "data-node": n.name }, [
      el("th", { scope: "row" }, [n.name]),
      el("td", { "class": "state", "data-state": n.state }, [
        el("span", { "class": "badge badge-" + n.state }, [n.state])
      ]),
      el("td", null, [num(n.head)]),
      el("td", null, [num(n.lag)]),
      el("td", null, [ms(n.latency_p50_ms)]),
      el("td", null, [ms(n.latency_p99_ms)]),
      el("td", null, [pct(n.uptime_24h)]),
      el("td", null, [pct(n.uptime_7d)]),
      el("td", { "class": "client" }, [n.client || "–"]),
      el("td", null, [num(n.peers)]),
      el("td", null, [num(n.pending)])
    ]);
  }

  function nodeTable(c) {
    var heads = ["Node", "State", "Head", "Lag (blocks)", "Latency p50", "Latency p99", "Uptime 24 h", "Uptime 7 d", "Client", "Peers", "Pending"];
    return el("div", { "class": "table-wrap" }, [
      el("table", null, [
        el("caption", null, ["Nodes of " + c.name]),
        el("thead", null, [el("tr", null, heads.map(function (h, i) {
          return el("th", { scope: "col", "class": i === 1 ? "state" : null }, [h]);
        }))]),
        el("tbody", null, (c.nodes || []).map(nodeRow))
      ])
    ]);
  }

  function incidentList(c) {
    var items = c.incidents || [];
    var kids = [el("h3", null, ["Recent incidents"])];
    if (c.history_unavailable) {
      kids.push(el("p", { "class": "muted" }, ["History is unavailable right now; uptime and incidents will return."]));
    } else if (items.length === 0) {
      kids.push(el("p", { "class": "muted" }, ["No incidents recorded."]));
    } else {
      kids.push(el("ol", { "class": "incidents" }, items.map(function (i) {
        var parts = [
          el("time", { datetime: i.at }, [when(i.at)]), " — node ",
          el("strong", null, [i.node]), " ",
          el("span", { "class": "kind-" + i.kind }, [i.kind === "down" ? "went down" : "came back up"])
        ];
        if (i.reason) parts.push(" (" + i.reason + ")");
        return el("li", { "data-incident-node": i.node, "data-incident-kind": i.kind }, parts);
      })));
    }
    return el("div", { "class": "incidents-wrap" }, kids);
  }

  function chainSection(c) {
    var h = health(c);
    var id = "chain-" + c.name.replace(/[^A-Za-z0-9_-]/g, "_");
    return el("section", { "class": "chain chain-" + h, "data-chain": c.name, "data-health": h, "aria-labelledby": id }, [
      el("div", { "class": "chain-head" }, [
        el("h2", { id: id }, [c.name]),
        el("span", { "class": "summary", "data-summary": "" }, [c.up + " of " + c.total + " nodes up"]),
        el("span", null, ["best head " + num(c.best_head)])
      ]),
      el("div", { "class": "chain-body" }, [nodeTable(c), incidentList(c)])
    ]);
  }

  function render(data) {
    var chains = data.chains || [];
    var frag = document.createDocumentFragment();
    if (chains.length === 0) frag.appendChild(el("p", { "class": "notice" }, ["No chains are configured."]));
    chains.forEach(function (c) { frag.appendChild(chainSection(c)); });
    root.replaceChildren(frag);
    root.setAttribute("aria-busy", "false");
    lastOK = new Date();
    updated.className = "updated";
    updated.textContent = "Updated " + lastOK.toLocaleTimeString();
    // Screen readers hear changes of the summary only, not every refresh.
    var summary = chains.map(function (c) { return c.name + ": " + c.up + " of " + c.total + " nodes up"; }).join("; ");
    if (summary !== lastSummary) {
      lastSummary = summary;
      announce.textContent = summary;
    }
  }

  function failed(why) {
    updated.className = "updated stale";
    updated.textContent = lastOK
      ? "Could not refresh (" + why + "); showing data from " + lastOK.toLocaleTimeString()
      : "Could not load status (" + why + "); retrying…";
  }

  function tick() {
    fetch(SOURCE, { cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(render)
      .catch(function (e) { failed(e && e.message ? e.message : "network error"); })
      .then(function () { setTimeout(tick, REFRESH_MS); });
  }

  tick();
})();
