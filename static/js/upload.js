// Resumable uploads with Uppy's S3 multipart plugin, driven by MetaGen's upload API
// (/api/uploads/...). Uppy sends parts in parallel and retries a failed part alone; this file
// adds a SHA-256 per part (WebCrypto), resume after a reload (the open sessions are remembered
// in localStorage and resumed when the donor chooses the same files again), progress with
// speed and time left, and cancel. All text comes from the page (translated by Django).
(function () {
  "use strict";
  const form = document.getElementById("upload-form");
  if (!form || !window.Uppy) return;
  const T = JSON.parse(document.getElementById("upload-strings").textContent);
  const api = form.dataset.api;
  const csrf = form.dataset.csrf;
  const maxBytes = Number(form.dataset.maxBytes);
  const allowed = {
    motion: form.dataset.motionExtensions.split(","),
    audio: form.dataset.audioExtensions.split(","),
  };
  const inputs = { motion: document.getElementById("motion-file"), audio: document.getElementById("audio-file") };
  const startButton = document.getElementById("upload-start");
  const startLabel = startButton.textContent;
  const cancelButton = document.getElementById("upload-cancel");
  const progressBox = document.getElementById("upload-progress");
  const bar = document.getElementById("upload-bar");
  const statusLine = document.getElementById("upload-status");
  const errorLine = document.getElementById("upload-error");
  const interrupted = document.getElementById("upload-interrupted");
  const STORE = "metagen.pending-upload";

  function fmt(template, values) {
    return template.replace(/%\((\w+)\)s/g, (_m, key) => String(values[key]));
  }
  function bytes(n) {
    const units = ["B", "KB", "MB", "GB", "TB"];
    let i = 0;
    while (n >= 1000 && i < units.length - 1) { n /= 1000; i += 1; }
    return new Intl.NumberFormat(document.documentElement.lang || undefined, { maximumFractionDigits: i ? 1 : 0 }).format(n) + " " + units[i];
  }
  function duration(seconds) {
    if (seconds < 90) return fmt(T.seconds, { n: Math.max(1, Math.round(seconds)) });
    if (seconds < 5400) return fmt(T.minutes, { n: Math.round(seconds / 60) });
    return fmt(T.hours, { n: (seconds / 3600).toFixed(1) });
  }
  function extension(name) {
    const dot = name.lastIndexOf(".");
    return dot < 0 ? "" : name.slice(dot).toLowerCase();
  }
  function fingerprint(file) {
    return [file.name, file.size, file.lastModified].join(":");
  }
  function base64(buffer) {
    const view = new Uint8Array(buffer);
    let text = "";
    for (let i = 0; i < view.length; i += 0x8000) text += String.fromCharCode.apply(null, view.subarray(i, i + 0x8000));
    return btoa(text);
  }
  function loadPending() {
    try { return JSON.parse(localStorage.getItem(STORE) || "null"); } catch (e) { return null; }
  }
  function savePending(value) {
    if (value) localStorage.setItem(STORE, JSON.stringify(value)); else localStorage.removeItem(STORE);
  }

  async function call(method, url, body) {
    const response = await fetch(url, {
      method,
      credentials: "same-origin",
      headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    try { data = await response.json(); } catch (e) { /* an empty or non-JSON answer */ }
    if (!response.ok) {
      const error = new Error(detailOf(data) || response.statusText);
      error.source = { status: response.status };  // Uppy reads the status to decide on retries
      throw error;
    }
    return data;
  }
  function detailOf(data) {
    if (!data) return "";
    if (typeof data.detail === "string") return data.detail;
    const first = Object.values(data)[0];
    return Array.isArray(first) ? String(first[0]) : "";
  }

  // --- Checks in the browser (the server checks again) ---
  function chosenFiles() {
    const chosen = {};
    for (const kind of ["motion", "audio"]) {
      const input = inputs[kind];
      if (input && input.files && input.files[0]) chosen[kind] = input.files[0];
    }
    return chosen;
  }
  function problemWith(kind, file) {
    if (!allowed[kind].includes(extension(file.name))) return fmt(T.bad_type, { name: file.name, allowed: allowed[kind].join(", ") });
    if (file.size === 0) return fmt(T.empty, { name: file.name });
    if (file.size > maxBytes) return fmt(T.too_big, { name: file.name, limit: bytes(maxBytes) });
    return "";
  }

  // --- Uppy, with MetaGen's API behind each multipart callback ---
  const partSizes = new WeakMap();  // File -> the part size its session was opened with
  const uppy = new Uppy.Uppy({ autoProceed: false, allowMultipleUploadBatches: true });
  uppy.use(Uppy.AwsS3, {
    shouldUseMultipart: () => true,
    limit: 4,
    retryDelays: [0, 1000, 3000, 5000, 10000],
    getChunkSize: (data) => partSizes.get(data),
    createMultipartUpload: (file) => ({ uploadId: file.meta.sessionId, key: file.meta.sessionId }),
    listParts: async (_file, { uploadId }) => {
      const parts = await call("GET", `${api}${uploadId}/parts/`);
      return parts.map((p) => ({ PartNumber: p.part_number, Size: p.size, ETag: p.etag }));
    },
    signPart: async (_file, { uploadId, partNumber, body }) => {
      const digest = await crypto.subtle.digest("SHA-256", await body.arrayBuffer());
      const signed = await call("POST", `${api}${uploadId}/parts/${partNumber}/sign/`, { checksum_sha256: base64(digest) });
      return { method: signed.method, url: signed.url, headers: signed.headers };
    },
    completeMultipartUpload: async (_file, { uploadId }) => {
      const session = await call("POST", `${api}${uploadId}/complete/`);
      lastSession = session;
      return { location: "" };
    },
    abortMultipartUpload: async (_file, { uploadId }) => {
      await call("POST", `${api}${uploadId}/abort/`);
    },
  });
  let lastSession = null;
  let pending = loadPending();
  let samples = [];
  // performance.now() counts from page load: 0 here would mute the first second's updates.
  let lastAnnounce = -Infinity;
  let trailing = null;

  if (pending && interrupted) {
    interrupted.textContent = T.interrupted;
    interrupted.hidden = false;
  }

  function setBusy(busy) {
    startButton.disabled = busy;
    cancelButton.hidden = !busy && !pending;
    for (const input of Object.values(inputs)) if (input) input.disabled = busy;
  }

  function showProgress() {
    let sent = 0;
    let total = 0;
    for (const file of uppy.getFiles()) {
      sent += file.progress.bytesUploaded || 0;
      total += file.progress.bytesTotal || file.size || 0;
    }
    if (!total) return;
    bar.value = Math.floor((100 * sent) / total);
    bar.setAttribute("aria-valuetext", `${bytes(sent)} / ${bytes(total)}`);
    const now = performance.now();
    samples.push([now, sent]);
    samples = samples.filter(([t]) => now - t <= 5000);
    if (now - lastAnnounce < 1000 && sent < total) {
      // A screen reader needs no more than one update a second, but the last one must show.
      clearTimeout(trailing);
      trailing = setTimeout(showProgress, 1000 - (now - lastAnnounce));
      return;
    }
    clearTimeout(trailing);
    lastAnnounce = now;
    const [t0, b0] = samples[0];
    const speed = now > t0 ? ((sent - b0) * 1000) / (now - t0) : 0;
    statusLine.textContent = speed > 0
      ? fmt(T.progress, { sent: bytes(sent), total: bytes(total), speed: bytes(speed), left: duration((total - sent) / speed) })
      : fmt(T.progress_no_speed, { sent: bytes(sent), total: bytes(total) });
  }
  uppy.on("upload-progress", showProgress);

  uppy.on("complete", (result) => {
    clearTimeout(trailing);
    if (result.failed && result.failed.length) return;  // upload-error said why
    if (!result.successful || !result.successful.length) return;
    statusLine.textContent = T.done;
    savePending(null);
    const donation = (lastSession && lastSession.donation) || (pending && pending.donation);
    window.location.assign(form.dataset.detailUrl.replace("00000000-0000-0000-0000-000000000000", donation));
  });
  uppy.on("upload-error", (_file, error) => {
    clearTimeout(trailing);
    const reason = error && error.source && error.source.status ? error.message : T.network;
    errorLine.textContent = fmt(T.failed, { reason: reason.endsWith(".") ? reason : reason + "." });
    startButton.textContent = T.resume;
    setBusy(false);
    cancelButton.hidden = false;
  });

  async function sessionsToUse(chosen) {
    const kinds = Object.keys(chosen).sort();
    if (pending) {
      const same = kinds.length === Object.keys(pending.files).length
        && kinds.every((k) => pending.files[k] && pending.files[k].fingerprint === fingerprint(chosen[k]));
      if (same) {
        try {
          const states = await Promise.all(kinds.map((k) => call("GET", `${api}${pending.files[k].session}/`)));
          if (states.every((s) => s.donation_status === "created" && s.status !== "aborted")) return pending;
        } catch (e) { /* gone or expired: start afresh below */ }
      }
      // Something else was chosen: the old upload is not coming back, so let it go now.
      const first = Object.values(pending.files)[0];
      call("POST", `${api}${first.session}/abort/`).catch(() => {});
      savePending(null);
    }
    const opened = await call("POST", api, {
      files: kinds.map((k) => ({ kind: k, size: chosen[k].size, extension: extension(chosen[k].name).slice(1), content_type: chosen[k].type || "" })),
    });
    const files = {};
    for (const session of opened.sessions) {
      files[session.kind] = { session: session.id, partSize: session.part_size, fingerprint: fingerprint(chosen[session.kind]) };
    }
    return { donation: opened.donation, files };
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errorLine.textContent = "";
    if (uppy.getFiles().length) {  // a stopped upload of this page: resume it
      setBusy(true);
      uppy.retryAll();
      return;
    }
    const chosen = chosenFiles();
    if (!chosen.motion) { errorLine.textContent = T.choose_motion; inputs.motion.focus(); return; }
    for (const [kind, file] of Object.entries(chosen)) {
      const problem = problemWith(kind, file);
      if (problem) { errorLine.textContent = problem; inputs[kind].focus(); return; }
    }
    if (!window.crypto || !crypto.subtle) { errorLine.textContent = T.no_crypto; return; }
    setBusy(true);
    progressBox.hidden = false;
    statusLine.textContent = T.starting;
    try {
      pending = await sessionsToUse(chosen);
    } catch (error) {
      errorLine.textContent = error.message;
      setBusy(false);
      return;
    }
    savePending(pending);
    if (interrupted) interrupted.hidden = true;
    cancelButton.hidden = false;
    for (const [kind, file] of Object.entries(chosen)) {
      const { session, partSize } = pending.files[kind];
      partSizes.set(file, partSize);
      const id = uppy.addFile({ name: file.name, type: file.type, data: file, meta: { sessionId: session, kind } });
      // Always the "restore" path: Uppy lists the stored parts first and sends only the others.
      uppy.setFileState(id, { s3Multipart: { uploadId: session, key: session } });
    }
    statusLine.textContent = T.checking;
    samples = [];
    uppy.upload().catch(() => {});
  });

  cancelButton.addEventListener("click", async () => {
    clearTimeout(trailing);
    const current = pending;
    uppy.cancelAll();
    savePending(null);
    pending = null;
    if (current) {
      const first = Object.values(current.files)[0];
      try { await call("POST", `${api}${first.session}/abort/`); } catch (e) { /* already gone */ }
    }
    bar.value = 0;
    progressBox.hidden = true;
    startButton.textContent = startLabel;
    errorLine.textContent = "";
    statusLine.textContent = "";
    setBusy(false);
    cancelButton.hidden = true;
    errorLine.textContent = T.cancelled;
  });
})();
