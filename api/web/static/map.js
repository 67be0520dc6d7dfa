// The meter status map (#/map). It reads GET /api/v1/map?date= (every meter
// and concentrator with its position and the day's read status, and per-area
// counts) and draws it on a canvas, projected with Web-Mercator math: with
// no tile server there is nothing but the coordinates; when /api/v1/meta
// names a "tile_url" (https://host/{z}/{x}/{y}.png, {s} for a subdomain) and
// the positions are the archive's, the tiles are drawn underneath. Wheel or
// the buttons zoom, dragging pans; a click on a meter or inside an area's
// circle (or an area's label or row) lists that area's meters.
//
// Stable hooks for tests: #map-canvas[data-state=ready] with data-points
// (meters drawn), data-concentrators, data-tiles (tiles drawn) and
// data-tiles-wanted (tiles under the view),
// data-layout, data-draws, data-view ([cx, cy, scale, width, height]: the
// Web-Mercator point at zoom 0 in the middle, pixels per unit, the canvas's
// CSS size); .map-label[data-area] buttons with data-cx,
// data-cy (the area's centre in canvas pixels); #map-areas tbody
// tr[data-area]; #map-meters[data-area] with tbody tr[data-address]
// [data-status]; the selected meter's row has aria-selected=true.

export const STATUSES = ['read', 'estimated', 'failed', 'flagged', 'unknown'];
const COLOURS = { read: '#2e9d4f', estimated: '#e0a100', failed: '#d62728', flagged: '#7b3fbf', unknown: '#9aa3ad' };
const LABELS = { read: 'Read', estimated: 'Estimated', failed: 'Failed', flagged: 'Flagged', unknown: 'No balance' };
// drawn last = on top: the statuses someone looks for
const DRAW_ORDER = ['read', 'unknown', 'estimated', 'failed', 'flagged'];
const LIST_ORDER = ['flagged', 'failed', 'estimated', 'unknown', 'read'];
const TILE = 256;
const MAX_SCALE = TILE * 2 ** 21;

// world projects a position to Web-Mercator pixels at zoom 0 (0..256).
export function world(lat, lon) {
  const phi = (Math.max(-85.05, Math.min(85.05, lat)) * Math.PI) / 180;
  return [((lon + 180) / 360) * TILE, ((1 - Math.log(Math.tan(phi) + 1 / Math.cos(phi)) / Math.PI) / 2) * TILE];
}

