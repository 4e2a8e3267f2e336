// inferpipe web console: vanilla JS, same origin as the API, no build step, no CDN.
(function () {
  "use strict";
  const KEY = "inferpipe.key";
  const TERMINAL = ["SUCCEEDED", "FAILED", "CANCELLED", "EXPIRED"];
  const COLOURS = {"producer-api": "#0b57d0", "gpu-consumer": "#8250df", "storage-sink": "#1a7f37"};
  const QUEUE = "#e8a317";
  const $ = (id) => document.getElementById(id);
  let timer = null;
  let config = {trace_url_template: ""};

  // ---- API calls: the key as a header, errors shown for what they are.
  async function api(path, options = {}) {
    const headers = Object.assign({}, options.headers || {});
    const key = sessionStorage.getItem(KEY);
    if (key) {
      headers["Authorization"] = "Bearer " + key;
    }
    let response;
    try {
      response = await fetch(path, Object.assign({}, options, {headers}));
    } catch (e) {
      banner("The API is unreachable (" + e.message + "). Is the stack running?");
      throw e;
    }
    let body = null;
    const text = await response.text();
    try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
    if (response.status === 401 || response.status === 403 || response.status === 429) {
      const error = (body && body.error) || {};
      const retry = response.headers.get("Retry-After");
      banner(response.status + " " + (error.code || "") + ": " + (error.message || "refused")
        + (retry ? " (retry after " + retry + " s)" : ""), true);
      if (response.status === 401) {
        showKey();
      }
    } else if (response.status >= 500) {
      banner("The API answered " + response.status + ". Is the stack healthy?");
    } else {
      banner("");
    }
    return {status: response.status, body, headers: response.headers};
  }

  // A refusal (401, 403, 429) stays up a while, so the list's next poll does not wipe it.
  let bannerUntil = 0;

  function banner(message, sticky) {
    if (!message && Date.now() < bannerUntil) {
      return;
    }
    bannerUntil = sticky ? Date.now() + 8000 : 0;
    const el = $("banner");
    el.textContent = message;
    el.hidden = !message;
  }

  // ---- Routing: /console (list and submit) and /console/jobs/<id>.
  function route() {
    clearInterval(timer);
    timer = null;
    if (sessionStorage.getItem(KEY) === null) {
      showKey();
      return;
    }
    $("key-state").textContent = sessionStorage.getItem(KEY) ? "key set" : "no key";
    $("forget-key").hidden = false;
    const m = location.pathname.match(/^\/console\/jobs\/([^/]+)$/);
    show(m ? "job-view" : "list-view");
    if (m) {
      openJob(decodeURIComponent(m[1]));
    } else {
      refreshList();
      timer = setInterval(refreshList, 1000);
    }
  }

  function show(view) {
    for (const id of ["key-view", "list-view", "job-view"]) {
      $(id).hidden = id !== view;
    }
  }

  function showKey() {
    clearInterval(timer);
    show("key-view");
    $("forget-key").hidden = true;
    $("key-input").focus();
  }

  function navigate(path) {
    history.pushState(null, "", path);
    route();
    $("main").focus();
  }

  document.addEventListener("click", (e) => {
    const link = e.target.closest("a[data-nav]");
    if (link && !e.ctrlKey && !e.metaKey && e.button === 0) {
      e.preventDefault();
      navigate(link.getAttribute("href"));
    }
  });
  window.addEventListener("popstate", route);
  $("key-form").addEventListener("submit", (e) => {
    e.preventDefault();
    sessionStorage.setItem(KEY, $("key-input").value.trim());
    $("key-input").value = "";
    bannerUntil = 0;
    banner("");
    route();
  });
  $("forget-key").addEventListener("click", () => {
    sessionStorage.removeItem(KEY);
    showKey();
  });

  // ---- Jobs list, updated every second without a reload.
  function ms(value) {
    return value === null || value === undefined ? "" : value < 1000 ? value + " ms"
      : (value / 1000).toFixed(1) + " s";
  }

  function age(iso) {
    if (!iso) {
      return "";
    }
    const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    return s < 60 ? s + " s" : s < 3600 ? Math.round(s / 60) + " min" : Math.round(s / 3600) + " h";
  }

  async function refreshList() {
    const r = await api("/v1/jobs?limit=20");
    if (r.status !== 200) {
      return;
    }
    const tbody = document.querySelector("#jobs tbody");
    tbody.replaceChildren(...r.body.jobs.map((job) => {
      const tr = document.createElement("tr");
      tr.dataset.jobId = job.job_id;
      const cells = [null, job.status, job.task, job.model_id, age(job.submitted_at),
        ms(job.queue_wait_ms), ms(job.inference_ms)];
      cells.forEach((value, i) => {
        const td = document.createElement("td");
        if (i === 0) {
          td.className = "id";
          const a = document.createElement("a");
          a.href = "/console/jobs/" + encodeURIComponent(job.job_id);
          a.dataset.nav = "";
          a.textContent = job.job_id;
          td.append(a);
        } else {
          td.textContent = value === undefined || value === null ? "" : String(value);
        }
        if (i === 1) {
          td.className = "status " + job.status;
        }
        tr.append(td);
      });
      return tr;
    }));
    $("jobs-empty").hidden = r.body.jobs.length > 0;
  }

  // ---- Submit forms; schema errors next to the field they name.
  function selectTab(task) {
    for (const t of ["txt2img", "vqa"]) {
      const tab = $("tab-" + t);
      tab.setAttribute("aria-selected", String(t === task));
      tab.tabIndex = t === task ? 0 : -1;
      $("form-" + t).hidden = t !== task;
    }
  }
  $("tab-txt2img").addEventListener("click", () => selectTab("txt2img"));
  $("tab-vqa").addEventListener("click", () => selectTab("vqa"));
  document.querySelector(".tabs").addEventListener("keydown", (e) => {
    if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
      const next = $("tab-txt2img").getAttribute("aria-selected") === "true" ? "vqa" : "txt2img";
      selectTab(next);
      $("tab-" + next).focus();
    }
  });

  function clearErrors(form) {
    form.querySelectorAll(".error").forEach((p) => { p.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach((i) => i.removeAttribute("aria-invalid"));
  }

  function showErrors(form, error) {
    const fields = (error && error.fields) || [];
    let shown = false;
    for (const f of fields) {
      const box = form.querySelector('.field[data-field="' + CSS.escape(f.field) + '"]');
      if (box) {
        box.querySelector(".error").textContent = f.message;
        const input = box.querySelector("input, select");
        input.setAttribute("aria-invalid", "true");
        input.setAttribute("aria-describedby", box.querySelector(".error").id || "");
        shown = true;
      }
    }
    if (!shown || fields.some((f) => !form.querySelector('.field[data-field="'
        + CSS.escape(f.field) + '"]'))) {
      form.querySelector('p.error[data-field=""]').textContent =
        (error && (error.code + ": " + error.message)) || "refused";
    }
  }

  function number(value) {
    return value === "" ? undefined : Number(value);
  }

  async function submit(form, job) {
    clearErrors(form);
    const done = form.querySelector("p.submitted");
    done.replaceChildren();
    delete done.dataset.jobId;
    const r = await api("/v1/jobs", {method: "POST",
      headers: {"Content-Type": "application/json"}, body: JSON.stringify(job)});
    if (r.status === 202) {
      form.querySelector('p.error[data-field=""]').textContent = "";
      // A link to the job just accepted: the list may still hold older jobs above it.
      const a = document.createElement("a");
      a.href = "/console/jobs/" + encodeURIComponent(r.body.job_id);
      a.dataset.nav = "";
      a.textContent = r.body.job_id;
      done.replaceChildren("Submitted ", a);
      done.dataset.jobId = r.body.job_id;
      refreshList();
    } else if (r.body && r.body.error) {
      showErrors(form, r.body.error);
    }
    return r;
  }

  $("form-txt2img").addEventListener("submit", (e) => {
    e.preventDefault();
    const f = e.target;
    submit(f, {task: "txt2img", model_id: f.model_id.value, input: {
      prompt: f.prompt.value, steps: number(f.steps.value), sampler: f.sampler.value,
      seed: number(f.seed.value), cfg_scale: number(f.cfg_scale.value)}});
  });

  $("form-vqa").addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = e.target;
    const file = f.image.files[0];
    let image = "";
    if (file) {
      const bytes = new Uint8Array(await file.arrayBuffer());
      let binary = "";
      for (let i = 0; i < bytes.length; i += 0x8000) {
        binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
      }
      image = btoa(binary);
    }
    submit(f, {task: "vqa", model_id: f.model_id.value,
      input: {image, question: f.question.value}});
  });

  // ---- Job page: timeline, output, parameters, trace waterfall; live until it ends.
  async function openJob(id) {
    // Until this job's status is read, Cancel does nothing: enabled, it would be a dead click on
    // a fresh page, and on a page reached from another job it would cancel that other job.
    $("cancel-job").disabled = true;
    $("cancel-job").onclick = null;
    $("job-title").textContent = "Job " + id;
    $("job-output").replaceChildren();
    $("job-params").replaceChildren();
    $("waterfall").replaceChildren();
    $("download-job").hidden = true;
    confidence = null;
    lastSpans = [];
    let loadedOutput = false;
    const tick = async () => {
      const r = await api("/v1/jobs/" + encodeURIComponent(id));
      if (r.status === 404) {
        $("job-output").textContent = "No such job (or not yours).";
        clearInterval(timer);
        return;
      }
      if (r.status !== 200) {
        return;
      }
      const job = r.body;
      timeline(job);
      $("cancel-job").disabled = TERMINAL.includes(job.status) || job.status === "STORING";
      $("cancel-job").onclick = () => cancel(id);
      await trace(job);
      if (TERMINAL.includes(job.status)) {
        clearInterval(timer);
        if (!loadedOutput) {
          loadedOutput = true;
          await output(job);
        }
      } else {
        $("job-output").textContent = job.status === "QUEUED" ? "Waiting in the queue..."
          : "Running...";
      }
    };
    await tick();
    if (location.pathname.startsWith("/console/jobs/")) {
      timer = setInterval(tick, 1000);
    }
  }

  function timeline(job) {
    const steps = [["QUEUED", job.submitted_at], ["RUNNING", job.started_at]];
    if (job.status === "STORING") {
      steps.push(["STORING", job.updated_at]);
    }
    if (TERMINAL.includes(job.status)) {
      steps.push([job.status, job.finished_at || job.updated_at]);
    }
    $("job-timeline").replaceChildren(...steps.filter((s) => s[1] || s[0] === "QUEUED")
      .map(([state, at]) => {
        const li = document.createElement("li");
        li.className = "done";
        li.dataset.state = state;
        li.textContent = state + (at ? "  " + new Date(at).toLocaleTimeString() : "");
        return li;
      }));
    const err = $("job-error");
    err.replaceChildren();
    if (job.error) {
      const p = document.createElement("p");
      p.className = "error";
      p.setAttribute("role", "status");
      p.textContent = job.error.code + ": " + job.error.message;
      err.append(p);
    }
    param("task", job.task);
    param("model", job.model_id);
    param("queue wait", ms(job.queue_wait_ms));
    param("inference", ms(job.inference_ms));
    if (job.webhook) {
      param("webhook", webhookText(job.webhook));
    }
  }

  // The completion webhook's delivery, as the API reports it on the job.
  function webhookText(hook) {
    if (!hook.state) {
      return "sent when the job ends";
    }
    let text = hook.state + ", " + hook.attempts + (hook.attempts === 1 ? " attempt" : " attempts");
    if (hook.last_code) {
      text += ", last HTTP " + hook.last_code;
    }
    if (hook.last_error && hook.state !== "DELIVERED") {
      text += ": " + hook.last_error;
    }
    return text;
  }

  function param(name, value) {
    if (value === undefined || value === null || value === "") {
      return;
    }
    const dl = $("job-params");
    let dd = dl.querySelector('dd[data-name="' + CSS.escape(name) + '"]');
    if (!dd) {
      const dt = document.createElement("dt");
      dt.textContent = name;
      dd = document.createElement("dd");
      dd.dataset.name = name;
      dl.append(dt, dd);
    }
    dd.textContent = String(value);
  }

  async function output(job) {
    const box = $("job-output");
    box.replaceChildren();
    if (job.status !== "SUCCEEDED") {
      box.textContent = "The job ended " + job.status + ".";
      return;
    }
    const r = await api("/v1/jobs/" + encodeURIComponent(job.job_id) + "/result?redirect=false");
    if (r.status !== 200) {
      box.textContent = "The result could not be fetched (" + r.status + ").";
      return;
    }
    if (job.task === "txt2img") {
      const img = document.createElement("img");
      img.id = "job-image";
      img.alt = "The generated image";
      img.src = r.body.url;
      box.append(img);
    } else {
      const p = document.createElement("p");
      p.className = "answer";
      p.id = "job-answer";
      p.textContent = r.body.answer === undefined || r.body.answer === null ? "(no answer)"
        : r.body.answer;
      box.append(p);
      if (confidence !== null) {
        const c = document.createElement("p");
        c.id = "job-confidence";
        c.textContent = "confidence " + confidence.toFixed(3);
        box.append(c);
      }
    }
    const link = $("download-job");
    link.href = r.body.url;
    link.hidden = false;
  }

  async function cancel(id) {
    const r = await api("/v1/jobs/" + encodeURIComponent(id), {method: "DELETE"});
    if (r.status === 409 && r.body && r.body.error) {
      banner(r.body.error.code + ": " + r.body.error.message);
    }
  }

  // ---- The trace waterfall as an SVG: one bar per span, services in colours.
  const STEP = /^(diffusion\.step|vqa\.generate\.step) \d+$/;

  async function trace(job) {
    const r = await api("/v1/jobs/" + encodeURIComponent(job.job_id) + "/trace");
    const note = $("trace-note");
    if (r.status === 404 && r.body && r.body.error && r.body.error.code === "TRACE_STORE_DISABLED") {
      note.replaceChildren();
      if (config.trace_url_template && job.trace_id) {
        const a = document.createElement("a");
        a.href = config.trace_url_template.replace("{trace_id}", job.trace_id);
        a.textContent = "Open trace " + job.trace_id;
        note.append(a);
      } else {
        note.textContent = "This deployment keeps no spans; trace id " + (job.trace_id || "?");
      }
      return;
    }
    if (r.status !== 200) {
      return;
    }
    note.textContent = "Trace " + r.body.trace_id + ", " + r.body.spans.length + " spans";
    lastSpans = r.body.spans;
    for (const s of lastSpans) {
      const a = s.attributes || {};
      if (s.name === "diffusion.sample") {
        param("sampler", a["diffusion.sampler"]);
        param("steps", a["diffusion.steps"]);
        param("guidance", a["diffusion.cfg_scale"]);
        param("seed", a["diffusion.seed"]);
      }
      if (s.name === "diffusion.encode_prompt") {
        param("prompt_hash", a["prompt_hash"]);
      }
      if (s.name === "vqa.decode.answer" && a["vqa.confidence"] !== undefined) {
        confidence = Number(a["vqa.confidence"]);
        param("confidence", confidence.toFixed(3));
      }
    }
    draw();
  }

  let lastSpans = [];
  let confidence = null;
  $("collapse-steps").addEventListener("change", draw);

  function draw() {
    const spans = lastSpans.slice().sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
    if (spans.length === 0) {
      $("waterfall").replaceChildren();
      return;
    }
    const start = (s) => Date.parse(s.start);
    const t0 = Math.min(...spans.map(start));
    const t1 = Math.max(...spans.map((s) => start(s) + s.duration_ms));
    const total = Math.max(1, t1 - t0);
    let rows = spans;
    if ($("collapse-steps").checked) {
      const steps = spans.filter((s) => STEP.test(s.name));
      rows = spans.filter((s) => !STEP.test(s.name));
      if (steps.length > 0) {
        const first = Math.min(...steps.map(start));
        const last = Math.max(...steps.map((s) => start(s) + s.duration_ms));
        rows.push({name: steps.length + " sampling steps", service: steps[0].service,
          start: new Date(first).toISOString(), duration_ms: last - first, collapsed: true});
        rows.sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
      }
    }
    const ns = "http://www.w3.org/2000/svg";
    const width = 1000;
    const labelWidth = 330;
    const rowHeight = 18;
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 " + width + " " + (rows.length * rowHeight + 24));
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", "Trace waterfall: " + rows.length + " rows over "
      + total.toFixed(1) + " ms");
    rows.forEach((s, i) => {
      const y = i * rowHeight + 4;
      const queue = s.name.startsWith("queue.wait");
      const g = document.createElementNS(ns, "g");
      g.setAttribute("class", "span" + (queue ? " queue" : "") + (s.collapsed ? " collapsed" : ""));
      g.dataset.name = s.name;
      const label = document.createElementNS(ns, "text");
      label.setAttribute("x", "0");
      label.setAttribute("y", String(y + 12));
      label.setAttribute("class", "label");
      label.textContent = (s.service ? s.service + ": " : "") + s.name;
      const rect = document.createElementNS(ns, "rect");
      const x = labelWidth + (start(s) - t0) / total * (width - labelWidth - 60);
      const w = Math.max(1.5, s.duration_ms / total * (width - labelWidth - 60));
      rect.setAttribute("x", x.toFixed(1));
      rect.setAttribute("y", String(y));
      rect.setAttribute("width", w.toFixed(1));
      rect.setAttribute("height", String(rowHeight - 5));
      rect.setAttribute("rx", "2");
      rect.setAttribute("fill", queue ? QUEUE : COLOURS[s.service] || "#6e7781");
      const title = document.createElementNS(ns, "title");
      title.textContent = s.name + ": " + s.duration_ms.toFixed(2) + " ms";
      rect.append(title);
      const ms = document.createElementNS(ns, "text");
      ms.setAttribute("x", (x + w + 4).toFixed(1));
      ms.setAttribute("y", String(y + 12));
      ms.setAttribute("class", "label");
      ms.textContent = s.duration_ms.toFixed(1) + " ms";
      g.append(label, rect, ms);
      svg.append(g);
    });
    $("waterfall").replaceChildren(svg);
  }

  // ---- Start.
  fetch("/console/config.json").then((r) => r.ok ? r.json() : {}).then((c) => {
    config = Object.assign(config, c);
  }).catch(() => {});
  route();
})();
