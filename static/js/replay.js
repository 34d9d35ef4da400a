// 3D replay of a donation's anonymized motion (preview.json: positions in mm, times in ms).
// three.js when the browser offers WebGL, else a flat 2D canvas seen from the front; the controls,
// time label and data-frame attribute work the same either way.
import * as THREE from "../vendor/three/build/three.module.min.js";

const COLOURS = { head: 0x1d4ed8, left_hand: 0x15803d, right_hand: 0xc2410c, joint: 0x6b7280 };
const RADII = { head: 0.09, left_hand: 0.05, right_hand: 0.05, joint: 0.025 };
const CSS_COLOURS = { head: "#1d4ed8", left_hand: "#15803d", right_hand: "#c2410c", joint: "#6b7280" };

function webglAvailable() {
  try {
    const canvas = document.createElement("canvas");
    return Boolean(canvas.getContext("webgl2") || canvas.getContext("webgl"));
  } catch (e) {
    return false;
  }
}

// Metres: the box around every shown position over the whole take. Its bottom reaches down to
// the floor (y = 0) when the feet are tracked, else it stays on the tracked body (VR: head and
// hands float a metre up), so a head-and-hands take is not framed mostly as empty floor.
function framing(preview) {
  const lo = preview.bounds_mm.min.map((v) => v / 1000);
  const hi = preview.bounds_mm.max.map((v) => v / 1000);
  if (lo[1] < 0.5) lo[1] = Math.min(lo[1], 0);
  const centre = lo.map((v, i) => (v + hi[i]) / 2);
  const half = hi.map((v, i) => Math.max(0.3, (v - lo[i]) / 2));
  return { lo, hi, centre, half };
}

function segments(preview) {
  const pairs = [];
  preview.tracks.forEach((track, i) => {
    if (track.parent !== null && track.parent !== undefined) pairs.push([i, track.parent]);
  });
  return pairs;
}

class WebGLView {
  constructor(stage, preview) {
    this.preview = preview;
    this.pairs = segments(preview);
    this.renderer = new THREE.WebGLRenderer({ antialias: true });
    this.renderer.setPixelRatio(Math.min(window.devicePixelRatio || 1, 2));
    stage.appendChild(this.renderer.domElement);
    this.scene = new THREE.Scene();
    this.scene.background = new THREE.Color(0xf9fafb);
    this.scene.add(new THREE.HemisphereLight(0xffffff, 0x9ca3af, 2.5));
    const sun = new THREE.DirectionalLight(0xffffff, 1.5);
    sun.position.set(1, 3, -2);
    this.scene.add(sun);

    const { centre, half } = framing(preview);
    const size = Math.max(2, Math.ceil(2 * Math.max(half[0], half[2]) + 1));
    const grid = new THREE.GridHelper(size, size * 2, 0x9ca3af, 0xd1d5db);
    grid.position.set(centre[0], 0, centre[2]);
    this.scene.add(grid);

    // In front of the donor (who starts facing -Z), a little to their right and above, far
    // enough for the box to fit the 16:9 view.
    const fov = 40;
    const slope = Math.tan(THREE.MathUtils.degToRad(fov / 2));
    const distance = 1.2 * Math.max(half[1] / slope, Math.max(half[0], half[2]) / (slope * 16 / 9)) + half[2];
    this.camera = new THREE.PerspectiveCamera(fov, 16 / 9, 0.05, 100);
    const way = new THREE.Vector3(0.3, 0.2, -1).normalize().multiplyScalar(distance);
    this.camera.position.set(centre[0] + way.x, centre[1] + way.y, centre[2] + way.z);
    this.camera.lookAt(centre[0], centre[1], centre[2]);

    const sphere = new THREE.SphereGeometry(1, 20, 14);
    this.markers = preview.tracks.map((track) => {
      const role = COLOURS[track.role] !== undefined ? track.role : "joint";
      const mesh = new THREE.Mesh(sphere, new THREE.MeshStandardMaterial({ color: COLOURS[role], roughness: 0.6 }));
      mesh.scale.setScalar(RADII[role]);
      this.scene.add(mesh);
      return mesh;
    });
    this.lines = null;
    if (this.pairs.length) {
      const geometry = new THREE.BufferGeometry();
      geometry.setAttribute("position", new THREE.BufferAttribute(new Float32Array(this.pairs.length * 6), 3));
      this.lines = new THREE.LineSegments(geometry, new THREE.LineBasicMaterial({ color: 0x374151 }));
      this.scene.add(this.lines);
    }
    this.stage = stage;
    this.resize();
  }

  resize() {
    const width = Math.max(200, this.stage.clientWidth);
    const height = Math.round((width * 9) / 16);
    this.renderer.setSize(width, height);
    this.camera.aspect = width / height;
    this.camera.updateProjectionMatrix();
  }

  draw(frame) {
    const row = this.preview.positions_mm[frame];
    this.markers.forEach((mesh, i) => mesh.position.set(row[3 * i] / 1000, row[3 * i + 1] / 1000, row[3 * i + 2] / 1000));
    if (this.lines) {
      const buffer = this.lines.geometry.attributes.position;
      this.pairs.forEach(([a, b], k) => {
        buffer.setXYZ(2 * k, row[3 * a] / 1000, row[3 * a + 1] / 1000, row[3 * a + 2] / 1000);
        buffer.setXYZ(2 * k + 1, row[3 * b] / 1000, row[3 * b + 1] / 1000, row[3 * b + 2] / 1000);
      });
      buffer.needsUpdate = true;
    }
    this.renderer.render(this.scene, this.camera);
  }
}

