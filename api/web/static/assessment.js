// The targets and assessment page (#/assessment): GET
// /api/v1/assessment?period=YYYY-MM&by=area|responsible, each row an area
// (or a responsible person) with its loss target, actual rate, whether it
// qualified, the previous period and the change, and the collection rate.
// The CSV link fetches the same with format=csv (the token cannot ride on a
// plain link) and saves it; Print prints the page with the print styles of
// app.css (only the sheet, with a heading and a signature line).
//
// Stable hooks for tests: #assessment[data-state=ready][data-period][data-by],
// tbody tr[data-key][data-qualified]; #assess-csv[data-state=done]
// [data-bytes] after a download.

export function mountAssessment(ctx) {
  const { $, el, dec } = ctx;
  const table = $('#assessment');
  let ctl = null;
  let shown = null; // the period and by of the table drawn

  function params() {
    return { period: $('#assess-period').value, by: $('#assess-by').value };
  }

  async function load() {
    const p = params();
    if (ctl) ctl.abort();
    const my = new AbortController();
    ctl = my;
    table.dataset.state = 'loading';
    let body;
    try {
      body = await ctx.withAuth(() => ctx.api('/assessment', p, my.signal));
    } catch (e) {
      if (ctx.isAbort(e)) return;
      table.dataset.state = 'error';
      ctx.setStatus(e.message, true);
      return;
    }
    if (my !== ctl) return;
    if (body.period) $('#assess-period').value = body.period;
    shown = { period: body.period || p.period, by: p.by };
    render(body.rows || [], shown, body);
    const q = new URLSearchParams();
    if (shown.period) q.set('period', shown.period);
    q.set('by', shown.by);
    ctx.setParams(q);
  }

  function render(rows, { period, by }, body = {}) {
    const byArea = by !== 'responsible';
    $('#assess-key').textContent = byArea ? 'Area' : 'Responsible';
    $('#assess-resp').textContent = byArea ? 'Responsible' : 'Areas';
    $('#assess-resp').classList.toggle('num', !byArea);
    const title = `Line loss assessment · ${period || 'latest period'} · by ${byArea ? 'area' : 'responsible person'}`;
    $('#assess-title').textContent = title;
    $('#assess-printed').textContent = `Printed ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC from the head-end.`;
    const fmt = (s) => (s === '' || s == null ? '–' : dec(s));
    const trs = rows.map((r) =>
      el(
        'tr',
        { 'data-key': r.key, 'data-qualified': String(!!r.qualified), 'data-testid': 'assess-row' },
        el('td', { title: (r.areas || []).join(', ') }, r.key, r.name ? el('span', { class: 'muted' }, ` ${r.name}`) : null),
        byArea ? el('td', null, r.responsible || '–') : el('td', { class: 'num' }, r.areas ? String(r.areas.length) : '–'),
        el('td', { class: 'num' }, fmt(r.target)),
        el('td', { class: `num ${r.target && !r.qualified ? 'bad' : ''}` }, fmt(r.actual)),
        el('td', null, result(r)),
        el('td', { class: 'num' }, fmt(r.previous)),
        el('td', { class: 'num' }, change(r.change)),
        el('td', { class: 'num' }, fmt(r.collection_rate)),
        el('td', { class: 'num' }, fmt(r.supply)),
        el('td', { class: 'num' }, fmt(r.loss)),
      ),
    );
    table.tBodies[0].replaceChildren(...trs);
    $('#assess-empty').hidden = rows.length > 0;
    const ok = body.qualified ?? rows.filter((r) => r.qualified).length;
    const of = body.assessed ?? rows.length;
    $('#assess-summary').textContent = rows.length ? `${ok} of ${of} qualified` : '';
    table.dataset.period = period || '';
    table.dataset.by = by;
    table.dataset.state = 'ready';
    ctx.setStatus(`${rows.length} rows, ${period || 'latest period'}`);
  }

  function result(r) {
    if (!r.target) return el('span', { class: 'badge' }, 'no target');
    if (r.actual === '' || r.actual == null) return el('span', { class: 'badge' }, 'not computable');
    return el('span', { class: `badge ${r.qualified ? 'ok' : 'fail'}` }, r.qualified ? 'qualified' : 'not qualified');
  }

  // change shows a change of rate with its sign and whether it is better.
  function change(s) {
    if (s === '' || s == null) return '–';
    const v = Number(s);
    const text = (v > 0 && !String(s).startsWith('+') ? '+' : '') + dec(s);
    return el('span', { class: v > 0 ? 'worse' : v < 0 ? 'better' : '' }, text);
  }

  async function download(ev) {
    ev.preventDefault();
    const a = $('#assess-csv');
    const p = shown || params();
    a.dataset.state = 'loading';
    try {
      const text = await ctx.withAuth(() => ctx.request('GET', '/assessment', { params: { ...p, format: 'csv' }, text: true }));
      const url = URL.createObjectURL(new Blob([text], { type: 'text/csv' }));
      const save = el('a', { href: url, download: `assessment-${p.period || 'latest'}-by-${p.by}.csv` });
      document.body.append(save);
      save.click();
      save.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      a.dataset.bytes = String(new Blob([text]).size);
      a.dataset.state = 'done';
    } catch (e) {
      a.dataset.state = 'error';
      ctx.setStatus(e.message, true);
    }
  }

  $('#assess-toolbar').addEventListener('submit', (ev) => ev.preventDefault());
  $('#assess-period').addEventListener('change', load);
  $('#assess-by').addEventListener('change', load);
  $('#assess-csv').addEventListener('click', download);
  $('#assess-print').addEventListener('click', () => window.print());

  return {
    show(q) {
      const last = ctx.meta().last_day;
      const period = q.get('period') || $('#assess-period').value || (last ? last.slice(0, 7) : '');
      const by = q.get('by') === 'responsible' ? 'responsible' : q.get('by') === 'area' ? 'area' : $('#assess-by').value;
      if (shown && shown.period === period && shown.by === by) return;
      $('#assess-period').value = period;
      $('#assess-by').value = by;
      load();
    },
  };
}
