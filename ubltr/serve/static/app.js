// ubltr's web page: drop an XML or a neutral JSON, see the verdict, the findings, the
// line each one points at, and the rendered invoice.  Talks only to this server's API.
"use strict";

const TEXT = {
  tr: {
    "title": "e-Fatura / e-Arşiv denetimi", "provider": "Entegratör", "provider-none": "(yok)",
    "strict": "ubltr kuralları da hata sayılsın", "api-key": "API anahtarı",
    "drop": "UBL-TR XML ya da nötr JSON dosyasını buraya bırakın veya seçin.",
    "offline": "Dosya yalnızca bu sunucuya gönderilir; sayfa dışarıdan hiçbir şey yüklemez.",
    "dl-json": "Rapor (JSON)", "dl-junit": "Rapor (JUnit)", "dl-xml": "XML", "dl-html": "Görünüm (HTML)",
    "dl-pdf": "Görünüm (PDF)", "findings": "Bulgular", "no-findings": "Bulgu yok.", "source": "Belge",
    "rendered": "Fatura görünümü", "lang": "English",
    "valid": "GEÇERLİ", "invalid": "GEÇERSİZ", "unreadable": "OKUNAMADI", "input-errors": "GİRDİ HATALI",
    "errors": "hata", "warnings": "uyarı", "sev-error": "HATA", "sev-warning": "UYARI", "sev-info": "BİLGİ", "line": "satır", "fix": "Düzeltme", "gib": "GİB",
    "working": "Denetleniyor…", "no-pdf": "Sunucuda Chromium yok: PDF üretilemiyor",
    "not-rendered": "Belge görüntülenemedi", "failed": "İstek başarısız",
  },
  en: {
    "title": "e-Invoice / e-Archive check", "provider": "Provider", "provider-none": "(none)",
    "strict": "ubltr's own rules count as errors", "api-key": "API key",
    "drop": "Drop a UBL-TR XML or a neutral JSON file here, or pick one.",
    "offline": "The file goes only to this server; the page loads nothing from elsewhere.",
    "dl-json": "Report (JSON)", "dl-junit": "Report (JUnit)", "dl-xml": "XML", "dl-html": "View (HTML)",
    "dl-pdf": "View (PDF)", "findings": "Findings", "no-findings": "No findings.", "source": "Document",
    "rendered": "Invoice view", "lang": "Türkçe",
    "valid": "VALID", "invalid": "INVALID", "unreadable": "UNREADABLE", "input-errors": "INPUT ERRORS",
    "errors": "errors", "warnings": "warnings", "sev-error": "ERROR", "sev-warning": "WARNING", "sev-info": "INFO", "line": "line", "fix": "Fix", "gib": "GİB",
    "working": "Checking…", "no-pdf": "No Chromium on the server: no PDF",
    "not-rendered": "The document could not be rendered", "failed": "The request failed",
  },
};

const state = { lang: localStorage.getItem("ubltr-lang") || "tr", doc: null, pdf: false };
const $ = (id) => document.getElementById(id);
const t = (key) => TEXT[state.lang][key] || key;

function applyLang() {
  document.documentElement.lang = state.lang;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  $("lang").textContent = t("lang");
  if (state.doc) showReport(state.doc);
}

function headers(extra) {
  const h = Object.assign({}, extra || {});
  const key = $("api-key").value;
  if (key) h["X-API-Key"] = key;
  return h;
}

function query(extra) {
  const q = new URLSearchParams(extra || {});
  if ($("provider").value) q.set("provider", $("provider").value);
  if ($("strict").checked) q.set("strict", "true");
  return q.toString();
}

async function api(path, body, type, params) {
  const res = await fetch(path + "?" + query(params), { method: "POST", body, headers: headers({ "Content-Type": type }) });
  return res;
}

async function errorText(res) {
  try { const j = await res.json(); return j.message || JSON.stringify(j); } catch (e) { return res.status + " " + res.statusText; }
}

function showError(msg) { $("error").textContent = msg; $("error").hidden = !msg; }

