// jifen portal: resident, reviewer, verifier and administrator pages. No inline scripts (CSP);
// every call goes to this origin's JSON API; errors show the API's Chinese message.
'use strict';

const STATUS = {
  APPLICATION_STATUS_DRAFT: '草稿', APPLICATION_STATUS_SUBMITTED: '已提交（街道初审）', APPLICATION_STATUS_RETURNED: '退回补正',
  APPLICATION_STATUS_DISTRICT_REVIEW: '区级复核', APPLICATION_STATUS_DEPARTMENT_VERIFICATION: '部门核查',
  APPLICATION_STATUS_CITY_REVIEW: '市级终审', APPLICATION_STATUS_SCORED: '待确认积分', APPLICATION_STATUS_CONFIRMED: '已确认积分',
  APPLICATION_STATUS_RANKED: '已排名', APPLICATION_STATUS_PUBLICISED: '公示中', APPLICATION_STATUS_ADMITTED: '已录取/准入',
  APPLICATION_STATUS_NOT_ADMITTED: '未录取', APPLICATION_STATUS_REJECTED: '不予受理', APPLICATION_STATUS_WITHDRAWN: '已撤回',
};
const BENEFIT = { school: '积分入学', settlement: '积分落户', medical: '积分入医', talent: '积分入苏' };
const OUTCOME_ZH = { LIST_OUTCOME_ADMITTED: '录取/准入', LIST_OUTCOME_REALLOCATION: '调剂', LIST_OUTCOME_NOT_ADMITTED: '未录取', LIST_OUTCOME_INELIGIBLE: '不符合条件' };
const FACT_CHOICES = {
  education: [['none', '无'], ['high_school', '高中/中职'], ['junior_college', '大专'], ['bachelor', '本科'], ['master', '硕士'], ['doctor', '博士']],
  skill_level: [['none', '无'], ['L5', '五级'], ['L4', '四级'], ['L3', '三级'], ['L2', '二级/技师'], ['L1', '一级/高级技师']],
  professional_title: [['none', '无'], ['junior', '初级'], ['intermediate', '中级'], ['senior', '副高及以上']],
};
const BOOL_FACTS = new Set(['veteran', 'poverty_relief_origin', 'residence_permit_valid', 'insurance_active', 'serious_criminal_record']);

const params = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);

function setText(id, text) { const n = $(id); if (n) n.textContent = text; }
function fail(id) { return (e) => setText(id, e.message); }
function csrf() { const m = document.cookie.match(/(?:^|;\s*)jifen_csrf=([^;]+)/); return m ? m[1] : ''; }

async function call(path, { method = 'GET', body, tenant, retried } = {}) {
  const headers = { Accept: 'application/json' };
  if (tenant) headers['X-Jifen-Tenant'] = tenant;
  if (method !== 'GET') { headers['X-CSRF-Token'] = csrf(); headers['Content-Type'] = 'application/json'; }
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.status === 401 && !retried && !path.startsWith('/api/v1/session')) {
    const refreshed = await fetch('/api/v1/session/refresh', { method: 'POST', headers: { 'X-CSRF-Token': csrf() } });
    if (refreshed.ok) return call(path, { method, body, tenant, retried: true });
  }
  if (response.status === 204) return {};
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(data.detail || '请求失败，请稍后重试');
    error.status = response.status;
    throw error;
  }
  return data;
}

function node(tag, text, attrs = {}) {
  const n = document.createElement(tag);
  if (text !== undefined && text !== null) n.textContent = String(text);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
  return n;
}
function row(cells) {
  const tr = node('tr');
  for (const c of cells) { const td = node('td'); if (c instanceof Node) td.appendChild(c); else td.textContent = c === undefined || c === null ? '' : String(c); tr.appendChild(td); }
  return tr;
}
function button(text, onClick, cls) { const b = node('button', text, { type: 'button' }); if (cls) b.className = cls; b.addEventListener('click', onClick); return b; }
function day(ts) { return ts ? String(ts).slice(0, 10) : ''; }
function key() { return (crypto.randomUUID && crypto.randomUUID()) || String(Date.now()) + Math.random(); }
function today(offset = 0) { const d = new Date(Date.now() + offset * 86400000); return d.toISOString().slice(0, 10); }

let tenantsCache;
async function districts() {
  if (!tenantsCache) tenantsCache = (await call('/api/v1/tenants')).tenants;
  return tenantsCache.filter((t) => t.kind !== 'city');
}
async function fillTenantSelect(select, selected) {
  if (!select) return;
  for (const t of await districts()) select.appendChild(node('option', t.name, { value: t.code }));
  if (selected) select.value = selected;
}

let meCache;
async function me() {
  if (meCache === undefined) meCache = await call('/api/v1/me').catch(() => null);
  return meCache;
}
function roles(account) { return (account && account.roles || []).map((r) => r.role); }

async function initNav() {
  const account = await me();
  const login = $('nav-login');
  if (account && login) { login.textContent = '退出'; login.href = '/me#logout'; }
}

// ---------- sessions
function initRegister() {
  $('register-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    setText('register-error', '');
    try {
      await call('/api/v1/accounts', { method: 'POST', body: {
        name: $('reg-name').value, id_number: $('reg-id').value, mobile: $('reg-mobile').value,
        password: $('reg-password').value, residence_permit_number: $('reg-permit').value,
      } });
      location.href = '/me';
    } catch (e) { setText('register-error', e.message); }
  });
}

