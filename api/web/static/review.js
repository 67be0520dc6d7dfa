// The review findings (#/review): what the review rules found in a range of
// days (GET /api/v1/review?from&to: meter exchanges whose removal reading is
// below what was billed, meters answering on a bus that the archive does not
// hold, area meters whose multiplier disagrees with their CT and PT, ...) and
// what the archive checks found (GET /api/v1/archive/checks). A finding is
// {rule, severity, area, concentrator, meter, day, summary, evidence:
// [{what, meter, time, value, unit}]}; both lists are shown worst first, each finding with its
// evidence to expand, and filtered in the page by area and rule.
//
// Stable hooks for tests: #review-findings[data-state=ready] and
// #archive-checks[data-state=ready]; tbody tr.finding[data-rule]
// [data-severity][data-area][data-meter]; li[data-testid=evidence].

const SEVERITY = ['high', 'medium', 'low'];

const rank = (s) => {
  const i = SEVERITY.indexOf(s);
  return i < 0 ? SEVERITY.length : i;
};

// byWorst orders findings by severity, then the latest day first, then rule.
export function byWorst(a, b) {
  return rank(a.severity) - rank(b.severity) || String(b.day || '').localeCompare(String(a.day || '')) || String(a.rule).localeCompare(String(b.rule));
}

export const ruleName = (r) => String(r || '').replace(/_/g, ' ');

function evidenceLine(e, f) {
  const value = e.value ? `${e.value}${e.unit ? ' ' + e.unit : ''}` : '';
  return [e.what, e.meter && e.meter !== f.meter ? `meter ${e.meter}` : '', e.time, value].filter(Boolean).join(' · ');
}

function evidence(ctx, f) {
  const ev = f.evidence || [];
  if (!ev.length) return f.summary || '';
  const { el } = ctx;
  return el(
    'details',
    null,
    el('summary', null, f.summary || ruleName(f.rule), el('span', { class: 'muted' }, ` · evidence (${ev.length})`)),
    el('ul', { class: 'evidence' }, ...ev.map((e) => el('li', { 'data-testid': 'evidence' }, evidenceLine(e, f)))),
  );
}

// findingRows is two table rows a finding: its facts, then its summary
// with the evidence to expand.
export function findingRows(ctx, f) {
  const { el } = ctx;
  return [
    el(
      'tr',
      { class: 'finding', 'data-rule': f.rule, 'data-severity': f.severity, 'data-area': f.area || '', 'data-meter': f.meter || '', 'data-testid': 'finding' },
      el('td', null, el('span', { class: `sev sev-${f.severity}` }, f.severity || '')),
      el('td', null, ruleName(f.rule)),
      el('td', null, f.area || '–'),
      el('td', null, f.meter || (f.concentrator ? `concentrator ${f.concentrator}` : '–')),
      el('td', null, f.day || ''),
    ),
    el('tr', { class: 'finding-more' }, el('td', { colspan: '5' }, evidence(ctx, f))),
  ];
}

// findingList is a compact list of findings (an inspection's evidence).
export function findingList(ctx, findings) {
  const { el } = ctx;
  return el(
    'ul',
    { class: 'findings-list' },
    ...[...findings].sort(byWorst).map((f) =>
      el(
        'li',
        { 'data-rule': f.rule, 'data-testid': 'insp-finding' },
        el('span', { class: `sev sev-${f.severity}` }, f.severity || ''),
        ' ',
        el('b', null, ruleName(f.rule)),
        el('span', { class: 'muted' }, ` ${[f.area, f.meter, f.day].filter(Boolean).join(' · ')}`),
        el('div', null, evidence(ctx, f)),
      ),
    ),
  );
}

