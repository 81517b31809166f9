// Upgradekit dashboard. Plain JavaScript, no library, no build step. It reads and acts only
// through repo-server's typed /v1 API (the same as the CLI) with the session cookie, polls with
// ETags, and puts everything the server says into the page as text (textContent, never markup):
// node ids, labels and error messages come from nodes and are treated as hostile.
'use strict';

(function () {
  const POLL = { report: 2000, series: 5000, list: 3000, inventory: 5000, node: 4000, releases: 15000, expiries: 30000 };
  const SVG = 'http://www.w3.org/2000/svg';
  let session = null; // {operator, role, csrfToken, expires}
  let route = 0; // increases on every navigation: polls of an older route stop
  let sessionGeneration = 0; // increases on every login and logout: the expiry banner's poll of an older one stops
  const etags = new Map(); // url -> {etag, data}

  // ---- DOM helpers: text only ----
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k === 'onclick') el.addEventListener('click', v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    append(el, children);
    return el;
  }
  function append(el, children) {
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  function svg(tag, attrs) {
    const el = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
    return el;
  }
  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }
  const $ = (id) => document.getElementById(id);
  const path = (...parts) => parts.map(encodeURIComponent).join('/');

  function ago(iso) {
    if (!iso) return '—';
    const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
    if (s < 0) return 'in ' + span(-s);
    return span(s) + ' ago';
  }
  function span(s) {
    if (s < 90) return s + ' s';
    if (s < 5400) return Math.round(s / 60) + ' min';
    if (s < 172800) return Math.round(s / 3600) + ' h';
    return Math.round(s / 86400) + ' d';
  }
  function time(iso) { return h('time', { datetime: iso, title: iso, text: ago(iso) }); }
  function duration(ms) { return ms < 1000 ? ms + ' ms' : (ms / 1000).toFixed(ms < 10000 ? 1 : 0) + ' s'; }
  function bytes(n) {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? n : n.toFixed(1)) + ' ' + units[i];
  }
  function num(x, digits) { return x === null || x === undefined ? '—' : Number(x).toFixed(digits); }
  function badge(text, kind) { return h('span', { class: 'badge ' + (kind || text), text: text }); }
  function shortKey(id) { return h('code', { title: id, text: id.slice(0, 12) }); }

  // ---- the API ----
  class ApiError extends Error {
    constructor(status, code, message) { super(message); this.status = status; this.code = code; }
  }
  async function api(method, url, body) {
    const headers = { Accept: 'application/json' };
    const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    if (method !== 'GET' && session) headers['X-CSRF-Token'] = session.csrfToken;
    const known = method === 'GET' ? etags.get(url) : undefined;
    if (known) headers['If-None-Match'] = known.etag;
    const res = await fetch(url, init);
    if (res.status === 304 && known) return known.data;
    if (res.status === 204) return null;
    let data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    if (!res.ok) {
      const err = new ApiError(res.status, data && data.code, (data && data.message) || res.statusText);
      if (res.status === 401 && session) loggedOut(err.message);
      throw err;
    }
    const etag = res.headers.get('ETag');
    if (method === 'GET' && etag) {
      etags.set(url, { etag, data });
      if (etags.size > 200) etags.delete(etags.keys().next().value);
    }
    return data;
  }

  // Polls url every ms while the route lasts; render gets the data when it changed.
  function poll(url, ms, render, onError) {
    const mine = route;
    let last = null;
    let ticks = 0;
    async function tick() {
      if (mine !== route || !session) return;
      if (document.hidden) { setTimeout(tick, ms); return; } // a background tab costs the server nothing
      try {
        const data = await api('GET', typeof url === 'function' ? url() : url);
        if (mine !== route) return;
        // unchanged data (a 304) is drawn again now and then, for the relative times
        if (data !== last || ++ticks % 5 === 0) { last = data; render(data); }
        live(true);
      } catch (e) {
        if (mine !== route) return;
        live(false);
        if (onError) onError(e);
      }
      setTimeout(tick, ms);
    }
    tick();
  }
  function live(ok) {
    const el = $('live');
    el.textContent = (ok ? 'live · updated ' : 'not reachable · tried ') + new Date().toLocaleTimeString();
    el.classList.toggle('stale', !ok);
  }

  // ---- session ----
  async function start() {
    $('login-form').addEventListener('submit', login);
    $('logout').addEventListener('click', logout);
    $('action-cancel').addEventListener('click', () => $('action-dialog').close());
    window.addEventListener('hashchange', navigate);
    try {
      session = await api('GET', '/v1/sessions/current');
      enter();
    } catch (e) {
      showLogin(e.status === 401 ? '' : e.message);
    }
  }
  async function login(ev) {
    ev.preventDefault();
    $('login-error').textContent = '';
    try {
      session = await api('POST', '/v1/sessions', { token: $('token').value });
      $('token').value = '';
      enter();
    } catch (e) {
      $('login-error').textContent = e.message;
    }
  }
  async function logout() {
    try { await api('DELETE', '/v1/sessions/current'); } catch (e) { /* ended anyway */ }
    loggedOut('');
  }
  function loggedOut(why) {
    session = null;
    route++;
    sessionGeneration++;
    $('expiry').hidden = true;
    etags.clear();
    showLogin(why);
  }
  function showLogin(why) {
    $('top').hidden = true;
    clear($('view'));
    $('login').hidden = false;
    $('login-error').textContent = why || '';
    $('token').focus();
  }
  function enter() {
    $('login').hidden = true;
    $('top').hidden = false;
    $('who').textContent = session.operator + ' (' + session.role + ')';
    navigate();
    watchExpiries();
  }

  // ---- the expiry banner, on every page: signed documents that expired or expire soon ----
  function watchExpiries() {
    const mine = ++sessionGeneration;
    async function tick() {
      if (mine !== sessionGeneration || !session) return;
      try {
        expiryBanner(await api('GET', '/v1/expiries'));
      } catch (e) {
        if (e.status === 401 || e.status === 403) return;
      }
      setTimeout(tick, POLL.expiries);
    }
    tick();
  }
  function expiryBanner(expiries) {
    const box = clear($('expiry'));
    const warned = expiries.documents.filter((d) => d.warning);
    box.hidden = warned.length === 0;
    if (box.hidden) return;
    box.appendChild(h('strong', { text: warned.length === 1 ? '1 signed document needs attention'
      : warned.length + ' signed documents need attention' }));
    box.appendChild(h('ul', {}, warned.map((d) => h('li', { 'data-path': d.path, text: d.warning }))));
    box.appendChild(h('p', { class: 'hint' }, 'Warned ' + span(expiries.warnBeforeSeconds) + ' ahead (--expiry-warning). ',
      h('a', { href: '#/releases', text: 'Releases' }), ' has every document.'));
  }
  const mayAct = () => session && session.role === 'operator';

  // ---- routing ----
  function navigate() {
    if (!session) return;
    route++;
    const hash = location.hash.replace(/^#\/?/, '');
    const [page, query] = hash.split('?');
    const parts = page.split('/').map(decodeURIComponent);
    for (const id of ['rollouts', 'inventory', 'releases']) $('nav-' + id).classList.toggle('current', parts[0] === id);
    const view = clear($('view'));
    if (parts[0] === 'rollouts' && parts.length === 3) rolloutPage(view, parts[1], parts[2]);
    else if (parts[0] === 'sets' && parts.length === 3) setPage(view, parts[1], parts[2]);
    else if (parts[0] === 'inventory') inventoryPage(view, new URLSearchParams(query || ''));
    else if (parts[0] === 'nodes' && parts.length === 2) nodePage(view, parts[1]);
    else if (parts[0] === 'releases') releasesPage(view);
    else rolloutsPage(view);
  }

  // ---- Rollouts ----
  function rolloutsPage(view) {
    view.appendChild(h('h1', { text: 'Rollouts' }));
    const sets = view.appendChild(h('div', { id: 'sets' }));
    const box = view.appendChild(h('div'));
    poll('/v1/sets', POLL.list, (list) => {
      clear(sets);
      if (list.sets.length === 0) return; // no release set runs: the page is the rollouts'
      sets.appendChild(h('h2', { text: 'Release sets' }));
      const rows = list.sets.map((s) => h('tr', {},
        h('td', {}, h('a', { href: '#/sets/' + path(s.name, s.version), class: 'set-link', text: s.name + ' ' + s.version })),
        h('td', {}, badge(s.status), s.paused ? [' ', badge('paused')] : null),
        h('td', { class: 'num', text: s.complete + ' of ' + s.components }),
        h('td', { class: 'message', text: s.reason || '—' }),
        h('td', {}, s.lastAt ? time(s.lastAt) : '—')));
      sets.appendChild(h('table', {}, h('thead', {}, h('tr', {}, ['set', 'status', 'components done', 'now', 'last decision'].map((t) => h('th', { text: t })))), h('tbody', {}, rows)));
      sets.appendChild(h('h2', { text: 'Rollouts' }));
    }, () => clear(sets));
    poll('/v1/rollouts', POLL.list, (list) => {
      clear(box);
      if (!list.controller) box.appendChild(h('p', { class: 'warning', text: 'This server runs no rollout controller (no --rollout-key-file): nothing advances and nodes wait.' }));
      if (list.rollouts.length === 0) {
        box.appendChild(h('p', { class: 'hint', text: 'No live rollout: no channel names a release with a rollout plan.' }));
        return;
      }
      const rows = list.rollouts.map((r) => h('tr', {},
        h('td', {}, h('a', { href: '#/rollouts/' + path(r.app, r.version), class: 'rollout-link', text: r.app + ' ' + r.version })),
        h('td', {}, badge(r.status), r.paused ? [' ', badge('paused')] : null),
        h('td', { class: 'num', text: r.waves ? r.openWaves + ' of ' + r.waves : '—' }),
        h('td', { class: 'num', text: String(r.decisions) }),
        h('td', {}, r.last || '—'),
        h('td', {}, r.lastAt ? time(r.lastAt) : '—')));
      box.appendChild(h('table', {}, h('thead', {}, h('tr', {}, ['rollout', 'status', 'waves open', 'decisions', 'last decision', 'when'].map((t) => h('th', { text: t })))), h('tbody', {}, rows)));
    }, (e) => showError(box, e));
  }

  function rolloutPage(view, app, version) {
    const base = '/v1/rollouts/' + path(app, version);
    view.appendChild(h('p', {}, h('a', { href: '#/rollouts', text: '← all rollouts' })));
    const title = view.appendChild(h('h1', { id: 'rollout-title' }, app + ' ' + version));
    const status = title.appendChild(h('span', { id: 'rollout-status' }));
    const summary = view.appendChild(h('div', { class: 'card summary', id: 'rollout-summary' }));
    const buttons = view.appendChild(h('div', { class: 'actions', id: 'actions' }));
    const waves = view.appendChild(h('div', { class: 'waves', id: 'waves' }));
    view.appendChild(h('h2', { text: 'Canary judge: upgraded vs old, over the same minutes' }));
    const judge = view.appendChild(h('p', { id: 'judge' }));
    const charts = view.appendChild(h('div', { class: 'charts', id: 'charts' }));
    view.appendChild(h('h2', { text: 'Plan' }));
    const plan = view.appendChild(h('div', { id: 'plan' }));
    view.appendChild(h('h2', { text: 'Rollback drills' }));
    const drills = view.appendChild(h('div', { id: 'drills' }));
    view.appendChild(h('h2', { text: 'Action log' }));
    const log = view.appendChild(h('div', { id: 'log' }));
    let report = null;
    poll(base + '?nodesPerWave=200', POLL.report, (r) => {
      report = r;
      clear(status).append(' ', badge(r.status), r.paused ? ' ' : '', r.paused ? badge('paused') : '');
      renderSummary(summary, r);
      renderButtons(buttons, r, app, version);
      renderWaves(waves, r);
      clear(judge);
      if (r.judge) append(judge, [badge(r.judge.outcome), ' ', r.judge.reason || '']);
      else judge.textContent = 'No verdict before the rollout starts.';
      renderPlan(plan, r.plan);
      renderDrills(drills, r.drills || []);
      renderLog(log, r.decisions);
    }, (e) => showError(summary, e));
    poll(base + '/series', POLL.series, (s) => renderCharts(charts, s, report), () => {});
  }

  function renderSummary(box, r) {
    clear(box);
    const committed = r.waves.reduce((n, w) => n + w.committed, 0);
    const fleet = r.fleet || r.waves.reduce((n, w) => n + w.size, 0);
    const item = (label, ...value) => h('div', {}, h('span', { class: 'label', text: label }), ...value);
    const bar = (part, whole, cls) => h('div', { class: 'bar ' + (cls || '') + (cls && part >= whole ? ' full' : '') }, widthSpan(whole ? part / whole : 0));
    append(box, [
      item('progress', committed + ' of ' + fleet + ' nodes on ' + r.version, bar(committed, fleet)),
      item('slots', r.budget === undefined ? '—' : r.busy + ' of ' + r.budget + ' busy', r.budget === undefined ? null : bar(r.busy, r.budget, 'slots')),
      item('waves open', r.waves.length ? r.openWaves + ' of ' + r.waves.length : '—'),
      item('bake left', r.bakeLeftSeconds ? span(r.bakeLeftSeconds) : '—'),
      item('channels', r.channels.join(', ')),
      item('fleet came from', r.fromVersion || '—'),
      item('stay available', r.minAvailable === undefined ? '—' : r.minAvailable + ' of ' + r.fleet),
      item('signed state', r.stateSequence === undefined ? 'none yet' : '#' + r.stateSequence + ', expires ', r.stateExpires ? time(r.stateExpires) : ''),
      r.blockedReason ? item('blocked', h('span', { class: 'warning', text: r.blockedReason })) : null,
    ]);
  }
  function widthSpan(fraction) {
    const s = document.createElement('span');
    s.style.width = Math.max(0, Math.min(100, fraction * 100)).toFixed(1) + '%'; // CSSOM: allowed by the CSP
    return s;
  }

  const ACTIONS = [
    { action: 'start', label: 'Start now', help: 'Starts the rollout now with the fleet as known (the server starts it by itself after --rollout-start-delay).', applies: (r) => r.status === 'not-started' || r.status === 'blocked' },
    { action: 'pause', label: 'Pause', help: 'No node starts an update; running ones finish.', applies: (r) => (r.status === 'active' || r.status === 'complete') && !r.paused },
    { action: 'resume', label: 'Resume', help: 'Undoes a pause or a halt.', applies: (r) => r.paused || r.status === 'halted' },
    { action: 'approve', label: 'Approve next wave', help: 'Lets the next wave open once its gate passes (manual approval).', applies: (r) => r.status === 'active' && r.openWaves < r.waves.length },
    { action: 'halt', label: 'Halt', help: 'Nobody else installs; nodes that installed stay.', applies: (r) => r.status === 'active', danger: true },
    { action: 'recall', label: 'Recall', help: 'Halts, and every node on the release switches back to the version it came from, wave by wave.', applies: (r) => ['active', 'halted', 'complete'].includes(r.status) && !!r.fromVersion, danger: true },
    { action: 'retry', label: 'Retry a node', help: 'The node\'s last failure no longer counts; it tries again.', applies: (r) => r.waves.length > 0, node: true },
  ];
  // The buttons are made once and then only enabled or disabled, so that a poll never replaces
  // the button under the operator's pointer.
  function renderButtons(box, r, app, version) {
    if (!mayAct()) {
      if (!box.firstChild) box.appendChild(h('span', { class: 'hint', text: 'You are a viewer: actions need the operator role.' }));
      return;
    }
    if (!box.firstChild) {
      for (const a of ACTIONS) {
        box.appendChild(h('button', { type: 'button', id: 'action-' + a.action, class: a.danger ? 'danger' : null,
          onclick: () => askAction(a, app, version) }, a.label));
      }
    }
    for (const a of ACTIONS) $('action-' + a.action).disabled = !a.applies(r);
  }
  function askAction(a, app, version, node, url) {
    const dialog = $('action-dialog');
    $('action-title').textContent = a.label + ': ' + (url ? 'release set ' : '') + app + ' ' + version;
    $('action-help').textContent = a.help;
    $('action-node-row').hidden = !a.node;
    $('action-node').required = !!a.node;
    $('action-node').value = node || '';
    $('action-reason').value = '';
    $('action-error').textContent = '';
    $('action-submit').textContent = a.label;
    $('action-form').onsubmit = async (ev) => {
      ev.preventDefault();
      const body = { action: a.action, reason: $('action-reason').value.trim() };
      if (a.node) body.node = $('action-node').value.trim();
      try {
        await api('POST', url || '/v1/rollouts/' + path(app, version) + '/actions', body);
        dialog.close();
      } catch (e) {
        $('action-error').textContent = (e.code ? e.code + ': ' : '') + e.message;
      }
    };
    dialog.showModal();
    (a.node && !node ? $('action-node') : $('action-reason')).focus();
  }

  // ---- Release sets ----
  const SET_ACTIONS = [
    { action: 'pause', label: 'Pause set', help: 'No component starts; the rolling ones are paused (their nodes finish what they started).', applies: (r) => r.status === 'running' && !r.paused },
    { action: 'resume', label: 'Resume set', help: 'The set goes on; the components it paused, and every halted component, are resumed.', applies: (r) => r.paused || r.status === 'halted' },
    { action: 'halt', label: 'Halt set', help: 'No component starts; the rolling ones are halted (nobody else installs).', applies: (r) => r.status === 'running', danger: true },
    { action: 'recall', label: 'Recall set', help: 'The components the set rolled go back, top-down, each inside its own availability budget.', applies: (r) => ['running', 'halted', 'complete'].includes(r.status), danger: true },
  ];
  function setPage(view, name, version) {
    const base = '/v1/sets/' + path(name, version);
    view.appendChild(h('p', {}, h('a', { href: '#/rollouts', text: '← all rollouts' })));
    const title = view.appendChild(h('h1', { id: 'set-title' }, 'release set ' + name + ' ' + version));
    const status = title.appendChild(h('span', { id: 'set-status' }));
    const summary = view.appendChild(h('div', { class: 'card summary', id: 'set-summary' }));
    const buttons = view.appendChild(h('div', { class: 'actions', id: 'set-actions' }));
    view.appendChild(h('h2', { text: 'Components, in dependency order' }));
    const components = view.appendChild(h('div', { id: 'set-components' }));
    view.appendChild(h('h2', { text: 'Contracts' }));
    const contracts = view.appendChild(h('div', { id: 'set-contracts' }));
    view.appendChild(h('h2', { text: 'Action log' }));
    const log = view.appendChild(h('div', { id: 'log' }));
    poll(base, POLL.report, (r) => {
      clear(status).append(' ', badge(r.status), r.paused ? ' ' : '', r.paused ? badge('paused') : '');
      clear(summary);
      const item = (label, ...value) => h('div', {}, h('span', { class: 'label', text: label }), ...value);
      append(summary, [
        item('now', r.reason || '—'),
        item('order', r.steps.map((step, i) => (i + 1) + '. ' + step.join(' + ')).join('  ')),
        item('strategy', r.strategy + ', rollback_policy ' + r.rollbackPolicy),
        item('signed set state', r.stateSequence === undefined ? 'none yet' : '#' + r.stateSequence + ', expires ', r.stateExpires ? time(r.stateExpires) : ''),
      ]);
      if (!mayAct()) {
        if (!buttons.firstChild) buttons.appendChild(h('span', { class: 'hint', text: 'You are a viewer: actions need the operator role.' }));
      } else {
        if (!buttons.firstChild) {
          for (const a of SET_ACTIONS) {
            buttons.appendChild(h('button', { type: 'button', id: 'set-action-' + a.action, class: a.danger ? 'danger' : null,
              onclick: () => askAction(a, name, version, null, base + '/actions') }, a.label));
          }
        }
        for (const a of SET_ACTIONS) $('set-action-' + a.action).disabled = !a.applies(r);
      }
      clear(components);
      const rows = r.components.map((c) => h('tr', {},
        h('td', {}, c.rollout ? h('a', { href: '#/rollouts/' + path(c.app, c.version), text: c.app + ' ' + c.version }) : c.app + ' ' + c.version),
        h('td', {}, badge(c.status)),
        h('td', { text: c.dependsOn.join(', ') || '—' }),
        h('td', { text: c.waitingFor.join(', ') || '—' }),
        h('td', {}, c.rollout ? badge(c.rollout) : '—', c.rolloutPaused ? [' ', badge('paused')] : null),
        h('td', { class: 'num', text: c.waves ? c.openWaves + ' of ' + c.waves : '—' }),
        h('td', { class: 'message', text: c.note || '' })));
      components.appendChild(h('table', {}, h('thead', {}, h('tr', {}, ['component', 'status', 'depends on', 'waiting for', 'its rollout', 'waves open', 'note'].map((t) => h('th', { text: t })))), h('tbody', {}, rows)));
      clear(contracts);
      if (r.contracts.length === 0) contracts.appendChild(h('p', { class: 'hint', text: 'The set has no compatibility contracts.' }));
      else contracts.appendChild(h('table', {}, h('thead', {}, h('tr', {}, ['contract', 'met', 'nodes outside', 'detail'].map((t) => h('th', { text: t })))),
        h('tbody', {}, r.contracts.map((c) => h('tr', {}, h('td', { text: c.contract }), h('td', {}, badge(c.met ? 'met' : 'unmet')),
          h('td', { class: 'num', text: c.outside + ' of ' + c.nodes }), h('td', { class: 'message', text: c.detail }))))));
      renderLog(log, r.decisions);
    }, (e) => showError(summary, e));
  }

  function renderWaves(box, r) {
    clear(box);
    if (r.waves.length === 0) {
      box.appendChild(h('p', { class: 'hint', text: 'The waves are assigned when the rollout starts.' }));
      return;
    }
    for (const w of r.waves) {
      const nodes = h('div', { class: 'nodes' }, w.nodes.map((n) => h('a', {
        class: 'node ' + n.state, href: '#/nodes/' + path(n.node), 'data-node': n.node, 'data-state': n.state,
        title: n.node + ': ' + n.state + (n.version ? ', runs ' + n.version : '') + (n.available ? '' : ', unavailable') + (n.healthy ? '' : ', unhealthy'),
      }, n.node)));
      if (w.nodes.length < w.size) nodes.appendChild(h('span', { class: 'more', text: '+' + (w.size - w.nodes.length) + ' more (counted above)' }));
      box.appendChild(h('div', { class: 'wave ' + w.status, 'data-wave': w.wave, 'data-status': w.status },
        h('div', { class: 'head' }, h('strong', { text: (w.wave + 1) + '. ' + w.name }), badge(w.status),
          h('span', { class: 'counts', text: w.size + ' nodes: ' + w.committed + ' committed, ' + w.failed + ' failed, ' + w.updating + ' updating, ' + w.pending + ' pending, ' + w.skipped + ' unavailable' })),
        nodes));
    }
  }

  function renderPlan(box, p) {
    clear(box);
    const rb = p.rollback || {};
    const rows = [
      ['strategy', p.strategy],
      ['canary', p.canaryNodes !== undefined ? p.canaryNodes + ' nodes' : p.canaryPercent !== undefined ? p.canaryPercent + '%' : 'default (1 node)'],
      ['minAvailable', p.minAvailableNodes !== undefined ? p.minAvailableNodes + ' nodes' : p.minAvailablePercent !== undefined ? p.minAvailablePercent + '%' : 'default'],
      ['bakeTime', (p.bakeSeconds || 0) + ' s'],
      ['maxFailures', p.maxFailures !== undefined ? String(p.maxFailures) : p.maxFailuresPercent !== undefined ? p.maxFailuresPercent + '%' : '0'],
      ['approval', p.approval || 'auto'],
      ['rollbackPolicy', (rb.mode || 'manual') + ': error rate × ' + (rb.errorRateFactor || 3) + ', latency × ' + (rb.latencyFactor || 2) + ' within ' + (rb.windowSeconds || 300) + ' s (' + (rb.combine || 'any') + ')'],
      ['waveLabel', p.waveLabel || '—'],
    ];
    box.appendChild(h('table', { class: 'plan' }, h('tbody', {}, rows.map(([k, v]) => h('tr', {}, h('th', { text: k }), h('td', { text: v }))))));
  }

  // updater drill: back to the previous version and forward again, the newest per node.
  function renderDrills(box, drills) {
    clear(box);
    if (drills.length === 0) {
      box.appendChild(h('p', { class: 'hint', text: 'No node of this release ran "updater drill" yet (docs/runbook.md, rollback drill).' }));
      return;
    }
    const secs = (x) => x === undefined || x === null ? '—' : x.toFixed(1) + ' s';
    const rows = drills.map((d) => h('tr', { class: d.backOutcome !== 'ROLLED_BACK' || (d.forwardOutcome && d.forwardOutcome !== 'COMMITTED') ? 'warn' : null },
      h('td', {}, h('a', { href: '#/nodes/' + encodeURIComponent(d.node), text: d.node })), h('td', {}, time(d.at)),
      h('td', { text: d.previous }), h('td', { text: d.backOutcome }), h('td', { class: 'num', text: secs(d.backSeconds) }),
      h('td', { text: d.forwardOutcome || 'not reported yet' }), h('td', { class: 'num', text: secs(d.forwardSeconds) }),
      h('td', { class: 'num', text: d.requests === undefined ? '—' : d.requestsFailed + ' of ' + d.requests }),
      h('td', { class: 'num', text: secs(d.longestGapSeconds) })));
    box.appendChild(h('table', { id: 'drill-table' }, h('thead', {}, h('tr', {}, ['node', 'when', 'back to', 'back', 'time to recover', 'forward', 'time forward', 'requests failed', 'longest gap'].map((t) => h('th', { text: t })))), h('tbody', {}, rows)));
  }

  function renderLog(box, decisions) {
    clear(box);
    const rows = decisions.slice().reverse().map((d) => h('tr', {},
      h('td', { class: 'num', text: '#' + d.sequence }), h('td', {}, time(d.at)), h('td', {}, h('strong', { text: d.kind })),
      h('td', { text: d.actor }), h('td', { class: 'message', text: d.reason })));
    box.appendChild(h('table', { id: 'action-log' }, h('thead', {}, h('tr', {}, ['#', 'when', 'what', 'who', 'why'].map((t) => h('th', { text: t })))), h('tbody', {}, rows)));
  }

  // The judge's figures over its window as two small inline SVG charts.
  function renderCharts(box, s, report) {
    clear(box);
    box.appendChild(chart('error rate', s, 'ErrorRate', s.errorRateFactor, 0.001, (x) => x.toFixed(4)));
    box.appendChild(chart('latency (s)', s, 'Latency', s.latencyFactor, 0.005, (x) => x.toFixed(3)));
    box.appendChild(h('div', { class: 'legend' },
      h('span', {}, h('span', { class: 'key upgraded' }), 'on ' + s.version),
      h('span', {}, h('span', { class: 'key baseline' }), 'still on the old version'),
      h('span', {}, h('span', { class: 'key limit' }), 'limit (old × factor)'),
      h('span', { text: 'last ' + span(s.windowSeconds) + ', ' + s.bucketSeconds + ' s buckets' })));
  }
  function chart(title, s, field, factor, floor, fmt) {
    const W = 320, H = 110, L = 44, B = 16, T = 6;
    const end = Date.parse(s.generatedAt), start = end - s.windowSeconds * 1000;
    const pts = s.points;
    const limit = (p) => p['baseline' + field] === undefined ? undefined : Math.max(p['baseline' + field], floor) * factor;
    let max = floor * factor;
    for (const p of pts) for (const v of [p['upgraded' + field], p['baseline' + field], limit(p)]) if (v !== undefined && v > max) max = v;
    const x = (iso) => L + (W - L - 4) * Math.max(0, (Date.parse(iso) - start) / (end - start));
    const y = (v) => T + (H - T - B) * (1 - v / max);
    const el = svg('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': title });
    el.appendChild(svg('line', { class: 'axis', x1: L, y1: H - B, x2: W - 4, y2: H - B }));
    el.appendChild(svg('line', { class: 'axis', x1: L, y1: T, x2: L, y2: H - B }));
    for (const [v, label] of [[max, fmt(max)], [0, '0']]) {
      const t = svg('text', { x: 2, y: y(v) + 3 });
      t.textContent = label;
      el.appendChild(t);
    }
    const t = svg('text', { x: L, y: H - 3 });
    t.textContent = '−' + span(s.windowSeconds);
    el.appendChild(t);
    const line = (get, cls) => {
      const d = pts.filter((p) => get(p) !== undefined).map((p, i) => (i ? 'L' : 'M') + x(p.at).toFixed(1) + ' ' + y(get(p)).toFixed(1)).join(' ');
      if (d) el.appendChild(svg('path', { class: cls, d }));
    };
    line(limit, 'limit');
    line((p) => p['baseline' + field], 'baseline');
    line((p) => p['upgraded' + field], 'upgraded');
    return h('div', { class: 'chart', 'data-chart': field }, h('div', { class: 'title', text: title }), el);
  }

  // ---- Inventory ----
  function inventoryPage(view, params) {
    view.appendChild(h('h1', { text: 'Inventory' }));
    const counts = view.appendChild(h('div', { class: 'versions', id: 'versions' }));
    const form = view.appendChild(h('form', { class: 'filters', id: 'filters' }));
    const field = (name, label, input) => h('div', {}, h('label', { for: 'f-' + name, text: label }), input);
    const text = (name, placeholder) => h('input', { id: 'f-' + name, name, value: params.get(name) || '', placeholder, size: 12 });
    const status = h('select', { id: 'f-status', name: 'status' }, ['', 'available', 'unavailable', 'unhealthy', 'updating', 'failed'].map((v) => h('option', { value: v, selected: params.get('status') === v, text: v || 'any' })));
    append(form, [field('q', 'search', text('q', 'node or label')), field('app', 'app', text('app', 'any')), field('version', 'version', text('version', 'any')),
      field('label', 'label', text('label', 'zone=a')), field('status', 'status', status), h('button', { type: 'submit', text: 'Filter' })]);
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const next = new URLSearchParams();
      for (const el of form.querySelectorAll('input, select')) if (el.value) next.set(el.name, el.value);
      for (const k of ['sort', 'order']) if (params.get(k)) next.set(k, params.get(k));
      location.hash = '#/inventory?' + next.toString();
    });
    const table = view.appendChild(h('div', { id: 'inventory' }));
    const pager = view.appendChild(h('div', { class: 'pager' }));
    const query = new URLSearchParams(params);
    if (!query.get('limit')) query.set('limit', '100');
    poll('/v1/inventory?' + query.toString(), POLL.inventory, (page) => {
      clear(counts);
      for (const [app, versions] of Object.entries(page.versions)) {
        counts.appendChild(h('div', { class: 'card' }, h('strong', { text: app }), h('table', {}, h('tbody', {},
          Object.entries(versions).map(([v, n]) => h('tr', {}, h('td', {}, h('a', { href: '#/inventory?' + new URLSearchParams({ app, version: v }).toString(), text: v })), h('td', { class: 'num', text: String(n) })))))));
      }
      renderInventory(table, page, params);
      clear(pager);
      const offset = page.offset, limit = page.limit;
      const go = (o) => { const p = new URLSearchParams(params); p.set('offset', String(o)); location.hash = '#/inventory?' + p.toString(); };
      append(pager, [h('button', { type: 'button', class: 'quiet', disabled: offset === 0, onclick: () => go(Math.max(0, offset - limit)) }, '← previous'),
        h('span', { text: (page.matched ? offset + 1 : 0) + '–' + Math.min(page.matched, offset + limit) + ' of ' + page.matched + ' matching (' + page.total + ' in all)' }),
        h('button', { type: 'button', class: 'quiet', disabled: offset + limit >= page.matched, onclick: () => go(offset + limit) }, 'next →')]);
    }, (e) => showError(table, e));
  }
  function renderInventory(box, page, params) {
    clear(box);
    const sort = params.get('sort') || 'node', desc = params.get('order') === 'desc';
    const head = (label, key) => {
      if (!key) return h('th', { text: label });
      const p = new URLSearchParams(params);
      p.set('sort', key);
      p.set('order', sort === key && !desc ? 'desc' : 'asc');
      p.delete('offset');
      return h('th', { class: 'sortable', onclick: () => { location.hash = '#/inventory?' + p.toString(); } }, label + (sort === key ? (desc ? ' ▼' : ' ▲') : ''));
    };
    const rows = page.nodes.map((n) => h('tr', { 'data-node': n.node },
      h('td', {}, h('a', { href: '#/nodes/' + path(n.node), text: n.node })),
      h('td', { text: n.app }), h('td', { text: n.version || '—' }),
      h('td', { class: 'labels' }, Object.entries(n.labels).map(([k, v]) => h('span', { text: k + '=' + v }))),
      h('td', {}, n.lastHeartbeat ? time(n.lastHeartbeat) : 'never'),
      h('td', {}, health(n)), h('td', { text: n.state || '—' }),
      h('td', {}, n.lastOutcome ? badge(n.lastOutcome) : '—', n.lastErrorCode ? [' ', h('code', { text: n.lastErrorCode })] : null)));
    box.appendChild(h('table', {}, h('thead', {}, h('tr', {}, head('node', 'node'), head('app', 'app'), head('version', 'version'), head('labels'),
      head('last heartbeat', 'lastHeartbeat'), head('health', 'health'), head('update state', 'state'), head('last event'))), h('tbody', {}, rows)));
  }
  function health(n) {
    if (!n.available) return badge('unavailable');
    if (n.healthy === false) return badge('unhealthy', 'bad');
    return badge(n.healthy === true ? 'healthy' : 'up', 'ok');
  }

  // ---- Node ----
  function nodePage(view, node) {
    view.appendChild(h('p', {}, h('a', { href: '#/inventory', text: '← inventory' })));
    view.appendChild(h('h1', { id: 'node-title', text: 'Node ' + node }));
    const apps = view.appendChild(h('div', { id: 'node-apps' }));
    view.appendChild(h('h2', { text: 'History' }));
    const events = view.appendChild(h('div', { id: 'events' }));
    poll('/v1/nodes/' + path(node), POLL.node, (n) => {
      clear(apps);
      for (const a of n.apps) {
        apps.appendChild(h('div', { class: 'card summary' },
          h('div', {}, h('span', { class: 'label', text: 'app' }), a.app + (a.channel ? ' (' + a.channel + ')' : '')),
          h('div', {}, h('span', { class: 'label', text: 'version' }), a.version || '—'),
          h('div', {}, h('span', { class: 'label', text: 'health' }), health(a)),
          h('div', {}, h('span', { class: 'label', text: 'update state' }), a.state || '—'),
          h('div', {}, h('span', { class: 'label', text: 'last heartbeat' }), a.lastHeartbeat ? time(a.lastHeartbeat) : 'never'),
          h('div', {}, h('span', { class: 'label', text: 'error rate / latency' }), num(a.errorRate, 4) + ' / ' + num(a.latency, 3) + ' s'),
          h('div', {}, h('span', { class: 'label', text: 'labels' }), h('span', { class: 'labels' }, Object.entries(a.labels).map(([k, v]) => h('span', { text: k + '=' + v }))))));
      }
      clear(events);
      if (n.events.length === 0) events.appendChild(h('p', { class: 'hint', text: 'No reported event yet.' }));
      for (const e of n.events) events.appendChild(eventCard(e));
      if (n.moreEvents) events.appendChild(h('p', { class: 'hint', text: n.moreEvents + ' older events are not shown.' }));
    }, (e) => showError(apps, e));
  }
  function eventCard(e) {
    const card = h('div', { class: 'card event ' + e.outcome, 'data-event': e.eventId },
      h('div', { class: 'head' }, h('strong', { text: e.app + ' ' + (e.fromVersion || 'nothing') + ' → ' + e.toVersion }), ' ', badge(e.outcome), ' ',
        time(e.sentAt), ' · ' + duration(e.durationMillis) + ' · ended in ' + e.finalState));
    if (e.errorCode) {
      card.appendChild(h('p', {}, h('code', { text: e.errorCode }), ' ', h('span', { class: 'message event-message', text: e.message || '' })));
      if (e.fix) card.appendChild(h('p', { class: 'fix' }, h('strong', { text: 'What to do: ' }), e.fix));
    }
    const steps = e.steps.map((s) => h('tr', { class: s.outcome === 'FAILED' ? 'warn' : null },
      h('td', {}, h('strong', { text: s.state })), h('td', {}, h('time', { datetime: s.startedAt, title: s.startedAt, text: new Date(s.startedAt).toLocaleTimeString() })),
      h('td', { class: 'num', text: duration(s.durationMillis) }), h('td', {}, badge(s.outcome, s.outcome === 'OK' ? 'ok' : s.outcome === 'FAILED' ? 'bad' : 'warn')),
      h('td', {}, s.errorCode ? h('code', { text: s.errorCode }) : ''), h('td', { class: 'message', text: s.message || '' }), h('td', { class: 'fix-cell', text: s.fix || '' })));
    card.appendChild(h('table', { class: 'trail' }, h('thead', {}, h('tr', {}, ['state', 'start', 'duration', 'outcome', 'code', 'message', 'what to do'].map((t) => h('th', { text: t })))), h('tbody', {}, steps)));
    if (e.metrics) {
      card.appendChild(h('h3', { text: 'Metrics: baseline and watched' }));
      card.appendChild(h('table', { class: 'metrics' }, h('tbody', {}, Object.entries(e.metrics).map(([k, v]) => h('tr', {}, h('td', {}, h('code', { text: k })), h('td', { class: 'num', text: String(v) }))))));
    }
    if (e.notes) {
      card.appendChild(h('h3', { text: 'Notes' }));
      card.appendChild(h('ul', {}, e.notes.map((n) => h('li', {}, h('time', { datetime: n.at, title: n.at, text: new Date(n.at).toLocaleTimeString() }), ' ' + n.state + ' ' + n.level + ': ', h('span', { class: 'message', text: n.message })))));
    }
    return card;
  }

  // ---- Releases ----
  function releasesPage(view) {
    view.appendChild(h('h1', { text: 'Releases' }));
    const box = view.appendChild(h('div', { id: 'releases' }));
    poll('/v1/releases', POLL.releases, (o) => {
      clear(box);
      if (o.trustRoot) {
        box.appendChild(h('p', { class: o.trustRoot.warning ? 'warning' : null }, 'Trust root version ' + o.trustRoot.version + ', expires ', time(o.trustRoot.expires),
          ', signed by ', o.trustRoot.keyIds.map(shortKey), o.trustRoot.warning ? ' — ' + o.trustRoot.warning : ''));
      }
      for (const a of o.apps) {
        const card = box.appendChild(h('div', { class: 'card', 'data-app': a.app }, h('h2', { text: a.app })));
        card.appendChild(h('h3', { text: 'Channels' }));
        card.appendChild(h('table', {}, h('thead', {}, h('tr', {}, ['channel', 'version', 'sequence', 'expires', 'signed by', ''].map((t) => h('th', { text: t })))),
          h('tbody', {}, a.channels.map((c) => h('tr', { class: c.warning ? 'warn' : null }, h('td', { text: c.channel }), h('td', { text: c.version }), h('td', { class: 'num', text: String(c.sequence) }),
            h('td', {}, time(c.expires)), h('td', {}, c.keyIds.map(shortKey)), h('td', { class: 'warning', text: c.warning || '' }))))));
        card.appendChild(h('h3', { text: 'Releases' }));
        card.appendChild(h('table', {}, h('thead', {}, h('tr', {}, ['version', 'sequence', 'built', 'package', 'deltas', 'signed by', 'expires', 'channels', 'rollout state', ''].map((t) => h('th', { text: t })))),
          h('tbody', {}, a.releases.map((r) => h('tr', { class: r.warning || (r.rollout && r.rollout.warning) ? 'warn' : null, 'data-version': r.version },
            h('td', {}, h('strong', { text: r.version })), h('td', { class: 'num', text: String(r.sequence) }), h('td', {}, r.created ? time(r.created) : '—'),
            h('td', { class: 'num', text: bytes(r.packageSize) }),
            h('td', {}, r.deltas.length ? r.deltas.map((d) => h('div', { text: 'from ' + d.fromVersion + ': ' + bytes(d.size) })) : '—'),
            h('td', {}, r.keyIds.map(shortKey)), h('td', {}, time(r.expires)), h('td', { text: r.channels.join(', ') || '—' }),
            h('td', {}, r.rollout ? ['#' + r.rollout.sequence + ' ' + r.rollout.action + ', expires ', time(r.rollout.expires)] : r.strategy ? 'plan: ' + r.strategy : '—'),
            h('td', { class: 'warning', text: [r.warning, r.rollout && r.rollout.warning].filter(Boolean).join('; ') }))))));
        if (a.moreReleases) card.appendChild(h('p', { class: 'hint', text: a.moreReleases + ' older releases are not listed.' }));
      }
    }, (e) => showError(box, e));
  }

  function showError(box, e) {
    clear(box).appendChild(h('p', { class: 'error', text: (e.code ? e.code + ': ' : '') + e.message }));
  }

  document.addEventListener('DOMContentLoaded', start);
})();
