// Live status of donations, without reloading the page.
// Detail page: polls the donation's API while it is in progress, keeps the status and timeline
// current, and when it settles swaps in the server-rendered status region (problem and advice,
// facts, 3D replay). Dashboard: one poll of the list API updates every row still in progress.
const BUSY = new Set(["created", "uploaded", "processing"]);
const MAX_DELAY_MS = 10000;

const dateFormat = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
  dateStyle: "medium",
  timeStyle: "medium",
});

async function getJSON(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  if (!response.ok) throw new Error(String(response.status));
  return response.json();
}

function setBadge(badge, data) {
  badge.dataset.status = data.status;
  badge.textContent = data.status_display;
  badge.className = "status status-" + data.status;
}

function poller(step) {
  let delay = 1000;
  async function run() {
    let again = true;
    try {
      again = await step();
    } catch (e) {
      /* offline for a moment: keep trying */
    }
    if (!again) return;
    delay = Math.min(delay * 1.5, MAX_DELAY_MS);
    setTimeout(run, delay);
  }
  setTimeout(run, delay);
}

async function mountReplays(region) {
  if (!region.querySelector("[data-replay]")) return;
  const { mountAll } = await import(region.dataset.replayModule);
  await mountAll(region);
}

function renderTimeline(list, createdLabel, createdAt, history) {
  const items = [[createdAt, createdLabel, ""]].concat(history.map((h) => [h.created_at, h.to_status_display, h.note]));
  list.replaceChildren(
    ...items.map(([when, label, note]) => {
      const li = document.createElement("li");
      const time = document.createElement("time");
      time.dateTime = when;
      time.textContent = dateFormat.format(new Date(when));
      li.append(time, `: ${label}${note ? ` (${note})` : ""}`);
      return li;
    }),
  );
}

function followDetail(region) {
  const badge = region.querySelector("#donation-status");
  if (!BUSY.has(badge.dataset.status)) return;
  const timeline = region.querySelector("#timeline");
  const { createdLabel, createdAt } = timeline.dataset;
  poller(async () => {
    const data = await getJSON(badge.dataset.url);
    if (data.status === badge.dataset.status) return true;
    setBadge(badge, data);
    region.querySelector("#donation-next-step").textContent = data.next_step;
    renderTimeline(timeline, createdLabel, createdAt, data.history);
    if (BUSY.has(data.status)) return true;
    // Settled: the server renders what this status shows (advice, facts, replay).
    const response = await fetch(window.location.href, { credentials: "same-origin" });
    if (response.ok) {
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = page.getElementById("donation-live");
      if (fresh) {
        region.replaceChildren(...fresh.childNodes);
        await mountReplays(region);
      }
    }
    return false;
  });
}

function followDashboard(table) {
  const rows = new Map([...table.querySelectorAll("tr[data-donation]")].map((row) => [row.dataset.donation, row]));
  const busy = () => [...rows.values()].some((row) => BUSY.has(row.querySelector("[data-status]").dataset.status));
  if (!busy()) return;
  poller(async () => {
    const data = await getJSON(table.dataset.pollUrl);
    for (const donation of data.results) {
      const row = rows.get(donation.id);
      if (!row) continue;
      const badge = row.querySelector("[data-status]");
      if (badge.dataset.status === donation.status) continue;
      setBadge(badge, donation);
      row.querySelector("[data-next-step]").textContent = donation.next_step;
      const facts = row.querySelector("[data-facts]");
      const summary = donation.summary || {};
      if (summary.duration_s !== undefined) {
        facts.textContent = `${String(summary.source_format).toUpperCase()} · ${Number(summary.duration_s).toFixed(1)} s · ${Math.round(summary.frame_rate)} fps`;
      } else if (donation.problem_message) {
        facts.textContent = donation.problem_message;
      }
    }
    return busy();
  });
}

const region = document.getElementById("donation-live");
if (region) {
  mountReplays(region);
  followDetail(region);
}
const table = document.querySelector("table[data-poll-url]");
if (table) followDashboard(table);