function initLogin() {
  $('login-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    setText('login-error', '');
    try {
      await call('/api/v1/session', { method: 'POST', body: { login: $('login-name').value, password: $('login-password').value } });
      location.href = params.get('next') || '/me';
    } catch (e) { setText('login-error', e.message); }
  });
}

async function initMe() {
  const account = await me();
  if (!account) { location.href = '/login?next=/me'; return; }
  const staff = account.kind === 'ACCOUNT_KIND_STAFF';
  setText('me-title', staff ? '工作台' : '我的申请');
  setText('me-who', `${account.name || (account.person && account.person.name_masked) || ''}（${staff ? '工作人员' : '申请人'}）`);
  $('logout').addEventListener('click', async () => { await call('/api/v1/session', { method: 'DELETE' }).catch(() => {}); location.href = '/'; });
  $('password-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await call('/api/v1/me/password', { method: 'POST', body: { current_password: $('pw-current').value, new_password: $('pw-new').value } });
      setText('password-result', '密码已修改');
    } catch (e) { setText('password-result', e.message); }
  });
  const links = $('staff-links');
  const r = roles(account);
  const add = (href, text) => { links.appendChild(node('a', text, { href, class: 'button-link' })); };
  if (r.some((x) => ['ROLE_STREET_REVIEWER', 'ROLE_DISTRICT_REVIEWER', 'ROLE_CITY_REVIEWER'].includes(x))) add('/review', '审核队列');
  if (r.includes('ROLE_DEPARTMENT_VERIFIER')) add('/verify', '部门核查');
  if (r.some((x) => ['ROLE_DISTRICT_ADMIN', 'ROLE_CITY_ADMIN'].includes(x))) add('/admin', '区级管理');
  if (r.includes('ROLE_CITY_ADMIN')) add('/city', '市级总览');
  if (staff) { $('applicant-links').classList.add('hidden'); return; }
  const tbody = $('my-apps');
  const lists = await Promise.all((await districts()).map((t) => call('/api/v1/my-applications', { tenant: t.code }).then((d) => d.applications || []).catch(() => [])));
  for (const app of lists.flat()) {
    const link = node('a', app.application_number || app.application_id, { href: `/application?id=${app.application_id}&t=${app.tenant}` });
    tbody.appendChild(row([link, `${app.tenant} ${BENEFIT[app.benefit] || app.benefit}`, STATUS[app.status] || app.status, app.total || '']));
  }
  if (!tbody.children.length) tbody.appendChild(row(['暂无申请', '', '', '']));
  const inbox = await call('/api/v1/inbox').catch(() => ({ messages: [] }));
  for (const m of inbox.messages || []) {
    const li = node('li'); li.appendChild(node('strong', m.title_zh)); li.appendChild(node('p', m.body_zh)); $('inbox').appendChild(li);
  }
  if (!$('inbox').children.length) $('inbox').appendChild(node('li', '暂无消息', { class: 'muted' }));
}

// ---------- resident
async function initApply() {
  if (!(await me())) { location.href = '/login?next=/apply'; return; }
  const tenant = $('apply-tenant');
  await fillTenantSelect(tenant);
  const refresh = async () => {
    setText('apply-error', '');
    const cycles = $('apply-cycle');
    cycles.textContent = '';
    try {
      const data = await call(`/api/v1/public-cycles?tenant=${tenant.value}&benefit=${$('apply-benefit').value}`);
      for (const c of data.cycles || []) cycles.appendChild(node('option', `${c.name_zh}（${c.year}）`, { value: c.cycle_id }));
      if (!cycles.children.length) setText('apply-error', '该地区此事项暂无开放的申报期');
    } catch (e) { setText('apply-error', e.message); }
    const streets = await call(`/api/v1/streets?tenant=${tenant.value}`).catch(() => ({ streets: [] }));
    const list = $('street-options');
    list.textContent = '';
    for (const s of streets.streets || []) list.appendChild(node('option', s.name_zh, { value: s.code }));
  };
  tenant.addEventListener('change', refresh);
  $('apply-benefit').addEventListener('change', refresh);
  await refresh();
  $('apply-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const app = await call('/api/v1/applications', { method: 'POST', tenant: tenant.value, body: { cycle_id: $('apply-cycle').value, street_code: $('apply-street').value, idempotency_key: key() } });
      location.href = `/application?id=${app.application_id}&t=${tenant.value}`;
    } catch (e) { setText('apply-error', e.message); }
  });
}

async function sha256Hex(buffer) {
  const digest = await crypto.subtle.digest('SHA-256', buffer);
  return Array.from(new Uint8Array(digest)).map((b) => b.toString(16).padStart(2, '0')).join('');
}

function putWithProgress(url, file, headers, progress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    for (const [k, v] of Object.entries(headers || {})) {
      if (!['host', 'content-length'].includes(k.toLowerCase())) xhr.setRequestHeader(k, v);
    }
    xhr.setRequestHeader('X-CSRF-Token', csrf());
    xhr.upload.addEventListener('progress', (e) => { if (e.lengthComputable) progress.value = Math.round((e.loaded / e.total) * 100); });
    xhr.addEventListener('load', () => {
      if (xhr.status < 300) { progress.value = 100; resolve(); return; }
      let detail = '上传失败，请重试';
      try { detail = JSON.parse(xhr.responseText).detail || detail; } catch (_) { /* not JSON */ }
      reject(new Error(detail));
    });
    xhr.addEventListener('error', () => reject(new Error('网络中断，上传失败，请重试')));
    xhr.send(file);
  });
}

