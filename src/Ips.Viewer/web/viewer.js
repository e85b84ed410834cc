// The page of `ips view`: the slide list, one OpenSeadragon viewer on the current slide's Deep Zoom tiles, and a
// canvas over it where the overlays are drawn in image (level-0) coordinates each time the view moves.
'use strict';

const state = { slides: [], maxScore: 0, sort: { key: 'name', ascending: true }, detail: null };
const $ = id => document.getElementById(id);

const viewer = OpenSeadragon({
  element: $('viewer'),
  prefixUrl: 'osd/images/',
  showNavigator: true,
  maxZoomPixelRatio: 2,
  // Tiles are JPEG from our own origin; nothing needs the cross-origin canvas checks.
  crossOriginPolicy: false,
});

const overlay = document.createElement('canvas');
overlay.style.position = 'absolute';
overlay.style.left = '0';
overlay.style.top = '0';
overlay.style.pointerEvents = 'none';
viewer.canvas.appendChild(overlay);

// The same blue-to-red ramp as the attention pictures of `ips predict` and the colour bar.
function jet(t) {
  const ramp = v => Math.round(255 * Math.min(1, Math.max(0, v)));
  return [ramp(1.5 - Math.abs(4 * t - 3)), ramp(1.5 - Math.abs(4 * t - 2)), ramp(1.5 - Math.abs(4 * t - 1))];
}

function toScreen(x, y) {
  return viewer.viewport.imageToViewerElementCoordinates(new OpenSeadragon.Point(x, y));
}

function checked(id) { return $(id).checked; }

function draw() {
  const ratio = window.devicePixelRatio || 1;
  const width = viewer.canvas.clientWidth, height = viewer.canvas.clientHeight;
  if (overlay.width !== Math.round(width * ratio) || overlay.height !== Math.round(height * ratio)) {
    overlay.width = Math.round(width * ratio);
    overlay.height = Math.round(height * ratio);
    overlay.style.width = width + 'px';
    overlay.style.height = height + 'px';
  }
  const g = overlay.getContext('2d');
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);
  const detail = state.detail;
  if (!detail || detail.error || viewer.world.getItemCount() === 0) return;
  const alpha = $('opacity').value / 100;

  if (detail.tissue && checked('layer-tissue')) {
    const corners = detail.tissue.corners, size = detail.tissue.size;
    g.strokeStyle = `rgba(0,160,0,${Math.max(alpha, 0.2)})`;
    g.lineWidth = 1;
    for (let i = 0; i < corners.length; i += 2) {
      const a = toScreen(corners[i], corners[i + 1]), b = toScreen(corners[i] + size, corners[i + 1] + size);
      if (b.x < 0 || b.y < 0 || a.x > width || a.y > height) continue;
      g.strokeRect(a.x, a.y, b.x - a.x, b.y - a.y);
    }
  }

  const selected = detail.prediction ? detail.prediction.selected : [];
  if (checked('layer-heat') && state.maxScore > 0) {
    for (const tile of selected) {
      const a = toScreen(tile.x, tile.y), b = toScreen(tile.x + tile.width, tile.y + tile.height);
      const [r, gr, bl] = jet(Math.min(1, tile.score / state.maxScore));
      g.fillStyle = `rgba(${r},${gr},${bl},${alpha})`;
      g.fillRect(a.x, a.y, b.x - a.x, b.y - a.y);
    }
  }
  if (checked('layer-selected')) {
    g.strokeStyle = 'rgb(0,0,0)';
    g.lineWidth = 2;
    g.font = '12px system-ui, sans-serif';
    g.fillStyle = 'rgb(0,0,0)';
    for (const tile of selected) {
      const a = toScreen(tile.x, tile.y), b = toScreen(tile.x + tile.width, tile.y + tile.height);
      g.strokeRect(a.x, a.y, b.x - a.x, b.y - a.y);
      if (b.x - a.x > 24) g.fillText(String(tile.rank), a.x + 3, a.y + 13);
    }
  }

  if (detail.tumour && checked('layer-tumour')) {
    g.lineWidth = 2;
    const outline = (polygons, colour) => {
      g.strokeStyle = colour;
      for (const p of polygons) {
        g.beginPath();
        for (let i = 0; i < p.length; i += 2) {
          const s = toScreen(p[i], p[i + 1]);
          if (i === 0) g.moveTo(s.x, s.y); else g.lineTo(s.x, s.y);
        }
        g.closePath();
        g.stroke();
      }
    };
    outline(detail.tumour.tumour, 'rgb(0,120,255)');
    outline(detail.tumour.exclusions, 'rgb(255,0,255)');
  }
}

// The selected tile under a point of the viewer (element coordinates), the highest ranked where they overlap.
function selectedAt(position) {
  const detail = state.detail;
  if (!detail || !detail.prediction || viewer.world.getItemCount() === 0 || !checked('layer-selected')) return null;
  const p = viewer.viewport.viewerElementToImageCoordinates(position);
  return detail.prediction.selected.find(t => p.x >= t.x && p.x < t.x + t.width && p.y >= t.y && p.y < t.y + t.height) || null;
}