async function check(file) {
  showError("");
  $("result").hidden = false;
  $("verdict").className = "";
  $("verdict").textContent = t("working");
  $("findings").replaceChildren();
  $("source").replaceChildren();
  $("rendered").srcdoc = "";
  const text = await file.text();
  const isJson = /\.json$/i.test(file.name) || /^\s*[{[]/.test(text);
  const doc = { name: file.name, file, xml: null, report: null, problems: null, html: null, json: isJson };
  state.doc = doc;
  try {
    if (isJson) {
      const res = await api("/build", text, "application/json");
      if (res.status === 422) {
        doc.problems = (await res.json()).problems || [];
        doc.source = text;
        showReport(doc);
        return;
      }
      if (!res.ok) throw new Error(await errorText(res));
      doc.xml = await res.text();
    } else {
      doc.xml = text;
    }
    doc.source = doc.xml;
    const res = await api("/validate", doc.xml, "application/xml", { name: doc.name, format: "json" });
    if (!res.ok) throw new Error(await errorText(res));
    doc.report = await res.json();
    showReport(doc);
    await render(doc);
  } catch (e) {
    showError(t("failed") + ": " + e.message);
  }
}

async function render(doc) {
  if (!doc.report || !doc.report.readable) return;
  const res = await api("/render", doc.xml, "application/xml", {});
  if (!res.ok) { showError(t("not-rendered") + ": " + await errorText(res)); return; }
  doc.html = await res.text();
  if (state.doc === doc) $("rendered").srcdoc = doc.html;
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = text;
  return e;
}

function showReport(doc) {
  const v = $("verdict");
  const list = $("findings");
  list.replaceChildren();
  showSource(doc.source || "", doc);
  $("dl-xml").hidden = !(doc.json && doc.xml);
  for (const id of ["dl-json", "dl-junit", "dl-html"]) $(id).disabled = !doc.report;
  $("dl-html").disabled = !(doc.report && doc.report.readable);
  $("dl-pdf").disabled = !(doc.report && doc.report.readable && state.pdf);
  $("dl-pdf").title = state.pdf ? "" : t("no-pdf");
  if (doc.problems) {
    v.className = "invalid";
    v.textContent = `${t("input-errors")} — ${doc.problems.length} ${t("errors")}`;
    for (const p of doc.problems) {
      const li = el("li", "finding error");
      const head = el("div", "head");
      head.append(el("span", "sev", t("sev-error")), el("span", "rule", p.path || "(input)"));
      li.append(head, el("div", "msg", p.message));
      list.append(li);
    }
    $("no-findings").hidden = true;
    return;
  }
  const r = doc.report;
  const kind = r.readable ? (r.valid ? "valid" : "invalid") : "unreadable";
  v.className = kind;
  const what = [r.document, r.profile, r.type_code].filter(Boolean).join(" / ");
  v.textContent = `${t(kind)} — ${r.errors} ${t("errors")}, ${r.warnings} ${t("warnings")}` + (what ? ` (${what})` : "");
  $("no-findings").hidden = r.findings.length > 0;
  const provider = $("provider").value;
  r.findings.forEach((f, i) => {
    const li = el("li", "finding " + f.severity);
    li.dataset.index = i;
    if (f.line) li.dataset.line = f.line;
    const head = el("div", "head");
    const rid = f.rule.includes(":") ? f.rule : `${f.source}:${f.rule}`;
    head.append(el("span", "sev", t("sev-" + f.severity)), el("span", "rule", rid));
    if (f.line) head.append(el("span", "where", ` — ${t("line")} ${f.line}`));
    li.append(head, el("div", "msg", f.message));
    if (f.gib_message && f.gib_message !== f.message) li.append(el("div", "gib", `${t("gib")}: ${f.gib_message}`));
    if (f.fix) li.append(el("div", "fix", f.fix));
    const codes = Object.entries(f.provider_codes || {});
    if (codes.length) {
      li.append(el("div", "codes", codes.map(([p, c]) => (p === provider ? `▶ ${p}: ${c}` : `${p}: ${c}`)).join(" · ")));
    }
    li.tabIndex = 0;  // reachable and openable from the keyboard too
    li.addEventListener("click", () => showLine(f.line, li));
    li.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); showLine(f.line, li); } });
    list.append(li);
  });
}