async function uploadEvidence(app, tenant, indicator, file, progress, status) {
  status.textContent = '正在计算文件校验值…';
  const buffer = await file.arrayBuffer();
  const sha256 = await sha256Hex(buffer);
  const declared = await call(`/api/v1/applications/${app.application_id}/materials`, { method: 'POST', tenant, body: {
    indicator, file_name: file.name, content_type: file.type || 'application/octet-stream', size_bytes: file.size, sha256,
  } });
  const materialId = declared.material.material_id;
  if (!declared.duplicate_of) {
    status.textContent = '正在上传…';
    await putWithProgress(declared.upload.url, file, declared.upload.headers, progress);
    await call(`/api/v1/materials/${materialId}/confirm`, { method: 'POST', tenant, body: {} });
  }
  status.textContent = `已上传：${file.name}`;
  return declared.duplicate_of || materialId;
}

function factInput(id, fact, value) {
  let input;
  if (FACT_CHOICES[fact]) {
    input = node('select', null, { id });
    for (const [v, t] of FACT_CHOICES[fact]) input.appendChild(node('option', t, { value: v }));
  } else if (BOOL_FACTS.has(fact)) {
    input = node('input', null, { id, type: 'checkbox' });
  } else {
    input = node('input', null, { id, type: 'number', min: '0', inputmode: 'decimal' });
  }
  if (value !== undefined && value !== '') {
    const parsed = JSON.parse(value);
    if (input.type === 'checkbox') input.checked = parsed === true; else input.value = parsed;
  }
  input.dataset.fact = fact;
  return input;
}

function readFact(input) {
  if (input.type === 'checkbox') return input.checked ? 'true' : '';
  if (input.value === '' || input.value === 'none') return '';
  return input.tagName === 'SELECT' ? JSON.stringify(input.value) : String(Number(input.value));
}

async function initApplication() {
  const id = params.get('id');
  const tenant = params.get('t');
  let app;
  const load = async () => {
    app = await call(`/api/v1/applications/${id}`, { tenant });
    setText('app-number', app.application_number);
    setText('app-status', STATUS[app.status] || app.status);
    setText('app-due', app.due_at ? `办理期限 ${day(app.due_at)}` : '');
    setText('app-reason', app.reason_zh || '');
    return app;
  };
  try { await load(); } catch (e) { setText('app-error', e.message); return; }
  const editable = ['APPLICATION_STATUS_DRAFT', 'APPLICATION_STATUS_RETURNED'].includes(app.status);
  const materials = {};
  if (editable) {
    $('claims-form').classList.remove('hidden');
    const rules = await call(`/api/v1/rules?tenant=${tenant}&benefit=${app.benefit}`);
    const container = $('claims');
    const claimed = Object.fromEntries((app.claims || []).map((c) => [c.fact_key, c]));
    for (const ind of rules.indicators || []) {
      for (const fact of ind.fact_keys || []) {
        const fs = node('fieldset', null, { class: 'claim', 'data-indicator': ind.code });
        fs.appendChild(node('legend', ind.name || ind.code));
        fs.appendChild(node('p', ind.rule, { class: 'muted' }));
        const inputId = `fact-${fact}`;
        fs.appendChild(node('label', `申报值（${fact}）`, { for: inputId }));
        fs.appendChild(factInput(inputId, fact, claimed[fact] && claimed[fact].value_json));
        const fileId = `file-${fact}`;
        fs.appendChild(node('label', '证明材料', { for: fileId }));
        const file = node('input', null, { id: fileId, type: 'file', accept: 'application/pdf,image/jpeg,image/png' });
        const progress = node('progress', null, { max: '100', value: '0', 'aria-label': `${ind.name || fact} 上传进度` });
        const status = node('p', (claimed[fact] && claimed[fact].material_ids.length) ? '已上传材料' : '', { class: 'muted', role: 'status', id: `upload-${fact}` });
        materials[fact] = (claimed[fact] && claimed[fact].material_ids) || [];
        file.addEventListener('change', async () => {
          if (!file.files[0]) return;
          try {
            const mid = await uploadEvidence(app, tenant, ind.code, file.files[0], progress, status);
            materials[fact] = [mid];
          } catch (e) { status.textContent = e.message; }
        });
        fs.appendChild(file); fs.appendChild(progress); fs.appendChild(status);
        container.appendChild(fs);
      }
    }
    const save = async () => {
      const claims = [];
      const remove = [];
      for (const input of container.querySelectorAll('[data-fact]')) {
        const value = readFact(input);
        if (value === '') { if (claimed[input.dataset.fact]) remove.push(input.dataset.fact); continue; }
        claims.push({ fact_key: input.dataset.fact, value_json: value, material_ids: materials[input.dataset.fact] || [], person_index: 0 });
      }
      app = await call(`/api/v1/applications/${id}/claims`, { method: 'PUT', tenant, body: { expected_version: app.version, claims, remove } });
      return app;
    };
    $('claims-form').addEventListener('submit', async (event) => {
      event.preventDefault();
      try { await save(); setText('app-message', '已保存'); } catch (e) { setText('app-error', e.message); }
    });
    $('submit-app').addEventListener('click', async () => {
      setText('app-error', '');
      try {
        await save();
        const idem = sessionStorage.getItem(`submit-${id}`) || key();
        sessionStorage.setItem(`submit-${id}`, idem);
        await call(`/api/v1/applications/${id}/submit`, { method: 'POST', tenant, body: { expected_version: app.version, idempotency_key: idem } });
        location.reload();
      } catch (e) { setText('app-error', e.message); }
    });
  }
  // Score: claimed vs verified, rank, confirmation, objection.
  const claimedSheet = app.claimed_score;
  const verifiedSheet = app.verified_score;
  if (claimedSheet || verifiedSheet) {
    $('score-section').classList.remove('hidden');
    setText('claimed-total', claimedSheet ? claimedSheet.total : '—');
    setText('verified-total', verifiedSheet ? verifiedSheet.total : '待核定');
    const lines = {};
    for (const l of (claimedSheet && claimedSheet.lines) || []) lines[l.indicator] = { name: l.name_zh, claimed: l.points, text: l.explanation };
    for (const l of (verifiedSheet && verifiedSheet.lines) || []) lines[l.indicator] = Object.assign(lines[l.indicator] || { name: l.name_zh }, { verified: l.points, text: l.explanation });
    for (const [code, l] of Object.entries(lines)) $('score-lines').appendChild(row([l.name || code, l.claimed ?? '', l.verified ?? '', l.text || '']));
    const select = $('objection-indicator');
    for (const [code, l] of Object.entries(lines)) select.appendChild(node('option', l.name || code, { value: code }));
  }
  if (app.status === 'APPLICATION_STATUS_SCORED' && verifiedSheet) {
    const confirm = $('confirm-score');
    confirm.classList.remove('hidden');
    confirm.addEventListener('click', async () => {
      try {
        await call(`/api/v1/applications/${id}/confirm`, { method: 'POST', tenant, body: { expected_version: app.version, score_sheet_id: verifiedSheet.score_sheet_id } });
        location.reload();
      } catch (e) { setText('app-error', e.message); }
    });
  }
  if (['APPLICATION_STATUS_CONFIRMED', 'APPLICATION_STATUS_RANKED', 'APPLICATION_STATUS_PUBLICISED', 'APPLICATION_STATUS_SCORED'].includes(app.status)) {
    $('objection-form').classList.remove('hidden');
    $('objection-form').addEventListener('submit', async (event) => {
      event.preventDefault();
      try {
        await call(`/api/v1/applications/${id}/objections`, { method: 'POST', tenant, body: { indicator: $('objection-indicator').value, text_zh: $('objection-text').value, idempotency_key: key() } });
        setText('app-message', '复核申请已提交，请留意站内消息');
      } catch (e) { setText('app-error', e.message); }
    });
    const rank = await call(`/api/v1/applications/${id}/rank`, { tenant }).catch(() => null);
    if (rank && rank.positions && rank.positions.length) {
      const p = rank.positions[0];
      setText('rank', `${rank.provisional ? '实时排名（仅供参考）' : '排名'}：第 ${p.rank} 名，共 ${p.entries} 人${p.cutoff ? `，当前分数线 ${p.cutoff}` : ''}`);
    }
  }
  const timeline = await call(`/api/v1/applications/${id}/timeline`, { tenant }).catch(() => ({ entries: [] }));
  for (const e of timeline.entries || []) {
    const li = node('li');
    li.appendChild(node('strong', STATUS[e.to_status] || e.to_status));
    li.appendChild(node('span', ` ${day(e.at)} ${e.summary_zh || ''} ${e.reason_zh || ''}`));
    $('timeline').appendChild(li);
  }
}