// A quarter-tile margin on every side: the tile's neighbourhood stays in sight, and the tile's edges are not at the
// mercy of the viewport's float rounding when it fills the view exactly.
function zoomTo(tile) {
  const mx = tile.width / 4, my = tile.height / 4;
  viewer.viewport.fitBounds(viewer.viewport.imageToViewportRectangle(tile.x - mx, tile.y - my, tile.width + 2 * mx, tile.height + 2 * my));
}

viewer.addHandler('update-viewport', draw);
viewer.addHandler('canvas-click', event => {
  if (!event.quick) return;
  const tile = selectedAt(event.position);
  if (tile) {
    event.preventDefaultAction = true;
    zoomTo(tile);
  }
});
new OpenSeadragon.MouseTracker({
  element: viewer.canvas,
  moveHandler: event => {
    const tip = $('tooltip');
    const tile = selectedAt(event.position);
    if (!tile) { tip.hidden = true; return; }
    tip.textContent = `rank ${tile.rank}, score ${tile.score.toPrecision(3)}, tile ${tile.index}`;
    tip.style.left = (event.position.x + 14) + 'px';
    tip.style.top = (event.position.y + $('viewer').offsetTop + 14) + 'px';
    tip.hidden = false;
  },
  leaveHandler: () => { $('tooltip').hidden = true; },
});
for (const id of ['layer-heat', 'layer-selected', 'layer-tissue', 'layer-tumour', 'opacity']) {
  $(id).addEventListener('input', draw);
}

function formatProbability(p) { return p === null || p === undefined ? '' : p.toFixed(3); }

function renderList() {
  const { key, ascending } = state.sort;
  const value = s => key === 'name' ? s.name : (s.probability ?? -1);
  const sorted = [...state.slides].sort((a, b) => {
    const x = value(a), y = value(b);
    return (x < y ? -1 : x > y ? 1 : 0) * (ascending ? 1 : -1);
  });
  const body = document.querySelector('#slides tbody');
  body.replaceChildren(...sorted.map(slide => {
    const row = document.createElement('tr');
    row.dataset.id = slide.id;
    if (slide.error) row.classList.add('failed');
    if (state.detail && state.detail.id === slide.id) row.classList.add('current');
    const name = document.createElement('td');
    name.textContent = slide.name;
    const p = document.createElement('td');
    p.textContent = formatProbability(slide.probability);
    row.append(name, p);
    row.addEventListener('click', () => { location.hash = String(slide.id); });
    return row;
  }));
  for (const th of document.querySelectorAll('#slides th')) {
    th.classList.toggle('sorted-asc', th.dataset.key === key && ascending);
    th.classList.toggle('sorted-desc', th.dataset.key === key && !ascending);
  }
}

for (const th of document.querySelectorAll('#slides th')) {
  th.addEventListener('click', () => {
    const key = th.dataset.key;
    state.sort = { key, ascending: state.sort.key === key ? !state.sort.ascending : key === 'name' };
    renderList();
  });
}

async function show(id) {
  const response = await fetch(`api/slides/${id}`);
  const detail = await response.json();
  state.detail = detail;
  renderList();
  const prediction = detail.prediction;
  $('slide-name').textContent = detail.name;
  $('slide-probability').textContent = prediction && prediction.probability !== null && prediction.probability !== undefined
    ? `p = ${formatProbability(prediction.probability)}` + describeTasks(prediction.probabilities)
    : prediction && prediction.error ? `prediction failed: ${prediction.error}` : 'no prediction';
  $('problems').replaceChildren(...detail.problems.map(text => {
    const line = document.createElement('div');
    line.textContent = text;
    return line;
  }));
  $('message').hidden = !detail.error;
  $('message').textContent = detail.error ? `This slide cannot be shown: ${detail.error}` : '';
  $('viewer').style.visibility = detail.error ? 'hidden' : 'visible';
  if (detail.error) {
    viewer.close();
  } else {
    viewer.open(`slides/${id}.dzi`);
  }
  draw();
}

function describeTasks(probabilities) {
  const tasks = Object.entries(probabilities || {});
  if (tasks.length <= 1 && tasks.every(([, p]) => p.length <= 2)) return '';
  return ' (' + tasks.map(([task, p]) => `${task}: ${p.map(formatProbability).join(', ')}`).join('; ') + ')';
}

// For the tests and for scripting the page: whether every tile of the current view is loaded and the view still.
window.ipsViewer = {
  viewer,
  state,
  zoomTo,
  settled: () => viewer.world.getItemCount() > 0 && viewer.world.getItemAt(0).getFullyLoaded()
    && Math.abs(viewer.viewport.getZoom(true) - viewer.viewport.getZoom(false)) < 1e-9
    && viewer.viewport.getCenter(true).distanceTo(viewer.viewport.getCenter(false)) < 1e-9,
};

window.addEventListener('hashchange', () => show(Number(location.hash.slice(1))));

(async () => {
  const response = await fetch('api/slides');
  const list = await response.json();
  state.slides = list.slides;
  state.maxScore = list.max_score;
  $('max-score').textContent = list.max_score.toPrecision(3);
  renderList();
  const id = location.hash ? Number(location.hash.slice(1)) : state.slides[0].id;
  await show(id);
})();
