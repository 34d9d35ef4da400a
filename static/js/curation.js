// Curation queue: mount a donation's 3D replay (static/js/replay.js) the first time its
// panel is opened, so a long queue does not fetch every preview up front.
const queue = document.querySelector("[data-replay-module]");
if (queue) {
  for (const details of queue.querySelectorAll("details[data-replay-details]")) {
    details.addEventListener("toggle", async () => {
      if (!details.open || details.dataset.mounted) return;
      details.dataset.mounted = "true";
      const { mountReplay } = await import(queue.dataset.replayModule);
      await mountReplay(details.querySelector("[data-replay]"));
    });
  }
  const all = queue.querySelector("[data-select-all]");
  if (all) {
    all.addEventListener("change", () => {
      for (const box of queue.querySelectorAll("input[name=donations]")) box.checked = all.checked;
    });
  }
}
