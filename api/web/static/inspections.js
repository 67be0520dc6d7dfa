// The inspection list (#/inspections): GET /api/v1/inspections?month=YYYY-MM,
// areas and lines ranked for a site visit, each with the findings behind it.
// An open item has a form to mark it checked with what was found there (and,
// optionally, the fault energy to add back, which the API proposes as a
// correction): POST /api/v1/inspections/{id}/check {"finding",
// "fault_energy": {"meter", "from", "to", "kwh"}}, answered with {"item"}. Marking needs the edit_reads permission; a refusal is shown on
// the item.
//
// Stable hooks for tests: #inspections[data-state=ready]; .insp[data-id]
// [data-status]; its .insp-check form with textarea[name=finding] and a
// submit button; .insp-result once checked; .form-error on a refusal.

import { findingList } from './review.js';

export function mountInspections(ctx) {
  const { $, el, dec, int } = ctx;
  const list = $('#inspections');
  let ctl = null;
  let shownMonth = null;

  async function load() {
    const month = $('#insp-month').value;
    if (ctl) ctl.abort();
    const my = new AbortController();
    ctl = my;
    list.dataset.state = 'loading';
    let body;
    try {
      body = await ctx.withAuth(() => ctx.api('/inspections', { month }, my.signal));
    } catch (e) {
      if (ctx.isAbort(e)) return;
      list.dataset.state = 'error';
      ctx.setStatus(e.message, true);
      return;
    }
    if (my !== ctl) return;
    shownMonth = body.month || month;
    if (body.month) $('#insp-month').value = body.month;
    const items = body.items || [];
    list.replaceChildren(...items.map(item));
    $('#insp-empty').hidden = items.length > 0;
    count();
    list.dataset.state = 'ready';
    const q = new URLSearchParams();
    if (shownMonth) q.set('month', shownMonth);
    ctx.setParams(q);
  }

  function count() {
    const all = list.querySelectorAll('.insp').length;
    const open = list.querySelectorAll('.insp[data-status="open"]').length;
    $('#insp-count').textContent = all ? `${int(open)} open, ${int(all - open)} checked` : '';
    ctx.setStatus(`${int(all)} items to inspect${shownMonth ? ' in ' + shownMonth : ''}`);
  }

  function item(it) {
    const ev = it.evidence || [];
    const head = el(
      'header',
      null,
      el('span', { class: 'rank' }, `#${it.rank ?? ''}`),
      el('span', { class: 'badge kind' }, it.kind || ''),
      el('strong', null, it.target || ''),
      it.score != null ? el('span', { class: 'muted' }, ` score ${typeof it.score === 'number' ? it.score.toFixed(2) : it.score}`) : null,
      el('span', { class: `badge status-${it.status}` }, it.status === 'checked' ? 'checked' : 'open'),
      figures(it),
    );
    const art = el(
      'article',
      { class: 'insp', 'data-id': it.id, 'data-status': it.status, 'data-testid': 'inspection' },
      head,
      el('p', { class: 'summary' }, it.summary || ''),
      ev.length ? el('details', null, el('summary', null, `Evidence: ${ev.length} finding${ev.length > 1 ? 's' : ''}`), findingList(ctx, ev)) : null,
    );
    if (it.status === 'checked') art.append(result(it));
    else art.append(form(it));
    return art;
  }

  // figures are the item's loss figures, those it has.
  function figures(it) {
    const f = [
      it.rate ? `loss ${dec(it.rate)} %` : '',
      it.threshold ? `target ${dec(it.threshold)} %` : '',
      it.change ? `change ${dec(it.change)} points` : '',
      it.unexplained ? `unexplained ${dec(it.unexplained)} points` : '',
    ].filter(Boolean);
    return f.length ? el('span', { class: 'muted figures' }, f.join(' · ')) : null;
  }

  function result(it) {
    const fe = it.fault_energy;
    return el(
      'p',
      { class: 'insp-result' },
      el('b', null, 'Found: '),
      it.finding || '–',
      el('span', { class: 'muted' }, ` · ${[it.checked_by, it.checked_at].filter(Boolean).join(', ')}`),
      fe && fe.kwh
        ? el(
            'span',
            { class: 'fault' },
            ` · fault energy ${dec(fe.kwh)} kWh${fe.meter ? ' on ' + fe.meter : ''}, ${fe.from || '?'} to ${fe.to || '?'}`,
            fe.correction ? ` (correction ${fe.correction}, to be approved)` : '',
          )
        : null,
    );
  }

  function form(it) {
    const f = el(
      'form',
      { class: 'insp-check', 'data-id': it.id },
      el('label', { class: 'finding' }, 'What was found', el('textarea', { name: 'finding', rows: '2', required: true, placeholder: 'e.g. area meter faulty from 2025-06-10, replaced' })),
      el(
        'fieldset',
        null,
        el('legend', null, 'Fault energy to add back (optional)'),
        el('label', null, 'From ', el('input', { type: 'date', name: 'from' })),
        el('label', null, 'To ', el('input', { type: 'date', name: 'to' })),
        el('label', null, 'kWh ', el('input', { type: 'text', name: 'kwh', inputmode: 'decimal', pattern: '\\d+(\\.\\d+)?', size: '8' })),
        el('label', null, 'Meter ', el('input', { type: 'text', name: 'meter', size: '12', placeholder: it.kind === 'line' ? 'required' : 'area meter' })),
      ),
      el('button', { type: 'submit' }, 'Mark checked'),
      el('p', { class: 'form-error', role: 'alert', hidden: true }),
    );
    f.addEventListener('submit', (ev) => {
      ev.preventDefault();
      check(it, f);
    });
    return f;
  }

  async function check(it, f) {
    const v = (n) => f.elements[n].value.trim();
    const body = { finding: v('finding') };
    if (!body.finding) return;
    if (v('kwh') || v('from') || v('to')) {
      body.fault_energy = { from: v('from'), to: v('to'), kwh: v('kwh') };
      if (v('meter')) body.fault_energy.meter = v('meter');
    }
    const err = f.querySelector('.form-error');
    const btn = f.querySelector('button[type=submit]');
    btn.disabled = true;
    err.hidden = true;
    f.dataset.state = 'sending';
    try {
      const res = await ctx.withAuth(() => ctx.request('POST', `/inspections/${encodeURIComponent(it.id)}/check`, { json: body }));
      // the API answers {"item": ..., "correction": ...}
      const done = (res && (res.item || (res.id && res))) || { ...it, ...body, status: 'checked' };
      f.closest('.insp').replaceWith(item(done));
      count();
    } catch (e) {
      err.textContent = e instanceof ctx.HTTPError && e.status === 403 ? `Not allowed: ${e.message} (marking needs the edit_reads permission)` : e.message;
      err.hidden = false;
      f.dataset.state = 'error';
      btn.disabled = false;
    }
  }

  $('#insp-toolbar').addEventListener('submit', (ev) => ev.preventDefault());
  $('#insp-month').addEventListener('change', load);

  return {
    show(q) {
      const last = ctx.meta().last_day;
      const month = q.get('month') || $('#insp-month').value || (last ? last.slice(0, 7) : '');
      if (shownMonth !== null && month === shownMonth) return;
      $('#insp-month').value = month;
      load();
    },
  };
}