// Front view (x right, y up), for browsers without WebGL.
class FlatView {
  constructor(stage, preview) {
    this.preview = preview;
    this.pairs = segments(preview);
    this.canvas = document.createElement("canvas");
    stage.appendChild(this.canvas);
    this.context = this.canvas.getContext("2d");
    this.stage = stage;
    this.box = framing(preview);
    this.resize();
  }

  resize() {
    const width = Math.max(200, this.stage.clientWidth);
    this.canvas.width = width;
    this.canvas.height = Math.round((width * 9) / 16);
  }

  draw(frame) {
    const { canvas, context: ctx, preview } = this;
    const { lo, hi } = this.box;
    const pad = 20;
    const scale = Math.min((canvas.width - 2 * pad) / Math.max(hi[0] - lo[0], 0.5), (canvas.height - 2 * pad) / Math.max(hi[1] - lo[1], 0.5));
    // Seen from the front (the donor faces -Z), their right (+X) is on the viewer's left.
    const x = (mm) => canvas.width / 2 - (mm / 1000 - (lo[0] + hi[0]) / 2) * scale;
    const y = (mm) => canvas.height - pad - (mm / 1000 - lo[1]) * scale;
    const row = preview.positions_mm[frame];
    ctx.fillStyle = "#f9fafb";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.strokeStyle = "#9ca3af";
    ctx.beginPath();
    ctx.moveTo(0, y(0));
    ctx.lineTo(canvas.width, y(0));
    ctx.stroke();
    ctx.strokeStyle = "#374151";
    ctx.beginPath();
    for (const [a, b] of this.pairs) {
      ctx.moveTo(x(row[3 * a]), y(row[3 * a + 1]));
      ctx.lineTo(x(row[3 * b]), y(row[3 * b + 1]));
    }
    ctx.stroke();
    preview.tracks.forEach((track, i) => {
      const role = CSS_COLOURS[track.role] ? track.role : "joint";
      ctx.fillStyle = CSS_COLOURS[role];
      ctx.beginPath();
      ctx.arc(x(row[3 * i]), y(row[3 * i + 1]), Math.max(3, RADII[role] * scale), 0, 2 * Math.PI);
      ctx.fill();
    });
  }
}

function formatSeconds(ms) {
  return (ms / 1000).toFixed(2) + " s";
}

// The last frame whose time is at or before t (times ascending).
function frameAt(times, t) {
  let lo = 0;
  let hi = times.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (times[mid] <= t) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

export async function mountReplay(player) {
  if (player.dataset.mounted) return;
  player.dataset.mounted = "true";
  const part = (name) => player.querySelector(`[data-${name}]`);
  const stage = part("stage");
  const play = part("play");
  const scrub = part("scrub");
  const timeLabel = part("time");
  const frameLabel = part("frame-label");
  part("loading").hidden = true;

  let preview;
  try {
    const response = await fetch(player.dataset.src, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(String(response.status));
    preview = await response.json();
  } catch (e) {
    part("error").hidden = false;
    player.dataset.state = "unavailable";
    return;
  }
  const times = preview.times_ms;
  const last = times.length - 1;
  if (last < 0) {
    part("error").hidden = false;
    player.dataset.state = "unavailable";
    return;
  }

  let view;
  if (webglAvailable()) {
    try {
      view = new WebGLView(stage, preview);
      player.dataset.renderer = "webgl";
    } catch (e) {
      view = null;
    }
  }
  if (!view) {
    stage.replaceChildren();
    view = new FlatView(stage, preview);
    player.dataset.renderer = "2d";
    part("fallback").hidden = false;
  }

  const total = formatSeconds(preview.facts.duration_s * 1000);
  let frame = 0;
  let playing = false;
  let clock = 0; // ms into the recording
  let started = 0; // performance.now() when clock was last anchored

  function show(index) {
    frame = Math.max(0, Math.min(last, index));
    view.draw(frame);
    scrub.value = String(frame);
    player.dataset.frame = String(frame);
    timeLabel.textContent = `${formatSeconds(times[frame])} / ${total}`;
    frameLabel.textContent = `${frame + 1} / ${times.length}`;
  }

  function setPlaying(on) {
    playing = on;
    play.textContent = on ? player.dataset.labelPause : player.dataset.labelPlay;
    play.setAttribute("aria-pressed", on ? "true" : "false");
    player.dataset.state = on ? "playing" : "paused";
    if (on) {
      if (frame >= last) show(0); // play at the end starts over
      clock = times[frame];
      started = performance.now();
      requestAnimationFrame(tick);
    }
  }

  function tick(now) {
    if (!playing) return;
    const t = clock + (now - started); // real speed
    const next = frameAt(times, t);
    if (next !== frame) show(next);
    if (t >= times[last]) {
      show(last);
      setPlaying(false);
      return;
    }
    requestAnimationFrame(tick);
  }

  scrub.max = String(last);
  scrub.disabled = false;
  play.disabled = false;
  scrub.addEventListener("input", () => {
    show(Number(scrub.value));
    clock = times[frame];
    started = performance.now();
  });
  play.addEventListener("click", () => setPlaying(!playing));
  player.addEventListener("keydown", (event) => {
    // Space or k toggles play anywhere in the player, as in common video players.
    if ((event.key === " " || event.key === "k") && event.target !== play && event.target.tagName !== "INPUT") {
      event.preventDefault();
      setPlaying(!playing);
    }
  });
  window.addEventListener("resize", () => {
    view.resize();
    view.draw(frame);
  });
  show(0);
  player.dataset.state = "paused";
}

export function mountAll(root = document) {
  return Promise.all([...root.querySelectorAll("[data-replay]")].map((player) => mountReplay(player)));
}
