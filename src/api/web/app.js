// The dashboard: hosts and unknown PCs from /api/v1, kept live by /api/v1/events (read with
// fetch so the bearer token goes in a header; EventSource cannot send one).
"use strict";
const $ = (s, e = document) => e.querySelector(s);
let token = localStorage.getItem("diskless-token") || "";
if (location.hash.startsWith("#token=")) {
  token = decodeURIComponent(location.hash.slice(7));
  localStorage.setItem("diskless-token", token);
  history.replaceState(null, "", location.pathname);
}
const hosts = new Map();

async function api(method, path, body) {
  const opts = { method, headers: {} };
  if (token) opts.headers.Authorization = "Bearer " + token;
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const r = await fetch("/api/v1/" + path, opts);
  if (r.status === 401) { $("#login").hidden = false; throw new Error("sign in with the API token"); }
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error((data.error || r.statusText) + (data.problems ? ": " + data.problems.join("; ") : ""));
  return data;
}

function say(text, error = false) {
  $("#message").textContent = text;
  $("#message").classList.toggle("error", error);
}

function time(t) { return t ? new Date(t).toLocaleTimeString() : "–"; }

function lastBoot(h) {
  const b = h.last_boot;
  if (!b) return "–";
  const d = b.duration_seconds != null ? ` (${b.duration_seconds.toFixed(1)} s)` : "";
  return `${time(b.started)} ${b.outcome}${d}`;
}

function card(h) {
  let el = document.getElementById("host-" + h.name);
  if (!el) {
    el = $("#host-card").content.firstElementChild.cloneNode(true);
    el.id = "host-" + h.name;
    $(".reset", el).addEventListener("click", () =>
      api("POST", `hosts/${encodeURIComponent(h.name)}/overlay/reset`)
        .then(r => say(r.message)).catch(e => say(e.message, true)));
    $(".wake", el).addEventListener("click", () =>
      api("POST", `hosts/${encodeURIComponent(h.name)}/wake`)
        .then(r => say(r.message)).catch(e => say(e.message, true)));
    $("#hosts").append(el);
  }
  el.dataset.phase = h.phase;
  $(".name", el).textContent = h.name;
  $(".phase", el).textContent = h.phase === "os" ? "OS up" : h.phase;
  $(".address", el).textContent = h.address || h.ip || "–";
  $(".image", el).textContent = h.image || "–";
  $(".overlay", el).textContent = h.overlay_bytes == null ? h.overlay
    : `${h.overlay}, ${(h.overlay_bytes / 1048576).toFixed(1)} MiB`;
  $(".sessions", el).textContent = h.sessions;
  const st = h.last_step;
  $(".step", el).textContent = st ? `${st.name} ${st.detail} ${time(st.at)}` : "–";
  $(".last", el).textContent = lastBoot(h);
  $(".reset", el).hidden = !["persistent", "volatile"].includes(h.overlay);
}

function unknownCard(u) {
  $("#no-unknown").hidden = true;
  let el = document.getElementById("unknown-" + u.mac);
  if (!el) {
    el = $("#unknown-card").content.firstElementChild.cloneNode(true);
    el.id = "unknown-" + u.mac;
    const form = $(".adopt", el);
    form.addEventListener("submit", ev => {
      ev.preventDefault();
      const body = { name: form.name.value, boot: form.boot.value };
      if (form.image.value) body.image = form.image.value;
      api("POST", `unknown/${encodeURIComponent(u.mac)}/adopt`, body)
        .then(r => { say(r.message); el.remove(); return until(body.name); })
        .catch(e => say(e.message, true));
    });
    $("#unknown").append(el);
  }
  $(".mac", el).textContent = u.mac;
  $(".seen", el).textContent = `${u.count}× since ${time(u.first_seen)}, arch ${u.arch}` +
    (u.vendor_class ? `, ${u.vendor_class}` : "");
}

async function refresh() {
  const [list, unknown, status] = await Promise.all([api("GET", "hosts"), api("GET", "unknown"),
                                                     api("GET", "status")]);
  const names = new Set(list.map(h => h.name));
  for (const el of [...$("#hosts").children])
    if (!names.has(el.id.slice(5))) el.remove();
  for (const h of list) { hosts.set(h.name, h); card(h); }
  $("#unknown").replaceChildren();
  $("#no-unknown").hidden = unknown.length > 0;
  unknown.forEach(unknownCard);
  $("#summary").textContent = `${status.counts.hosts} hosts, ${status.counts.sessions} sessions`;
}

// An edit is in force once the server reloaded the file: refresh until the host shows (10 s).
async function until(name) {
  for (let i = 0; i < 20 && !hosts.has(name); i++) {
    await new Promise(res => setTimeout(res, 500));
    await refresh();
  }
}

function onEvent(type, data) {
  if (type === "step") {
    const h = hosts.get(data.host);
    if (!h) return;
    h.phase = data.phase;
    h.sessions = data.sessions;
    if (data.address) h.address = data.address;
    h.last_step = data.step;
    card(h);
    if (data.phase === "os" || data.phase === "failed") refresh().catch(() => {});
  } else if (type === "unknown") {
    unknownCard(data);
  }
}

// text/event-stream: blocks separated by a blank line, "event:" and "data:" lines.
async function listen() {
  for (;;) {
    try {
      const r = await fetch("/api/v1/events", { headers: token ? { Authorization: "Bearer " + token } : {} });
      if (!r.ok) throw new Error("events: " + r.status);
      document.body.dataset.live = "yes";
      const reader = r.body.getReader();
      const dec = new TextDecoder();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let type = "message", data = "";
          for (const line of block.split("\n")) {
            if (line.startsWith("event: ")) type = line.slice(7);
            else if (line.startsWith("data: ")) data += line.slice(6);
          }
          if (data) onEvent(type, JSON.parse(data));
        }
      }
    } catch (e) { /* retried below */ }
    document.body.dataset.live = "no";
    await new Promise(res => setTimeout(res, 2000));
  }
}

$("#login").addEventListener("submit", ev => {
  ev.preventDefault();
  token = $("#token").value;
  localStorage.setItem("diskless-token", token);
  $("#login").hidden = true;
  refresh().catch(e => say(e.message, true));
});

refresh().then(listen).catch(e => say(e.message, true));