export function mountReview(ctx) {
  const { $, el, int } = ctx;
  let ctl = null;
  let shown = null;
  const data = { findings: [], checks: [] };

  function render() {
    const area = $('#review-area').value;
    const rule = $('#review-rule').value;
    const keep = (f) => (!area || f.area === area) && (!rule || f.rule === rule);
    const fill = (sel, list, nSel, emptySel) => {
      const rows = list.filter(keep).sort(byWorst);
      $(sel).tBodies[0].replaceChildren(...rows.flatMap((f) => findingRows(ctx, f)));
      $(sel).hidden = rows.length === 0;
      $(emptySel).hidden = rows.length > 0;
      $(nSel).textContent = rows.length ? `(${int(rows.length)})` : '';
      $(sel).dataset.state = 'ready';
      return rows;
    };
    const f = fill('#review-findings', data.findings, '#review-n', '#review-empty');
    const c = fill('#archive-checks', data.checks, '#checks-n', '#checks-empty');
    const high = [...f, ...c].filter((x) => x.severity === 'high').length;
    $('#review-count').textContent = `${int(f.length + c.length)} findings, ${int(high)} high`;
    if (shown) ctx.setStatus(`${int(f.length)} review findings ${shown.from || '…'} to ${shown.to || '…'}, ${int(c.length)} from the archive checks`);
  }

  // choices fills the area and rule filters from what was found, each
  // with its count, keeping the current choice when it is still there.
  function choices() {
    const all = [...data.findings, ...data.checks];
    for (const [sel, key, none, label] of [
      ['#review-area', 'area', 'all areas', (k) => k],
      ['#review-rule', 'rule', 'all rules', ruleName],
    ]) {
      const n = new Map();
      for (const f of all) if (f[key]) n.set(f[key], (n.get(f[key]) || 0) + 1);
      const keys = [...n.keys()].sort();
      const s = $(sel);
      const cur = s.value;
      s.replaceChildren(el('option', { value: '' }, none), ...keys.map((k) => el('option', { value: k }, `${label(k)} (${int(n.get(k))})`)));
      s.value = keys.includes(cur) ? cur : '';
    }
  }

  async function load() {
    const from = $('#review-from').value;
    const to = $('#review-to').value;
    if (ctl) ctl.abort();
    const my = new AbortController();
    ctl = my;
    for (const s of ['#review-findings', '#archive-checks']) $(s).dataset.state = 'loading';
    const [r, c] = await Promise.allSettled([
      ctx.withAuth(() => ctx.api('/review', { from, to }, my.signal)),
      ctx.withAuth(() => ctx.api('/archive/checks', {}, my.signal)),
    ]);
    if (my !== ctl) return;
    for (const [res, key, sel] of [
      [r, 'findings', '#review-findings'],
      [c, 'checks', '#archive-checks'],
    ]) {
      if (res.status === 'fulfilled') data[key] = res.value.findings || [];
      else if (!ctx.isAbort(res.reason)) {
        data[key] = [];
        ctx.setStatus(res.reason.message, true);
        $(sel).dataset.error = res.reason.message;
      }
    }
    shown = { from, to };
    choices();
    render();
    if (r.status === 'rejected') $('#review-findings').dataset.state = 'error';
    if (c.status === 'rejected') $('#archive-checks').dataset.state = 'error';
    const q = new URLSearchParams();
    if (from) q.set('from', from);
    if (to) q.set('to', to);
    if ($('#review-area').value) q.set('area', $('#review-area').value);
    ctx.setParams(q);
  }

  $('#review-toolbar').addEventListener('submit', (ev) => ev.preventDefault());
  $('#review-from').addEventListener('change', load);
  $('#review-to').addEventListener('change', load);
  $('#review-area').addEventListener('change', render);
  $('#review-rule').addEventListener('change', render);

  return {
    show(q) {
      // by default the last 30 days the analysis has (the API takes a year at most)
      const m = ctx.meta();
      const to = q.get('to') || $('#review-to').value || m.last_day || '';
      let from = q.get('from') || $('#review-from').value;
      if (!from && to) {
        const d = new Date(`${to}T00:00:00Z`);
        d.setUTCDate(d.getUTCDate() - 29);
        from = d.toISOString().slice(0, 10);
        if (m.first_day && from < m.first_day) from = m.first_day;
      }
      from = from || '';
      if (shown && shown.from === from && shown.to === to) return;
      $('#review-from').value = from;
      $('#review-to').value = to;
      if (q.get('area')) $('#review-area').replaceChildren(el('option', { value: q.get('area') }, q.get('area')));
      load();
    },
  };
}