// ---------- reviewers and verifiers
async function initReview() {
  const account = await me();
  if (!account) { location.href = '/login?next=/review'; return; }
  const r = roles(account);
  const level = $('queue-level');
  if (r.includes('ROLE_DISTRICT_REVIEWER')) level.value = 'REVIEW_LEVEL_DISTRICT';
  if (r.includes('ROLE_CITY_REVIEWER')) level.value = 'REVIEW_LEVEL_CITY';
  const tenant = params.get('t') || '';
  const load = async () => {
    setText('queue-error', '');
    const q = new URLSearchParams({ level: level.value, sort: $('queue-sort').value });
    if ($('queue-query').value) q.set('query', $('queue-query').value);
    if ($('queue-overdue').checked) q.set('overdue_only', 'true');
    if ($('queue-unclaimed').checked) q.set('unclaimed_only', 'true');
    const tbody = $('queue');
    tbody.textContent = '';
    try {
      const data = await call(`/api/v1/queue?${q}`, { tenant });
      setText('queue-summary', `共 ${data.total_count || 0} 件，超期 ${data.overdue_count || 0} 件`);
      for (const item of data.items || []) {
        const a = item.application;
        const due = node('span', day(item.due_at));
        if (item.overdue) { due.textContent += ' 已超期'; due.className = 'overdue'; }
        tbody.appendChild(row([a.application_number, a.applicant && a.applicant.name_masked, a.total, due,
          node('a', '办理', { href: `/case?id=${a.application_id}&t=${a.tenant}` })]));
      }
    } catch (e) { setText('queue-error', e.message); }
  };
  $('queue-form').addEventListener('submit', (event) => { event.preventDefault(); load(); });
  await load();
}

function materialLinks(ids, tenant) {
  const span = node('span');
  for (const [i, mid] of (ids || []).entries()) {
    span.appendChild(node('a', `材料${i + 1}`, { href: `/api/v1/materials/${mid}/content`, target: '_blank', rel: 'noopener', class: 'material-link', 'data-tenant': tenant || '' }));
    span.appendChild(document.createTextNode(' '));
  }
  return span;
}

