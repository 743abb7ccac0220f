"""A self-contained API explorer page for the OpenAPI document: no CDN, no external assets.

The spec endpoint needs credentials, so the page asks for an API key (or user + password) first, loads the
spec with it, lists operations by tag and offers a "try it" form per operation.
"""

from __future__ import annotations

import json

_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>PolyCRM API explorer</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:1em;color:#222}
header{display:flex;gap:.5em;flex-wrap:wrap;align-items:center;border-bottom:1px solid #ccc;padding-bottom:.7em}
input,select,textarea,button{font:inherit}input[type=text],input[type=password]{padding:.2em .4em}
details{margin:.2em 0}summary{cursor:pointer;padding:.25em}details.tag>summary{font-weight:bold;font-size:1.1em}
.op{margin-left:1em;border:1px solid #ddd;border-radius:4px}.op>summary code{font-weight:bold}
.body{padding:.5em 1em}.m{display:inline-block;min-width:4.5em;text-align:center;border-radius:3px;color:#fff}
.get{background:#2b7bb9}.post{background:#2f9e44}.put,.patch{background:#d98c00}.delete{background:#c92a2a}
pre{background:#f6f6f6;padding:.5em;overflow:auto;max-height:24em}table{border-collapse:collapse}
td,th{border:1px solid #ddd;padding:.2em .5em;text-align:left;vertical-align:top}textarea{width:100%%}
#msg{color:#c92a2a}.muted{color:#777}
</style></head><body>
<header><strong>PolyCRM API explorer</strong>
<select id="auth"><option value="key">API key</option><option value="basic">User + password</option></select>
<input id="key" type="text" placeholder="X-Api-Key" size="34">
<input id="user" type="text" placeholder="user" hidden><input id="pass" type="password" placeholder="password" hidden>
<button id="load">Load</button><input id="filter" type="text" placeholder="filter operations"><span id="msg"></span>
</header><main id="ops"><p class="muted">Enter credentials and press Load.</p></main>
<script>
"use strict";
const SPEC_URL = %(spec_url)s;
let spec = null;
const $ = (id) => document.getElementById(id);
const el = (tag, attrs, ...kids) => {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) { if (k === "class") n.className = v; else n.setAttribute(k, v); }
  for (const k of kids) n.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return n;
};
function authHeaders() {
  if ($("auth").value === "key") return $("key").value ? {"X-Api-Key": $("key").value.trim()} : {};
  return {"Espo-Authorization": btoa(unescape(encodeURIComponent($("user").value + ":" + $("pass").value)))};
}
function resolve(node) {
  let guard = 0;
  while (node && node.$ref && guard++ < 20) {
    node = node.$ref.slice(2).split("/").reduce((o, k) => o[k.replace(/~1/g, "/").replace(/~0/g, "~")], spec);
  }
  return node;
}
function schemaText(schema) {
  const s = resolve(schema) || {};
  const name = schema && schema.$ref ? schema.$ref.split("/").pop() + " = " : "";
  return name + JSON.stringify(s, null, 2);
}
function example(schema, depth) {
  const s = resolve(schema) || {};
  if ((depth || 0) > 2) return null;
  if (s.type === "object" || s.properties) {
    const out = {};
    for (const k of (s.required || Object.keys(s.properties || {}).slice(0, 3))) {
      out[k] = example((s.properties || {})[k], (depth || 0) + 1);
    }
    return out;
  }
  const t = Array.isArray(s.type) ? s.type[0] : s.type;
  if (s.enum) return s.enum[0];
  return t === "array" ? [] : t === "integer" || t === "number" ? 0 : t === "boolean" ? false
    : t === "string" ? (s.examples ? s.examples[0] : "") : null;
}
function renderOp(path, method, item, op) {
  const box = el("div", {class: "body"});
  if (op.description) box.append(el("p", {}, op.description));
  const params = [...(item.parameters || []), ...(op.parameters || [])].map(resolve);
  const inputs = {};
  if (params.length) {
    const table = el("table", {}, el("tr", {}, el("th", {}, "name"), el("th", {}, "in"), el("th", {}, "value"),
      el("th", {}, "description")));
    for (const p of params) {
      const input = el("input", {type: "text", placeholder: p.required ? "required" : ""});
      inputs[p.in + ":" + p.name] = [p, input];
      const s = p.schema || {};
      const hint = s.enum ? " [" + s.enum.join(", ") + "]" : s.items && s.items.enum ? " [" + s.items.enum.join(", ")
        + "]" : "";
      table.append(el("tr", {}, el("td", {}, p.name), el("td", {}, p.in), el("td", {}, input),
        el("td", {class: "muted"}, (p.description || "") + hint)));
    }
    box.append(el("h4", {}, "Parameters"), table);
  }
  let bodyInput = null;
  const reqSchema = op.requestBody && op.requestBody.content["application/json"].schema;
  if (reqSchema) {
    bodyInput = el("textarea", {rows: "6"});
    bodyInput.value = JSON.stringify(example(reqSchema), null, 2);
    box.append(el("h4", {}, "Request body"), el("details", {}, el("summary", {}, "schema"),
      el("pre", {}, schemaText(reqSchema))), bodyInput);
  }
  box.append(el("h4", {}, "Responses"));
  for (const [status, raw] of Object.entries(op.responses || {})) {
    const r = resolve(raw);
    const media = r.content && r.content["application/json"];
    const d = el("details", {}, el("summary", {}, status + " " + (r.description || "")));
    if (media) d.append(el("pre", {}, schemaText(media.schema)));
    box.append(d);
  }
  const out = el("pre", {hidden: ""});
  const send = el("button", {}, "Send");
  send.onclick = async () => {
    let url = path;
    const query = new URLSearchParams(), headers = authHeaders();
    for (const [p, input] of Object.values(inputs)) {
      const v = input.value;
      if (v === "") continue;
      if (p.in === "path") url = url.replace("{" + p.name + "}", encodeURIComponent(v));
      else if (p.in === "query") query.append(p.name, v);
      else if (p.in === "header") headers[p.name] = v;
    }
    const init = {method: method.toUpperCase(), headers};
    if (bodyInput && bodyInput.value.trim()) {
      init.body = bodyInput.value;
      headers["Content-Type"] = "application/json";
    }
    const base = (spec.servers && spec.servers[0].url || "").replace(/\\/$/, "");
    const full = base + url + (query.toString() ? "?" + query : "");
    out.hidden = false;
    out.textContent = init.method + " " + full + "\\n...";
    try {
      const res = await fetch(full, init);
      const text = await res.text();
      let shown = text;
      try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { /* not JSON */ }
      const reason = res.headers.get("X-Status-Reason");
      out.textContent = init.method + " " + full + "\\n" + res.status + (reason ? " (" + reason + ")" : "") +
        "\\n\\n" + shown;
    } catch (e) { out.textContent = "Request failed: " + e; }
  };
  box.append(el("h4", {}, "Try it"), send, out);
  return box;
}
function render() {
  const ops = $("ops"), filter = $("filter").value.toLowerCase(), groups = {};
  ops.textContent = "";
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const method of ["get", "post", "put", "patch", "delete"]) {
      const op = item[method];
      if (!op) continue;
      const label = method + " " + path + " " + (op.summary || "");
      if (filter && !label.toLowerCase().includes(filter)) continue;
      const tag = (op.tags || ["other"])[0];
      (groups[tag] = groups[tag] || []).push([path, method, item, op]);
    }
  }
  for (const [tag, list] of Object.entries(groups)) {
    const section = el("details", {class: "tag"}, el("summary", {}, tag + " (" + list.length + ")"));
    if (filter) section.open = true;
    for (const [path, method, item, op] of list) {
      const d = el("details", {class: "op"}, el("summary", {}, el("span", {class: "m " + method},
        method.toUpperCase()), " ", el("code", {}, path), " ", el("span", {class: "muted"}, op.summary || "")));
      d.addEventListener("toggle", () => { if (d.open && d.children.length === 1) d.append(renderOp(path, method,
        item, op)); });
      section.append(d);
    }
    ops.append(section);
  }
}
async function load() {
  $("msg").textContent = "";
  try {
    const res = await fetch(SPEC_URL, {headers: authHeaders()});
    if (!res.ok) { $("msg").textContent = "Loading the spec failed: " + res.status + " " +
      (res.headers.get("X-Status-Reason") || ""); return; }
    spec = await res.json();
    sessionStorage.setItem("polycrm-key", $("key").value);
    render();
  } catch (e) { $("msg").textContent = "Loading the spec failed: " + e; }
}
$("auth").onchange = () => {
  const basic = $("auth").value === "basic";
  $("key").hidden = basic; $("user").hidden = !basic; $("pass").hidden = !basic;
};
$("key").value = sessionStorage.getItem("polycrm-key") || "";
$("load").onclick = load;
$("filter").oninput = () => { if (spec) render(); };
</script></body></html>
"""


def _script_string(value: str) -> str:
    """A JS string literal safe inside an inline <script> (no `</script>`, no HTML-significant chars)."""
    return (json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def docs_page(openapi_url: str) -> str:
    """The explorer page for the spec served at `openapi_url`."""
    return _TEMPLATE % {"spec_url": _script_string(openapi_url)}