function showSource(text, doc) {
  const pre = $("source");
  pre.replaceChildren();
  const flagged = new Set(((doc.report && doc.report.findings) || []).map((f) => f.line).filter(Boolean));
  const lines = text.split(/\r\n|\r|\n/);
  const frag = document.createDocumentFragment();
  lines.forEach((line, i) => {
    const s = el("span", flagged.has(i + 1) ? "ln flagged" : "ln", line.length > 2000 ? line.slice(0, 2000) + " …" : line);
    s.id = "L" + (i + 1);
    frag.append(s);
  });
  pre.append(frag);
}

function showLine(line, li) {
  for (const a of document.querySelectorAll(".finding.active")) a.classList.remove("active");
  if (li) li.classList.add("active");
  for (const c of document.querySelectorAll("#source .current")) c.classList.remove("current");
  if (!line) return;
  const target = $("L" + line);
  if (!target) return;
  target.classList.add("current");
  target.scrollIntoView({ block: "center", inline: "nearest" });  // in the box and in the window
}

function save(blob, name) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

function base(name) { return (name || "belge").replace(/\.(xml|json)$/i, ""); }

async function download(kind) {
  const doc = state.doc;
  if (!doc) return;
  showError("");
  try {
    if (kind === "json") {
      const res = await api("/validate", doc.xml, "application/xml", { name: doc.name, format: "json" });
      if (!res.ok) throw new Error(await errorText(res));
      save(await res.blob(), base(doc.name) + ".report.json");
    } else if (kind === "junit") {
      const res = await api("/validate", doc.xml, "application/xml", { name: doc.name, format: "junit" });
      if (!res.ok) throw new Error(await errorText(res));
      save(await res.blob(), base(doc.name) + ".junit.xml");
    } else if (kind === "xml") {
      save(new Blob([doc.xml], { type: "application/xml" }), base(doc.name) + ".xml");
    } else if (kind === "html") {
      save(new Blob([doc.html || ""], { type: "text/html" }), base(doc.name) + ".html");
    } else if (kind === "pdf") {
      const res = await api("/render", doc.xml, "application/xml", { format: "pdf" });
      if (!res.ok) throw new Error(await errorText(res));
      save(await res.blob(), base(doc.name) + ".pdf");
    }
  } catch (e) {
    showError(t("failed") + ": " + e.message);
  }
}

async function init() {
  $("lang").addEventListener("click", () => {
    state.lang = state.lang === "tr" ? "en" : "tr";
    localStorage.setItem("ubltr-lang", state.lang);
    applyLang();
  });
  const drop = $("drop");
  $("file").addEventListener("change", (e) => { if (e.target.files[0]) check(e.target.files[0]); });
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    if (e.dataTransfer.files[0]) check(e.dataTransfer.files[0]);
  });
  for (const id of ["provider", "strict"]) {
    $(id).addEventListener("change", () => { if (state.doc && state.doc.file) check(state.doc.file); });
  }
  for (const kind of ["json", "junit", "xml", "html", "pdf"]) $("dl-" + kind).addEventListener("click", () => download(kind));
  applyLang();
  try {
    const h = await (await fetch("/health")).json();
    state.pdf = !!h.pdf;
    $("version").textContent = "ubltr " + h.version;
    $("key-box").hidden = !h.api_keys;
    $("api-key").addEventListener("change", loadRules);  // with keys on, /rules needs the key
    await loadRules();
  } catch (e) { /* the page still works without them */ }
  document.body.dataset.ready = "1";
}

async function loadRules() {
  const res = await fetch("/rules", { headers: headers() });
  if (!res.ok) return;
  const r = await res.json();
  $("rules").textContent = `${r.gib.package} ${r.gib.version}`;
  const select = $("provider");
  while (select.options.length > 1) select.remove(1);
  for (const p of r.providers || []) select.append(new Option(p, p));
}

document.addEventListener("DOMContentLoaded", init);
