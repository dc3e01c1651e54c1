// jifen portal script: no inline scripts (CSP), no third-party code.
'use strict';

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)jifen_csrf=([^;]+)/);
  return match ? match[1] : '';
}

async function api(path, options = {}) {
  const init = Object.assign({ headers: {} }, options);
  init.headers['Accept'] = 'application/json';
  if (init.body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.headers['X-CSRF-Token'] = csrfToken();
    init.body = JSON.stringify(init.body);
  }
  const response = await fetch(path, init);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(data.detail || '请求失败，请稍后重试');
    error.status = response.status;
    throw error;
  }
  return data;
}

function el(tag, text, attrs = {}) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

async function fillTenants(select) {
  const { tenants } = await api('/api/v1/tenants');
  for (const t of tenants.filter((t) => t.kind !== 'city')) {
    select.appendChild(el('option', t.name, { value: t.code }));
  }
  return tenants;
}

const PERSON_FIELDS = [
  ['birth_date', '出生日期', 'date'],
  ['education', '文化程度', 'select', [['none', '无'], ['high_school', '高中/中职'], ['junior_college', '大专'], ['bachelor', '本科'], ['master', '硕士'], ['doctor', '博士']]],
  ['skill_level', '职业资格等级', 'select', [['none', '无'], ['L5', '五级/初级工'], ['L4', '四级/中级工'], ['L3', '三级/高级工'], ['L2', '二级/技师'], ['L1', '一级/高级技师']]],
  ['professional_title', '专业技术职称', 'select', [['none', '无'], ['junior', '初级'], ['intermediate', '中级'], ['senior', '副高及以上']]],
  ['insurance_months', '参保月数', 'number'],
  ['residence_years', '居住年限（年）', 'number'],
  ['housing_fund_years', '公积金缴存年限（年）', 'number'],
  ['property_area_m2', '自有住房面积（平方米）', 'number'],
  ['veteran', '退役军人', 'checkbox'],
  ['residence_permit_valid', '居住证在有效期内', 'checkbox', null, true],
  ['insurance_active', '正在缴纳社会保险', 'checkbox', null, true],
];

function personFieldset(index, legend) {
  const fieldset = el('fieldset');
  fieldset.appendChild(el('legend', legend));
  for (const [key, label, type, options, checked] of PERSON_FIELDS) {
    const id = `p${index}-${key}`;
    const wrap = el('div');
    const labelNode = el('label', label, { for: id });
    let input;
    if (type === 'select') {
      input = el('select', null, { id, name: key });
      for (const [value, text] of options) input.appendChild(el('option', text, { value }));
    } else {
      input = el('input', null, { id, name: key, type });
      if (type === 'number') { input.setAttribute('min', '0'); input.setAttribute('inputmode', 'numeric'); }
      if (checked) input.checked = true;
    }
    input.dataset.person = String(index);
    wrap.appendChild(labelNode);
    wrap.appendChild(input);
    fieldset.appendChild(wrap);
  }
  return fieldset;
}

function readPerson(form, index) {
  const facts = {};
  for (const [key, , type] of PERSON_FIELDS) {
    const input = form.querySelector(`#p${index}-${key}`);
    if (!input) continue;
    if (type === 'checkbox') facts[key] = input.checked;
    else if (type === 'number') { if (input.value !== '') facts[key] = Number(input.value); }
    else if (input.value !== '' && input.value !== 'none') facts[key] = input.value;
  }
  return facts;
}

function renderParents(form) {
  const container = form.querySelector('#parents');
  container.textContent = '';
  const family = form.querySelector('#family').value === 'family';
  container.appendChild(personFieldset(0, family ? '父亲/一方' : '申请人'));
  if (family) container.appendChild(personFieldset(1, '母亲/另一方'));
}

const CATEGORY = { base: '基础分', additional: '附加分', deduction: '扣减分' };
const OUTCOME = { pass: '符合', fail: '不符合', manual_review: '需人工审核' };

async function initSimulate() {
  const form = document.getElementById('simulate-form');
  const errorNode = document.getElementById('simulate-error');
  await fillTenants(form.querySelector('#tenant')).catch((e) => { errorNode.textContent = e.message; });
  form.querySelector('#as-of').value = new Date().toISOString().slice(0, 10);
  renderParents(form);
  form.querySelector('#family').addEventListener('change', () => renderParents(form));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    errorNode.textContent = '';
    const family = form.querySelector('#family').value === 'family';
    const facts = family ? { parents: [readPerson(form, 0), readPerson(form, 1)] } : readPerson(form, 0);
    try {
      const result = await api('/api/v1/simulate', {
        method: 'POST',
        body: {
          tenant: form.querySelector('#tenant').value,
          benefit: form.querySelector('#benefit').value,
          as_of: form.querySelector('#as-of').value,
          facts,
        },
      });
      showResult(result);
    } catch (e) {
      errorNode.textContent = e.message;
    }
  });
}