async function initCase() {
  const id = params.get('id');
  const tenant = params.get('t');
  let app;
  const load = async () => {
    app = await call(`/api/v1/applications/${id}`, { tenant });
    setText('case-number', app.application_number);
    setText('case-status', STATUS[app.status] || app.status);
    setText('case-due', app.due_at ? `期限 ${day(app.due_at)}${app.overdue ? '（已超期）' : ''}` : '');
    const tbody = $('case-claims');
    tbody.textContent = '';
    for (const c of app.claims || []) tbody.appendChild(row([c.fact_key, c.value_json, c.verified_value_json || '', materialLinks(c.material_ids, tenant)]));
  };
  try { await load(); } catch (e) { setText('case-error', e.message); return; }
  const act = (path, body) => async () => {
    setText('case-error', '');
    try {
      await call(`/api/v1/applications/${id}/${path}`, { method: 'POST', tenant, body: body() });
      await load();
      setText('case-message', '已办理');
    } catch (e) { setText('case-error', e.message); }
  };
  const note = () => $('decision-note').value;
  $('case-claim').addEventListener('click', act('claim', () => ({})));
  $('case-approve').addEventListener('click', act('approve', () => ({ expected_version: app.version, note_zh: note() || '审核通过' })));
  $('case-return').addEventListener('click', act('return', () => ({ expected_version: app.version, reason_zh: note() || '请补正材料', fact_keys: [] })));
  $('case-reject').addEventListener('click', act('reject', () => ({ expected_version: app.version, reason_code: 'other', reason_zh: note() || '不符合申请条件' })));
}

async function initVerify() {
  if (!(await me())) { location.href = '/login?next=/verify'; return; }
  const box = $('tasks');
  const load = async () => {
    box.textContent = '';
    try {
      const data = await call('/api/v1/verification-tasks?status=TASK_STATUS_OPEN&sort=QUEUE_SORT_DUE_ASC');
      setText('verify-summary', `待核查 ${data.total_count || (data.tasks || []).length} 项，超期 ${data.overdue_count || 0} 项`);
      for (const t of data.tasks || []) {
        const form = node('form', null, { class: 'card task', novalidate: '' });
        form.appendChild(node('h3', `${t.application_number} · ${t.indicator || t.fact_key}`));
        form.appendChild(node('p', `申报值：${t.claimed_value_json}　期限：${day(t.due_at)}${t.overdue ? '（已超期）' : ''}`));
        form.appendChild(materialLinks(t.material_ids));
        const vid = `value-${t.task_id}`;
        form.appendChild(node('label', '核定值（JSON）', { for: vid }));
        const value = node('input', null, { id: vid, class: 'verified-value' }); value.value = t.claimed_value_json; form.appendChild(value);
        const cid = `checked-${t.task_id}`;
        const lab = node('label', null, { for: cid, class: 'inline' });
        const chk = node('input', null, { id: cid, type: 'checkbox' }); chk.checked = true; lab.appendChild(chk); lab.appendChild(document.createTextNode(' 已查验证明材料')); form.appendChild(lab);
        const nid = `note-${t.task_id}`;
        form.appendChild(node('label', '核查意见', { for: nid }));
        const note = node('input', null, { id: nid }); note.value = '核查无误'; form.appendChild(note);
        form.appendChild(node('button', '提交核查结果', { type: 'submit' }));
        form.addEventListener('submit', async (event) => {
          event.preventDefault();
          try {
            await call(`/api/v1/verification-tasks/${t.task_id}/complete`, { method: 'POST', body: { expected_version: t.version, verified_value_json: value.value, evidence_checked: chk.checked, note_zh: note.value } });
            await load();
          } catch (e) { setText('verify-error', e.message); }
        });
        box.appendChild(form);
      }
      if (!box.children.length) box.appendChild(node('p', '暂无待核查任务', { class: 'muted' }));
    } catch (e) { setText('verify-error', e.message); }
  };
  await load();
}