export function mountMap(ctx) {
  const { $, el, int, dec } = ctx;
  const canvas = $('#map-canvas');
  const box = $('#map-box');
  const st = {
    data: null,
    meters: [], // with .wx, .wy (world) and .sx, .sy (screen, last draw)
    concs: [],
    areas: new Map(), // id -> area with .wx, .wy, .r (screen radius), .meters
    view: null, // {cx, cy, scale}: world centre and pixels per world unit
    hidden: new Set(),
    area: null,
    meter: null,
    ctl: null,
    tiles: new Map(), // url -> {img, ok}
    frame: 0,
    loadedDate: null,
  };

  // ---- projection ---------------------------------------------------------

  const size = () => [box.clientWidth, box.clientHeight];
  const toScreen = (wx, wy) => {
    const [w, h] = size();
    return [(wx - st.view.cx) * st.view.scale + w / 2, (wy - st.view.cy) * st.view.scale + h / 2];
  };
  const toWorld = (sx, sy) => {
    const [w, h] = size();
    return [(sx - w / 2) / st.view.scale + st.view.cx, (sy - h / 2) / st.view.scale + st.view.cy];
  };

  function fit() {
    const pts = [...st.meters, ...st.concs];
    const [w, h] = size();
    st.needFit = !w || !h; // hidden: fit again when drawn
    if (!pts.length || !w || !h) {
      st.view = { cx: TILE / 2, cy: TILE / 2, scale: Math.max(1, Math.min(w, h) / TILE) };
      return;
    }
    let x0 = Infinity;
    let x1 = -Infinity;
    let y0 = Infinity;
    let y1 = -Infinity;
    for (const p of pts) {
      x0 = Math.min(x0, p.wx);
      x1 = Math.max(x1, p.wx);
      y0 = Math.min(y0, p.wy);
      y1 = Math.max(y1, p.wy);
    }
    const pad = 48;
    const dx = Math.max(x1 - x0, 1e-7);
    const dy = Math.max(y1 - y0, 1e-7);
    const scale = Math.min((w - 2 * pad) / dx, (h - 2 * pad) / dy, MAX_SCALE);
    st.view = { cx: (x0 + x1) / 2, cy: (y0 + y1) / 2, scale: Math.max(scale, 1) };
  }

  function zoomAt(sx, sy, factor) {
    if (!st.view) return;
    const [wx, wy] = toWorld(sx, sy);
    const scale = Math.max(1, Math.min(MAX_SCALE, st.view.scale * factor));
    const [w, h] = size();
    st.view = { scale, cx: wx - (sx - w / 2) / scale, cy: wy - (sy - h / 2) / scale };
    draw();
  }

  // ---- drawing ------------------------------------------------------------

  let pending = false;
  function draw() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      paint();
    });
  }

  function paint() {
    const [w, h] = size();
    if (!w || !h || !st.view) return;
    if (st.needFit) fit();
    const dpr = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(h * dpr);
    }
    const g = canvas.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.fillStyle = '#f3f5f7';
    g.fillRect(0, 0, w, h);
    const tiles = drawTiles(g, w, h);

    // areas: a circle round each, the selected one filled
    for (const a of st.areas.values()) {
      [a.sx, a.sy] = toScreen(a.wx, a.wy);
      let r = 0;
      for (const m of a.meters) {
        [m.sx, m.sy] = toScreen(m.wx, m.wy);
        r = Math.max(r, Math.hypot(m.sx - a.sx, m.sy - a.sy));
      }
      a.r = r + 10;
      g.beginPath();
      g.arc(a.sx, a.sy, a.r, 0, 2 * Math.PI);
      const sel = a.id === st.area;
      g.fillStyle = sel ? 'rgba(31, 95, 191, 0.10)' : 'rgba(255, 255, 255, 0.55)';
      g.fill();
      g.lineWidth = sel ? 2 : 1;
      g.setLineDash(sel ? [] : [4, 3]);
      g.strokeStyle = sel ? '#1f5fbf' : '#8a939e';
      g.stroke();
      g.setLineDash([]);
    }

    // meters, by status so the failing ones are on top
    let points = 0;
    const drawn = {};
    for (const s of DRAW_ORDER) {
      if (st.hidden.has(s)) continue;
      g.fillStyle = COLOURS[s];
      g.strokeStyle = 'rgba(0, 0, 0, 0.45)';
      g.lineWidth = 0.75;
      for (const m of st.meters) {
        if (m.status !== s) continue;
        if (m.sx < -8 || m.sy < -8 || m.sx > w + 8 || m.sy > h + 8) continue;
        g.beginPath();
        if (m.role === 'area') g.rect(m.sx - 4.5, m.sy - 4.5, 9, 9);
        else g.arc(m.sx, m.sy, s === 'read' ? 3.5 : 4.5, 0, 2 * Math.PI);
        g.fill();
        g.stroke();
        points++;
        drawn[s] = (drawn[s] || 0) + 1;
      }
    }
    // concentrators: dark triangles
    g.fillStyle = '#1d2430';
    let concs = 0;
    for (const k of st.concs) {
      [k.sx, k.sy] = toScreen(k.wx, k.wy);
      g.beginPath();
      g.moveTo(k.sx, k.sy - 6);
      g.lineTo(k.sx + 5.5, k.sy + 4);
      g.lineTo(k.sx - 5.5, k.sy + 4);
      g.closePath();
      g.fill();
      concs++;
    }
    // the selected meter: a ring
    const sel = st.meters.find((m) => m.address === st.meter);
    if (sel) {
      g.beginPath();
      g.arc(sel.sx, sel.sy, 9, 0, 2 * Math.PI);
      g.lineWidth = 2.5;
      g.strokeStyle = '#1f5fbf';
      g.stroke();
    }
    placeLabels();

    const d = canvas.dataset;
    d.points = String(points);
    d.drawn = JSON.stringify(drawn);
    d.concentrators = String(concs);
    d.tiles = String(tiles);
    d.scale = st.view.scale.toFixed(1);
    d.view = JSON.stringify([st.view.cx, st.view.cy, st.view.scale, w, h]);
    d.draws = String(++st.frame);
  }

  // drawTiles draws the loaded tiles under the view and asks for the
  // missing ones; it returns how many it drew.
  function drawTiles(g, w, h) {
    const url = ctx.meta().tile_url;
    if (!url || !st.data || st.data.layout === 'synthetic') return 0;
    const z = Math.max(0, Math.min(19, Math.round(Math.log2(st.view.scale))));
    const n = 2 ** z;
    const ts = (TILE * st.view.scale) / n; // a tile's size on screen
    const [wx0, wy0] = toWorld(0, 0);
    const [wx1, wy1] = toWorld(w, h);
    const tx0 = Math.max(0, Math.floor((wx0 * n) / TILE));
    const tx1 = Math.min(n - 1, Math.floor((wx1 * n) / TILE));
    const ty0 = Math.max(0, Math.floor((wy0 * n) / TILE));
    const ty1 = Math.min(n - 1, Math.floor((wy1 * n) / TILE));
    const wanted = (tx1 - tx0 + 1) * (ty1 - ty0 + 1);
    canvas.dataset.tilesWanted = String(wanted);
    if (wanted > 400) return 0;
    let drawn = 0;
    for (let tx = tx0; tx <= tx1; tx++) {
      for (let ty = ty0; ty <= ty1; ty++) {
        const src = url
          .replaceAll('{z}', z)
          .replaceAll('{x}', tx)
          .replaceAll('{y}', ty)
          .replaceAll('{s}', 'abc'[(tx + ty) % 3]);
        let t = st.tiles.get(src);
        if (!t) {
          t = { img: new Image(), ok: false };
          t.img.onload = () => {
            t.ok = true;
            draw();
          };
          t.img.onerror = () => {
            t.failed = true;
            canvas.dataset.tilesFailed = String(Number(canvas.dataset.tilesFailed || 0) + 1);
          };
          t.img.src = new URL(src, document.baseURI).href;
          st.tiles.set(src, t);
        }
        if (!t.ok) continue;
        const [sx, sy] = toScreen((tx * TILE) / n, (ty * TILE) / n);
        g.drawImage(t.img, sx, sy, ts + 0.5, ts + 0.5);
        drawn++;
      }
    }
    if (st.tiles.size > 600) st.tiles.clear();
    return drawn;
  }

  // placeLabels puts each area's label button above its circle.
  function placeLabels() {
    const [w, h] = size();
    for (const b of $('#map-labels').children) {
      const a = st.areas.get(b.dataset.area);
      if (!a) continue;
      b.dataset.cx = a.sx.toFixed(1);
      b.dataset.cy = a.sy.toFixed(1);
      const y = a.sy - a.r - 12;
      b.hidden = a.sx < -40 || a.sx > w + 40 || y < -20 || y > h + 20;
      b.style.left = `${a.sx}px`;
      b.style.top = `${Math.max(2, y)}px`;
      b.setAttribute('aria-pressed', a.id === st.area ? 'true' : 'false');
    }
  }

  // ---- data ---------------------------------------------------------------

  async function load(date) {
    if (st.ctl) st.ctl.abort();
    const ctl = new AbortController();
    st.ctl = ctl;
    canvas.dataset.state = 'loading';
    let body;
    try {
      body = await ctx.withAuth(() => ctx.api('/map', { date }, ctl.signal));
    } catch (e) {
      if (ctx.isAbort(e)) return;
      canvas.dataset.state = 'error';
      ctx.setStatus(e.message, true);
      return;
    }
    if (ctl !== st.ctl) return;
    st.data = body;
    st.loadedDate = body.date || date;
    if (body.date) $('#map-date').value = body.date;
    st.meters = (body.meters || []).map((m) => {
      const [wx, wy] = world(m.lat, m.lon);
      return { ...m, wx, wy, sx: 0, sy: 0 };
    });
    st.concs = (body.concentrators || []).map((k) => {
      const [wx, wy] = world(k.lat, k.lon);
      return { ...k, wx, wy };
    });
    st.areas = new Map();
    for (const a of body.areas || []) {
      const [wx, wy] = world(a.lat, a.lon);
      st.areas.set(a.id, { ...a, wx, wy, meters: [] });
    }
    for (const m of st.meters) st.areas.get(m.area)?.meters.push(m);
    if (st.area && !st.areas.has(st.area)) st.area = null;
    $('#map-day').textContent = body.date || '';
    const layout = $('#map-layout');
    layout.textContent =
      body.layout === 'synthetic'
        ? 'The archive has no coordinates: meters are laid out around their area.'
        : body.layout === 'mixed'
          ? 'Meters without coordinates in the archive are laid out around their area.'
          : '';
    canvas.dataset.layout = body.layout || '';
    const attr = ctx.meta().tile_attribution;
    $('#map-attribution').textContent = attr || '';
    $('#map-attribution').hidden = !attr || !ctx.meta().tile_url || body.layout === 'synthetic';
    renderStatuses();
    renderAreas();
    renderLabels();
    fit();
    paint();
    renderMeters();
    canvas.dataset.state = 'ready';
    ctx.setStatus(`${int(st.meters.length)} meters in ${int(st.areas.size)} areas on ${body.date}`);
  }

  function renderStatuses() {
    const totals = {};
    for (const m of st.meters) totals[m.status] = (totals[m.status] || 0) + 1;
    const items = STATUSES.filter((s) => s !== 'unknown' || totals.unknown).map((s) => {
      const box = el('input', { type: 'checkbox', 'data-status': s, checked: !st.hidden.has(s) });
      box.addEventListener('change', () => {
        if (box.checked) st.hidden.delete(s);
        else st.hidden.add(s);
        draw();
      });
      return el('label', { class: `legend st-${s}`, 'data-status': s, 'data-count': String(totals[s] || 0) }, box, el('span', { class: 'swatch' }), ` ${LABELS[s]} ${int(totals[s] || 0)}`);
    });
    $('#map-statuses').replaceChildren(...items);
  }

  function renderAreas() {
    const rows = [...st.areas.values()].map((a) =>
      el(
        'tr',
        {
          'data-area': a.id,
          tabindex: '0',
          'aria-selected': a.id === st.area ? 'true' : 'false',
          class: a.unknown ? 'no-balance' : null,
          title: `${a.name || a.id}${a.unknown ? `: ${int(a.unknown)} meters without a balance this day` : ''}`,
        },
        el('td', null, a.id, el('span', { class: 'muted' }, ` ${a.name || ''}`)),
        el('td', { class: 'num' }, int(a.meters.length)),
        el('td', { class: 'num' }, int(a.read)),
        el('td', { class: 'num' }, a.estimated ? int(a.estimated) : ''),
        el('td', { class: 'num' }, a.failed ? el('b', { class: 'st-failed' }, int(a.failed)) : ''),
        el('td', { class: 'num' }, a.flagged ? el('b', { class: 'st-flagged' }, int(a.flagged)) : ''),
        el('td', { class: `num cls-${a.class}` }, a.rate ? dec(a.rate) : '–'),
      ),
    );
    $('#map-areas').tBodies[0].replaceChildren(...rows);
  }

  function renderLabels() {
    const btns = [...st.areas.values()].map((a) => {
      const bad = a.failed + a.flagged;
      return el('button', { type: 'button', class: 'map-label', 'data-area': a.id, title: `${a.id} ${a.name || ''}` }, a.id, bad ? el('span', { class: 'bad' }, ` ${bad}`) : null);
    });
    $('#map-labels').replaceChildren(...btns);
  }

  function renderMeters() {
    const table = $('#map-meters');
    const a = st.areas.get(st.area);
    $('#map-meters-hint').hidden = !!a;
    table.hidden = !a;
    if (!a) {
      $('#map-meters-title').textContent = 'Meters';
      delete table.dataset.area;
      return;
    }
    $('#map-meters-title').textContent = `${a.id} · ${a.name || ''} · ${int(a.meters.length)} meters`;
    const ms = [...a.meters].sort((x, y) => LIST_ORDER.indexOf(x.status) - LIST_ORDER.indexOf(y.status) || (x.role === 'area' ? -1 : 0) - (y.role === 'area' ? -1 : 0) || x.address.localeCompare(y.address));
    const rows = ms.map((m) =>
      el(
        'tr',
        { 'data-address': m.address, 'data-status': m.status, tabindex: '0', 'aria-selected': m.address === st.meter ? 'true' : 'false' },
        el('td', null, m.address),
        el('td', null, m.role),
        el('td', null, el('span', { class: `badge st-${m.status}` }, LABELS[m.status] || m.status)),
        el('td', { class: 'wrap' }, [...(m.flags || []).map((f) => f.replace(/_/g, ' ')), m.reason || ''].filter(Boolean).join(' · ')),
      ),
    );
    table.tBodies[0].replaceChildren(...rows);
    table.dataset.area = a.id;
    for (const tr of $('#map-areas').tBodies[0].rows) tr.setAttribute('aria-selected', tr.dataset.area === a.id ? 'true' : 'false');
    const cur = table.querySelector('tr[aria-selected="true"]');
    if (cur) cur.scrollIntoView({ block: 'nearest' });
  }

  function select(area, meter = null) {
    st.area = area;
    st.meter = meter;
    renderMeters();
    if (!area) for (const tr of $('#map-areas').tBodies[0].rows) tr.setAttribute('aria-selected', 'false');
    draw();
    const p = new URLSearchParams();
    if (st.loadedDate) p.set('date', st.loadedDate);
    if (area) p.set('area', area);
    ctx.setParams(p);
  }

  // hit finds what is under a canvas point: the nearest meter within 7 px,
  // else a concentrator, else the smallest area circle holding it.
  function hit(sx, sy) {
    let best = null;
    let bd = 7;
    for (const m of st.meters) {
      if (st.hidden.has(m.status)) continue;
      const d = Math.hypot(m.sx - sx, m.sy - sy);
      if (d <= bd) {
        best = m;
        bd = d;
      }
    }
    if (best) return { area: best.area, meter: best.address };
    for (const k of st.concs) if (Math.hypot(k.sx - sx, k.sy - sy) <= 7) return { area: k.area };
    let inner = null;
    for (const a of st.areas.values()) {
      if (Math.hypot(a.sx - sx, a.sy - sy) <= a.r && (!inner || a.r < inner.r)) inner = a;
    }
    return inner ? { area: inner.id } : null;
  }

  // ---- wiring -------------------------------------------------------------

  let drag = null;
  canvas.addEventListener('pointerdown', (ev) => {
    drag = { x: ev.offsetX, y: ev.offsetY, moved: false, view: { ...st.view } };
    canvas.setPointerCapture(ev.pointerId);
  });
  canvas.addEventListener('pointermove', (ev) => {
    if (!drag || !st.view) return;
    const dx = ev.offsetX - drag.x;
    const dy = ev.offsetY - drag.y;
    if (!drag.moved && Math.hypot(dx, dy) < 4) return;
    drag.moved = true;
    st.view = { ...drag.view, cx: drag.view.cx - dx / drag.view.scale, cy: drag.view.cy - dy / drag.view.scale };
    draw();
  });
  canvas.addEventListener('pointerup', (ev) => {
    const d = drag;
    drag = null;
    if (!d || d.moved || !st.data) return;
    const h = hit(ev.offsetX, ev.offsetY);
    if (h) select(h.area, h.meter || null);
    else select(null);
  });
  canvas.addEventListener('pointercancel', () => {
    drag = null;
  });
  canvas.addEventListener(
    'wheel',
    (ev) => {
      ev.preventDefault();
      zoomAt(ev.offsetX, ev.offsetY, Math.pow(1.0015, -ev.deltaY));
    },
    { passive: false },
  );
  canvas.addEventListener('dblclick', (ev) => zoomAt(ev.offsetX, ev.offsetY, 2));
  canvas.addEventListener('keydown', (ev) => {
    const [w, h] = size();
    if (ev.key === '+' || ev.key === '=') zoomAt(w / 2, h / 2, 1.5);
    else if (ev.key === '-') zoomAt(w / 2, h / 2, 1 / 1.5);
    else if (ev.key === 'Escape') select(null);
  });
  $('#map-zoom-in').addEventListener('click', () => zoomAt(...size().map((v) => v / 2), 1.5));
  $('#map-zoom-out').addEventListener('click', () => zoomAt(...size().map((v) => v / 2), 1 / 1.5));
  $('#map-fit').addEventListener('click', () => {
    fit();
    draw();
  });
  $('#map-toolbar').addEventListener('submit', (ev) => ev.preventDefault());
  $('#map-date').addEventListener('change', () => load($('#map-date').value));
  $('#map-labels').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-area]');
    if (b) select(b.dataset.area);
  });
  const pick = (ev, sel, fn) => {
    const tr = ev.target.closest(sel);
    if (tr && (ev.type === 'click' || ev.key === 'Enter' || ev.key === ' ')) {
      ev.preventDefault();
      fn(tr);
    }
  };
  for (const type of ['click', 'keydown']) {
    $('#map-areas').tBodies[0].addEventListener(type, (ev) => pick(ev, 'tr[data-area]', (tr) => select(tr.dataset.area)));
    $('#map-meters').tBodies[0].addEventListener(type, (ev) => pick(ev, 'tr[data-address]', (tr) => select(st.area, tr.dataset.address)));
  }
  new ResizeObserver(() => {
    if (st.view) draw();
  }).observe(box);

  return {
    show(params) {
      // no date: the server's default, the last complete day (not the
      // last one analysed, whose freezes may not all be in)
      const date = params.get('date') || $('#map-date').value || '';
      const area = params.get('area');
      if (area) st.area = area;
      if (!st.data || date !== st.loadedDate) {
        $('#map-date').value = date;
        if (ctx.meta().first_day) $('#map-date').min = ctx.meta().first_day;
        if (ctx.meta().last_day) $('#map-date').max = ctx.meta().last_day;
        load(date);
      } else {
        renderMeters();
        draw();
      }
    },
  };
}