function showResult(result) {
  document.getElementById('result').classList.remove('hidden');
  document.getElementById('result-total').textContent = result.total;
  let summary = `基础分 ${result.base}，附加分 ${result.additional}，扣减分 ${result.deduction}。`;
  if (result.family) summary += ` 按第 ${result.family.counted_parent + 1} 位申请人计分，另一方 ${result.family.tie_reference} 分（同分时比较）。`;
  summary += result.eligible ? ' 符合申请条件。' : ' 暂不符合或需人工审核申请条件。';
  document.getElementById('result-summary').textContent = summary;
  const tbody = document.getElementById('result-lines');
  tbody.textContent = '';
  for (const line of result.lines) {
    const row = el('tr');
    row.appendChild(el('td', `${line.name || line.indicator}（${CATEGORY[line.category] || line.category}）`));
    row.appendChild(el('td', line.counted === false ? `${line.points}（不计入）` : line.points));
    row.appendChild(el('td', line.explanation));
    tbody.appendChild(row);
  }
  const gates = document.getElementById('result-gates');
  gates.textContent = '';
  for (const gate of result.gates) gates.appendChild(el('li', `${OUTCOME[gate.outcome] || gate.outcome}：${gate.message}`));
}

async function initRules() {
  const form = document.getElementById('rules-form');
  const errorNode = document.getElementById('rules-error');
  await fillTenants(form.querySelector('#rules-tenant')).catch((e) => { errorNode.textContent = e.message; });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    errorNode.textContent = '';
    const params = new URLSearchParams({ tenant: form.querySelector('#rules-tenant').value, benefit: form.querySelector('#rules-benefit').value });
    try {
      const data = await api(`/api/v1/rules?${params}`);
      document.getElementById('rules-result').classList.remove('hidden');
      document.getElementById('rules-title').textContent = data.rule_set ? `${data.rule_set.title}（${data.rule_set.id} 第 ${data.rule_set.version} 版）` : '';
      document.getElementById('rules-basis').textContent = (data.document && data.document.legal_basis) || '';
      const tbody = document.getElementById('rules-lines');
      tbody.textContent = '';
      for (const ind of (data.document && data.document.indicators) || []) {
        const row = el('tr');
        row.appendChild(el('td', ind.name_zh || ind.code));
        row.appendChild(el('td', CATEGORY[ind.category] || ind.category));
        row.appendChild(el('td', describeFormula(ind.formula)));
        row.appendChild(el('td', ind.verifier_department || ''));
        tbody.appendChild(row);
      }
    } catch (e) {
      errorNode.textContent = e.message;
    }
  });
}

function describeFormula(f) {
  if (!f) return '';
  switch (f.kind) {
    case 'per_unit': return `每单位 ${f.rate} 分${f.cap ? `，最高 ${f.cap} 分` : ''}`;
    case 'enum_map': return Object.entries(f.map || f.values || {}).map(([k, v]) => `${k}: ${v}`).join('；');
    case 'anchor_linear': return `以 ${f.anchor} 为基准 ${f.base} 分，每差 1 ${f.step} 分${f.cap ? `，最高 ${f.cap} 分` : ''}`;
    case 'base_plus_excess': return `${f.threshold} 以内 ${f.base} 分，每超 ${f.step_size} 加 ${f.step_points} 分${f.cap ? `，最高 ${f.cap} 分` : ''}`;
    default: return JSON.stringify(f);
  }
}

async function initHome() {
  const list = document.getElementById('tenant-list');
  try {
    const tenants = await fillTenants(document.createElement('select'));
    list.textContent = '';
    for (const t of tenants.filter((t) => t.kind !== 'city')) {
      const card = el('div', null, { class: 'card' });
      card.appendChild(el('h3', t.name));
      const link = el('a', '查看积分细则', { href: `/rules#${t.code}` });
      card.appendChild(link);
      list.appendChild(card);
    }
  } catch (e) {
    list.textContent = e.message;
  }
}

document.addEventListener('DOMContentLoaded', () => {
  const page = document.body.dataset.page;
  if (page === 'simulate') initSimulate();
  else if (page === 'rules') initRules();
  else if (page === 'home') initHome();
});