// ---------- administrators
async function initAdmin() {
  const account = await me();
  if (!account) { location.href = '/login?next=/admin'; return; }
  const select = $('admin-tenant');
  const city = roles(account).includes('ROLE_CITY_ADMIN');
  if (city) {
    select.appendChild(node('option', '苏州市（市级）', { value: 'suzhou' }));
    await fillTenantSelect(select, params.get('t') || 'wuzhong');
  }
  else select.appendChild(node('option', account.tenant, { value: account.tenant }));
  const t = () => select.value;
  const ok = (text) => { setText('admin-error', ''); setText('admin-message', text); };
  const err = (e) => setText('admin-error', e.message);
  $('cycle-start').value = today(-1);
  $('cycle-end').value = today(60);

  const loadCycles = async () => {
    const data = await call('/api/v1/cycles', { tenant: t() }).catch((e) => { err(e); return { cycles: [] }; });
    const tbody = $('cycles'); tbody.textContent = '';
    const runCycle = $('run-cycle'); runCycle.textContent = '';
    for (const c of data.cycles || []) {
      const actions = node('span');
      if (c.status === 'CYCLE_STATUS_DRAFT') actions.appendChild(button('开放', async () => {
        try { await call(`/api/v1/cycles/${c.cycle_id}/open`, { method: 'POST', tenant: t(), body: { expected_version: c.version } }); ok('申报期已开放'); loadCycles(); } catch (e) { err(e); }
      }));
      tbody.appendChild(row([c.name_zh, BENEFIT[c.benefit] || c.benefit, c.status.replace('CYCLE_STATUS_', ''), actions]));
      runCycle.appendChild(node('option', c.name_zh, { value: c.cycle_id }));
    }
    loadRuns();
  };
  const loadRuns = async () => {
    const tbody = $('runs'); tbody.textContent = '';
    if (!$('run-cycle').value) return;
    const data = await call(`/api/v1/ranking-runs?cycle_id=${$('run-cycle').value}`, { tenant: t() }).catch(() => ({ runs: [] }));
    for (const run of data.runs || []) {
      const actions = node('span');
      if (run.status === 'RUN_STATUS_COMPLETED') actions.appendChild(button('发布公示', async () => {
        try {
          await call(`/api/v1/ranking-runs/${run.run_id}/publish`, { method: 'POST', tenant: t(), body: { title_zh: `${$('run-cycle').selectedOptions[0].textContent}公示名单`, publicity: { start_date: today(), end_date: today(10) } } });
          ok('公示名单已发布'); loadRuns();
        } catch (e) { err(e); }
      }));
      tbody.appendChild(row([run.run_id.slice(0, 8), run.status.replace('RUN_STATUS_', ''), `${run.entries} 人，准入 ${run.admitted}`, actions]));
    }
  };
  $('run-cycle').addEventListener('change', loadRuns);
  $('start-run').addEventListener('click', async () => {
    const mode = $('run-mode').value;
    const n = Number($('run-pass-mark').value);
    const parameters = { mode };
    if (mode === 'RUN_MODE_THRESHOLD') parameters.pass_mark = n; else if (mode === 'RUN_MODE_QUOTA') parameters.quota = n;
    try { await call('/api/v1/ranking-runs', { method: 'POST', tenant: t(), body: { cycle_id: $('run-cycle').value, parameters, idempotency_key: key() } }); ok('排名已完成'); loadRuns(); } catch (e) { err(e); }
  });
  $('cycle-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const window = { start_date: $('cycle-start').value, end_date: $('cycle-end').value };
    const cycle = {
      benefit: $('cycle-benefit').value, year: Number($('cycle-year').value), name_zh: $('cycle-name').value,
      application_window: window, confirmation_window: window, publicity_window: window, objection_window: window,
      score_as_of_date: $('cycle-as-of').value, rule_set: { rule_set_id: $('cycle-rule-set').value, version: 0 },
      pass_mark: Number($('cycle-pass-mark').value || 0),
    };
    if ($('cycle-seats').value.trim()) {
      try { cycle.seat_plan = { schools: JSON.parse($('cycle-seats').value) }; } catch (_) { setText('admin-error', '学位计划不是有效的 JSON'); return; }
    }
    try { await call('/api/v1/cycles', { method: 'POST', tenant: t(), body: { target_tenant: t(), cycle } }); ok('申报期已创建'); loadCycles(); } catch (e) { err(e); }
  });

  // rule sets
  let loaded;
  const loadRuleSets = async () => {
    const data = await call('/api/v1/rule-sets?include_templates=true', { tenant: t() }).catch(() => ({ rule_sets: [] }));
    const tbody = $('rule-sets'); tbody.textContent = '';
    for (const rs of data.rule_sets || []) {
      tbody.appendChild(row([rs.title_zh || rs.rule_set_id, rs.version, rs.status.replace('RULE_SET_STATUS_', ''), button('编辑', async () => {
        try {
          loaded = await call(`/api/v1/rule-sets/${rs.rule_set_id}/versions/${rs.version}`, { tenant: t() });
          $('rule-id').value = loaded.rule_set_id; $('rule-version').value = loaded.version;
          $('rule-doc').value = JSON.stringify(JSON.parse(loaded.document_json || '{}'), null, 2);
        } catch (e) { err(e); }
      }, 'secondary')]));
    }
  };
  const showViolations = (list) => {
    const ul = $('rule-violations'); ul.textContent = '';
    for (const v of list || []) ul.appendChild(node('li', `${v.path}：${v.message_zh}`));
  };
  $('rule-validate').addEventListener('click', async () => {
    try {
      const r = await call('/api/v1/rule-sets/validate', { method: 'POST', tenant: t(), body: { document_json: $('rule-doc').value } });
      showViolations(r.violations);
      ok(r.valid ? '校验通过' : `发现 ${r.violations.length} 处错误`);
    } catch (e) { err(e); }
  });
  $('rule-save').addEventListener('click', async () => {
    try {
      let saved;
      if (loaded && loaded.status === 'RULE_SET_STATUS_DRAFT' && loaded.rule_set_id === $('rule-id').value) {
        saved = await call(`/api/v1/rule-sets/${loaded.rule_set_id}/versions/${loaded.version}`, { method: 'PUT', tenant: t(), body: { expected_version: loaded.revision || 0, document_json: $('rule-doc').value } });
      } else {
        saved = await call('/api/v1/rule-sets', { method: 'POST', tenant: t(), body: { rule_set_id: $('rule-id').value, document_json: $('rule-doc').value } });
      }
      loaded = saved; $('rule-version').value = saved.version; ok(`已保存为第 ${saved.version} 版草稿`); loadRuleSets();
    } catch (e) { err(e); }
  });
  $('rule-publish').addEventListener('click', async () => {
    try { await call(`/api/v1/rule-sets/${$('rule-id').value}/versions/${$('rule-version').value}/publish`, { method: 'POST', tenant: t(), body: { expected_version: (loaded && loaded.revision) || 0 } }); ok('细则已发布'); loadRuleSets(); } catch (e) { err(e); }
  });
  $('rule-simulate').addEventListener('click', async () => {
    try {
      const facts = JSON.parse($('rule-facts').value);
      const r = await call('/api/v1/simulate', { method: 'POST', body: { tenant: t(), benefit: $('cycle-benefit').value, as_of: today(), facts } });
      $('rule-output').textContent = `总积分 ${r.total}\n` + r.lines.map((l) => `${l.name || l.indicator}：${l.points}（${l.explanation}）`).join('\n');
    } catch (e) { err(e); }
  });
  $('rule-whatif').addEventListener('click', async () => {
    try {
      const r = await call('/api/v1/what-if', { method: 'POST', tenant: t(), body: { cycle_id: $('run-cycle').value, candidate: { rule_set_id: $('rule-id').value, version: Number($('rule-version').value) }, top_movers: 5 } });
      $('rule-output').textContent = `重算 ${r.applications} 件：分数线 ${r.baseline_cutoff} → ${r.candidate_cutoff}，上线 ${r.crossed_up} 人，下线 ${r.crossed_down} 人`;
    } catch (e) { err(e); }
  });

  // notices
  const loadNotices = async () => {
    const data = await call('/api/v1/managed-notices', { tenant: t() }).catch(() => ({ announcements: [] }));
    const ul = $('managed-notices'); ul.textContent = '';
    for (const a of data.announcements || []) ul.appendChild(node('li', `${a.title_zh}（${a.status.replace('ANNOUNCEMENT_STATUS_', '')}）`));
  };
  $('notice-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const a = await call('/api/v1/managed-notices', { method: 'POST', tenant: t(), body: { category: $('notice-category').value, title_zh: $('notice-title').value, body_markdown: $('notice-body').value } });
      await call(`/api/v1/managed-notices/${a.announcement_id}/publish`, { method: 'POST', tenant: t(), body: { expected_version: a.version } });
      ok('公告已发布'); loadNotices();
    } catch (e) { err(e); }
  });

  // staff
  const loadStaff = async () => {
    const data = await call(`/api/v1/staff?target_tenant=${t()}`, { tenant: t() }).catch(() => ({ staff: [] }));
    const tbody = $('staff'); tbody.textContent = '';
    for (const s of data.staff || []) {
      const actions = node('span', null, { class: 'actions' });
      actions.appendChild(button('重置密码', async () => {
        try {
          const r = await call(`/api/v1/staff/${s.subject}/reset-password`, { method: 'POST', tenant: t(), body: {} });
          $('staff-password').textContent = `${s.login_name} 的密码已重置，一次性密码：`;
          $('staff-password').appendChild(node('code', r.one_time_password));
        } catch (e) { err(e); }
      }, 'secondary'));
      actions.appendChild(button(s.disabled ? '启用' : '停用', async () => {
        try {
          await call(`/api/v1/staff/${s.subject}/${s.disabled ? 'enable' : 'disable'}`, { method: 'POST', tenant: t(), body: s.disabled ? {} : { reason: '管理员停用' } });
          ok(s.disabled ? '已启用' : '已停用'); loadStaff();
        } catch (e) { err(e); }
      }, s.disabled ? 'secondary' : 'danger'));
      tbody.appendChild(row([s.login_name, s.person && s.person.name_masked, s.role && s.role.role, s.role && (s.role.street_code || s.role.department_code), s.disabled ? '已停用' : '在岗', actions]));
    }
  };
  call('/api/v1/departments').then((data) => {
    for (const d of data.departments || []) $('staff-department').appendChild(node('option', `${d.name_zh}（${d.code}）`, { value: d.code }));
  }).catch(() => {});
  $('staff-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    setText('staff-password', '');
    try {
      const r = await call('/api/v1/staff', { method: 'POST', tenant: t(), body: {
        target_tenant: t(), login_name: $('staff-login').value, name: $('staff-name').value, mobile: $('staff-mobile').value,
        role: $('staff-role').value, street_code: $('staff-street').value, department_code: $('staff-department').value,
      } });
      $('staff-password').textContent = `已创建，一次性密码：`;
      $('staff-password').appendChild(node('code', r.one_time_password, { id: 'one-time-password' }));
      loadStaff();
    } catch (e) { err(e); }
  });
  const all = () => { loadCycles(); loadRuleSets(); loadNotices(); loadStaff(); };
  select.addEventListener('change', all);
  all();
}

