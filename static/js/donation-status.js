// Follows a donation's status while it is being processed, and reloads the page once it settles
// so the timeline and results appear without the donor having to refresh.
(function () {
  const badge = document.getElementById("donation-status");
  if (!badge) return;
  const busy = new Set(["created", "uploaded", "processing"]);
  if (!busy.has(badge.dataset.status)) return;
  let delay = 1000;
  async function poll() {
    try {
      const response = await fetch(badge.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (response.ok) {
        const data = await response.json();
        if (data.status !== badge.dataset.status) {
          if (!busy.has(data.status)) { window.location.reload(); return; }
          badge.dataset.status = data.status;
          badge.textContent = data.status_display;
          badge.className = "status status-" + data.status;
        }
      }
    } catch (e) { /* offline for a moment: keep trying */ }
    delay = Math.min(delay * 1.5, 10000);
    setTimeout(poll, delay);
  }
  setTimeout(poll, delay);
})();