async function initCity() {
  try {
    const tenants = (await call('/api/v1/tenants')).tenants;
    for (const tn of tenants) {
      const [cycles, lists] = await Promise.all([
        call(`/api/v1/public-cycles?tenant=${tn.code}`).catch(() => ({ cycles: [] })),
        call(`/api/v1/publicity-lists?tenant=${tn.code}`).catch(() => ({ lists: [] })),
      ]);
      $('city-tenants').appendChild(row([node('a', tn.name, { href: `/admin?t=${tn.code}` }), tn.kind, tn.threshold_area, (cycles.cycles || []).length, (lists.lists || []).length]));
      for (const l of lists.lists || []) {
        $('city-lists').appendChild(node('li')).appendChild(node('a', `${tn.name} · ${l.title_zh}（${l.entry_count} 人）`, { href: `/publicity?t=${tn.code}&list=${l.list_id}` }));
      }
    }
    const areas = await call('/api/v1/threshold-areas').catch(() => ({ areas: [] }));
    for (const a of areas.areas || []) $('threshold-areas').appendChild(node('li', `${a.name_zh}：${(a.tenant_codes || []).join('、')}`));
  } catch (e) { setText('city-error', e.message); }
}

// ---------- public
async function initPublicity() {
  const tenant = $('pub-tenant');
  await fillTenantSelect(tenant, params.get('t'));
  const lists = async () => {
    const select = $('pub-list'); select.textContent = '';
    try {
      const data = await call(`/api/v1/publicity-lists?tenant=${tenant.value}`);
      for (const l of data.lists || []) select.appendChild(node('option', l.title_zh, { value: l.list_id }));
      if (params.get('list')) select.value = params.get('list');
      if (!select.children.length) setText('pub-error', '该地区暂无公示名单');
      else setText('pub-error', '');
    } catch (e) { setText('pub-error', e.message); }
  };
  const show = async () => {
    if (!$('pub-list').value) return;
    const q = new URLSearchParams({ tenant: tenant.value });
    if ($('pub-query').value) q.set('query', $('pub-query').value);
    try {
      const data = await call(`/api/v1/publicity-lists/${$('pub-list').value}?${q}`);
      $('pub-result').classList.remove('hidden');
      setText('pub-title', data.list.title_zh);
      setText('pub-hash', data.list.content_hash);
      const tbody = $('pub-entries'); tbody.textContent = '';
      for (const e of data.entries || []) tbody.appendChild(row([e.rank, e.application_number, e.name_masked, e.id_number_masked, e.total, OUTCOME_ZH[e.outcome] || e.outcome]));
      if (!tbody.children.length) tbody.appendChild(row(['无匹配记录', '', '', '', '', '']));
    } catch (e) { setText('pub-error', e.message); }
  };
  tenant.addEventListener('change', lists);
  $('publicity-form').addEventListener('submit', (event) => { event.preventDefault(); show(); });
  await lists();
  await show();
}

async function initCharts() {
  const tenant = $('chart-tenant');
  await fillTenantSelect(tenant, params.get('t'));
  const cycles = async () => {
    const select = $('chart-cycle'); select.textContent = '';
    const data = await call(`/api/v1/public-cycles?tenant=${tenant.value}&benefit=${$('chart-benefit').value}`).catch(() => ({ cycles: [] }));
    for (const c of data.cycles || []) select.appendChild(node('option', c.name_zh, { value: c.cycle_id }));
  };
  const draw = () => {
    $('chart-history').src = `/charts/cutoff-history.svg?tenant=${tenant.value}&benefit=${$('chart-benefit').value}`;
    if ($('chart-cycle').value) $('chart-distribution').src = `/charts/distribution.svg?tenant=${tenant.value}&cycle_id=${$('chart-cycle').value}&bucket_width=50`;
  };
  tenant.addEventListener('change', cycles);
  $('chart-benefit').addEventListener('change', cycles);
  $('charts-form').addEventListener('submit', (event) => { event.preventDefault(); draw(); });
  await cycles();
  draw();
}

async function listNotices(tenant, category, target, errorId) {
  target.textContent = '';
  const q = new URLSearchParams({ tenant, include_city_wide: 'true', page_size: '20' });
  if (category) q.set('category', category);
  try {
    const data = await call(`/api/v1/notices?${q}`);
    for (const a of data.announcements || []) {
      const li = node('li');
      li.appendChild(node('a', a.title_zh, { href: `/notices?t=${tenant}&id=${a.announcement_id}` }));
      li.appendChild(node('span', ` ${day(a.published_at)}`, { class: 'muted' }));
      for (const f of a.attachments || []) li.appendChild(node('p', `附件：${f.file_name}`, { class: 'muted' }));
      target.appendChild(li);
    }
    if (!target.children.length) target.appendChild(node('li', '暂无内容', { class: 'muted' }));
  } catch (e) { if (errorId) setText(errorId, e.message); }
}

async function initDownloads() {
  const tenant = $('dl-tenant');
  await fillTenantSelect(tenant, params.get('t'));
  const load = () => listNotices(tenant.value, 'ANNOUNCEMENT_CATEGORY_DOWNLOAD', $('downloads'), 'dl-error');
  tenant.addEventListener('change', load);
  await load();
}

async function initNotices() {
  const tenant = $('notice-tenant');
  await fillTenantSelect(tenant, params.get('t'));
  const load = () => listNotices(tenant.value, '', $('notices'), 'notices-error');
  tenant.addEventListener('change', load);
  await load();
  if (params.get('id')) {
    try {
      const a = await call(`/api/v1/notices/${params.get('id')}?tenant=${tenant.value}`);
      $('notice-detail').classList.remove('hidden');
      setText('notice-detail-title', a.title_zh);
      // body_html is sanitised by the notices component (ammonia); the CSP blocks scripts anyway.
      $('notice-detail-body').innerHTML = a.body_html;
    } catch (e) { setText('notices-error', e.message); }
  }
}

async function initHomeNotices() {
  const box = $('home-notices');
  if (!box) return;
  box.textContent = '';
  for (const t of await districts()) {
    const card = node('div', null, { class: 'card' });
    card.appendChild(node('h3', t.name));
    const ul = node('ul', null, { class: 'plain' });
    card.appendChild(ul);
    box.appendChild(card);
    listNotices(t.code, '', ul);
  }
}

document.addEventListener('DOMContentLoaded', () => {
  const page = document.body.dataset.page;
  initNav();
  const pages = {
    register: initRegister, login: initLogin, me: initMe, apply: initApply, application: initApplication,
    review: initReview, case: initCase, verify: initVerify, admin: initAdmin, city: initCity,
    publicity: initPublicity, charts: initCharts, downloads: initDownloads, notices: initNotices, home: initHomeNotices,
  };
  if (pages[page]) Promise.resolve().then(pages[page]).catch((e) => { const n = document.querySelector('[role=alert]'); if (n) n.textContent = e.message; });
});
