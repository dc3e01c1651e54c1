// The portal in real Chromium (Debian's, driven by playwright-core): a resident registers and
// applies with an uploaded PDF, street/district/department/city staff act, the resident
// confirms, the admin ranks and publishes, and the publicity list shows the masked entry. Also:
// the simulator gives worked example B's 684, and pages fit 375 px without horizontal scrolling.
// Usage: JIFEN_URL=http://127.0.0.1:PORT JIFEN_ADMIN_PASSWORD=… node portal.test.mjs
import { chromium } from 'playwright-core';
import { mkdirSync, writeFileSync } from 'node:fs';
import assert from 'node:assert/strict';

const BASE = process.env.JIFEN_URL;
const ADMIN_PASSWORD = process.env.JIFEN_ADMIN_PASSWORD;
const ART = new URL('./artifacts/', import.meta.url).pathname;
mkdirSync(ART, { recursive: true });
const TENANT = 'wuzhong';
const STREET = 's1';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'];

let step = 'start';
const log = (s) => { step = s; console.log(`· ${s}`); };

function idNumber() {
  const n = Date.now() % 1000;
  const first = `32050619880${(Date.now() % 9) + 1}1${(Date.now() % 8) + 1}${String(n).padStart(3, '0')}`;
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = first.split('').reduce((a, c, i) => a + Number(c) * w[i], 0);
  return first + '10X98765432'[sum % 11];
}

const PDF = Buffer.from('%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj 3 0 obj<</Type/Page/MediaBox[0 0 200 200]/Parent 2 0 R>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n');
const pdfPath = `${ART}evidence.pdf`;
writeFileSync(pdfPath, PDF);

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: FLAGS, headless: true });
const pageErrors = [];

async function session() {
  const context = await browser.newContext({ viewport: { width: 375, height: 800 }, locale: 'zh-CN' });
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(`${page.url()}: ${e.message}`));
  page.on('response', (r) => {
    if (r.url().includes('/api/') && r.status() >= 400) console.log(`  api ${r.request().method()} ${new URL(r.url()).pathname} -> ${r.status()}`);
  });
  if (process.env.JIFEN_BROWSER_TRACE) page.on('console', (m) => console.log(`  console ${m.type()}: ${m.text()}`));
  if (process.env.JIFEN_BROWSER_TRACE) page.on('pageerror', (e) => console.log(`  pageerror: ${e.message}`));
  if (process.env.JIFEN_BROWSER_TRACE) page.on('request', (r) => { if (r.url().includes('/api/') && r.method() !== 'GET') console.log(`  sent ${r.method()} ${new URL(r.url()).pathname}`); });
  if (process.env.JIFEN_BROWSER_TRACE) page.on('requestfinished', async (r) => { if (r.url().includes('/api/') && r.method() !== 'GET') { const resp = await r.response(); console.log(`  api ${r.method()} ${new URL(r.url()).pathname} -> ${resp && resp.status()} ${r.timing().responseEnd | 0} ms`); } });
  page.on('requestfailed', (r) => console.log(`  api ${r.method()} ${r.url()} failed: ${r.failure() && r.failure().errorText}`));
  page.setDefaultTimeout(Number(process.env.JIFEN_BROWSER_TIMEOUT_MS || 15000));
  return { context, page };
}

async function fits(page, name) {
  await page.waitForLoadState('networkidle');
  await page.screenshot({ path: `${ART}${name}.png`, fullPage: true });
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 375, `${name}: page is ${width}px wide at 375px`);
}

async function login(page, loginName, password) {
  await page.goto(`${BASE}/login`);
  await page.getByLabel('身份证号 / 手机号 / 工作人员账号').fill(loginName);
  await page.getByLabel('密码', { exact: true }).fill(password);
  await page.getByRole('button', { name: '登录' }).click();
  await page.waitForURL(/\/me/);
}

// Waits until `okSel` (with `okText`) shows or `errSel` has text; returns the error text. (No
// waitForFunction: it evaluates strings, which the portal's CSP rightly forbids.)
async function settle(page, okSel, okText, errSel) {
  const ok = page.locator(okSel, okText ? { hasText: okText } : {});
  const err = page.locator(`${errSel}:not(:empty)`);
  await ok.or(err).first().waitFor();
  return (await err.count()) ? (await err.first().textContent()) : '';
}

async function expectNoError(page, id) {
  const text = await page.locator(`#${id}`).textContent().catch(() => '');
  assert.equal(text || '', '', `${id}: ${text}`);
}

let reached = [];
try {
  // 1. Public pages and the simulator (worked example B).
  log('public pages at 375 px');
  const pub = await session();
  for (const [path, name] of [['/', 'home'], ['/rules', 'rules'], ['/faq', 'faq'], ['/notices', 'notices'], ['/downloads', 'downloads'], ['/charts', 'charts'], ['/register', 'register'], ['/login', 'login']]) {
    await pub.page.goto(`${BASE}${path}`);
    await fits(pub.page, name);
  }
  log('simulator gives example B 684');
  const p = pub.page;
  await p.goto(`${BASE}/simulate`);
  await p.waitForSelector('#tenant option[value="wuzhong"]', { state: 'attached' });
  await p.selectOption('#tenant', TENANT);
  await p.selectOption('#benefit', 'school');
  await p.fill('#as-of', '2023-06-30');
  await p.selectOption('#family', 'family');
  const parent = async (i, f) => {
    await p.fill(`#p${i}-birth_date`, f.birth);
    await p.selectOption(`#p${i}-education`, f.education);
    await p.selectOption(`#p${i}-skill_level`, f.skill);
    await p.fill(`#p${i}-insurance_months`, String(f.months));
    await p.fill(`#p${i}-residence_years`, String(f.residence));
    if (f.fund) await p.fill(`#p${i}-housing_fund_years`, String(f.fund));
  };
  await parent(0, { birth: '1985-03-01', education: 'bachelor', skill: 'L4', months: 72, residence: 6, fund: 4 });
  await parent(1, { birth: '1989-01-15', education: 'junior_college', skill: 'L3', months: 50, residence: 6 });
  await p.getByRole('button', { name: '开始测算' }).click();
  await p.waitForSelector('#result:not(.hidden)');
  assert.equal((await p.textContent('#result-total')).trim(), '684');
  await fits(p, 'simulate-example-b');
  reached.push('simulator 684');

  // 2. The city admin opens a settlement cycle in wuzhong and creates the staff.
  log('admin logs in, creates and opens a cycle');
  const admin = await session();
  const a = admin.page;
  await login(a, 'admin', ADMIN_PASSWORD);
  await a.goto(`${BASE}/admin?t=${TENANT}`);
  await a.waitForSelector('#admin-tenant option[value="wuzhong"]', { state: 'attached' });
  await a.getByRole('button', { name: '创建申报期' }).click();
  assert.equal(await settle(a, '#admin-message', '已创建', '#admin-error'), '');
  await a.getByRole('button', { name: '开放' }).first().click();
  const openError = await settle(a, '#admin-message', '已开放', '#admin-error');
  assert.equal(openError, '', 'the cycle opens');
  reached.push('cycle created and opened');

  log('admin creates staff');
  const staff = {};
  const createStaff = async (tenant, loginName, role, extra = {}) => {
    await a.goto(`${BASE}/admin?t=${tenant}`);
    await a.waitForSelector(`#admin-tenant option[value="${tenant}"]`, { state: 'attached' });
    await a.fill('#staff-login', loginName);
    await a.fill('#staff-name', '王小明');
    await a.fill('#staff-mobile', `137${String(Date.now()).slice(-8)}`);
    await a.selectOption('#staff-role', role);
    await a.fill('#staff-street', extra.street || '');
    if (extra.department) {
      await a.waitForSelector(`#staff-department option[value="${extra.department}"]`, { state: 'attached' });
      await a.selectOption('#staff-department', extra.department);
    }
    await a.getByRole('button', { name: '新建工作人员' }).click();
    assert.equal(await settle(a, '#one-time-password', null, '#admin-error'), '');
    staff[loginName] = (await a.textContent('#one-time-password')).trim();
  };
  const suffix = String(Date.now()).slice(-6);
  await createStaff(TENANT, `street${suffix}`, 'ROLE_STREET_REVIEWER', { street: STREET });
  await createStaff(TENANT, `district${suffix}`, 'ROLE_DISTRICT_REVIEWER');
  // The departments verifying the indicators the resident claims (the rule set's
  // verifier_department codes, which staff scopes use too).
  const departments = ['education', 'human_resources', 'public_security'];
  for (const d of departments) await createStaff(TENANT, `${d}${suffix}`, 'ROLE_DEPARTMENT_VERIFIER', { department: d });
  await createStaff('suzhou', `city${suffix}`, 'ROLE_CITY_REVIEWER');
  await fits(a, 'admin');
  reached.push('staff created');

  // 3. A resident registers and applies with a PDF per indicator.
  log('resident registers');
  const res = await session();
  const r = res.page;
  const id = idNumber();
  await r.goto(`${BASE}/register`);
  await r.getByLabel('姓名').fill('张小三');
  await r.getByLabel('居民身份证号（18 位）').fill(id);
  await r.getByLabel('手机号码').fill(`139${String(Date.now()).slice(-8)}`);
  await r.getByLabel('密码（至少 8 位，含字母和数字）').fill('Jifen#2025go');
  await r.getByRole('button', { name: '注册并登录' }).click();
  await r.waitForURL(/\/me/);
  await fits(r, 'me');
  reached.push('resident registered');

  log('resident creates a draft');
  await r.goto(`${BASE}/apply`);
  await r.waitForSelector('#apply-tenant option[value="wuzhong"]', { state: 'attached' });
  await r.selectOption('#apply-tenant', TENANT);
  await r.selectOption('#apply-benefit', 'settlement');
  await r.waitForSelector('#apply-cycle option', { state: 'attached' });
  await r.fill('#apply-street', STREET);
  await fits(r, 'apply');
  await r.getByRole('button', { name: '创建申请草稿' }).click();
  await r.waitForURL(/\/application\?/);
  const appUrl = r.url();
  reached.push('draft created');

  log('resident fills claims and uploads PDFs');
  await r.waitForSelector('#fact-education');
  await r.selectOption('#fact-education', 'bachelor');
  await r.fill('#fact-insurance_months', '88');
  await r.fill('#fact-residence_years', '5');
  for (const fact of ['education', 'insurance_months', 'residence_years']) {
    // One distinct file per indicator (the same bytes twice would be a duplicate upload).
    const evidence = `${ART}evidence-${fact}.pdf`;
    writeFileSync(evidence, Buffer.concat([Buffer.from(PDF), Buffer.from(`\n% ${fact}\n`)]));
    await r.setInputFiles(`#file-${fact}`, evidence);
    await r.locator(`#upload-${fact}`, { hasText: /已上传|失败|有误|不|请/ }).waitFor();
    assert.match(await r.textContent(`#upload-${fact}`), /已上传/, `upload ${fact}`);
  }
  await fits(r, 'application-draft');
  reached.push('evidence uploaded');
  // Leave the last number field first, as a resident closing the phone keyboard does: Chromium
  // scrolls when that field loses focus, which would move the button between press and release.
  await r.evaluate(() => document.activeElement && document.activeElement.blur());
  await r.getByRole('button', { name: '提交申请' }).click();
  if (process.env.JIFEN_BROWSER_TRACE) {
    await r.waitForTimeout(2000);
    console.log('  after submit click:', JSON.stringify({
      url: r.url(),
      error: await r.textContent('#app-error').catch(() => null),
      message: await r.textContent('#app-message').catch(() => null),
      status: await r.textContent('#app-status').catch(() => null),
      facts: await r.locator('[data-fact]').count(),
      buttons: await r.getByRole('button', { name: '提交申请' }).count(),
      alerts: await r.locator('[role=alert]').allTextContents(),
    }));
  }
  const submitError = await settle(r, '#app-status', '已提交', '#app-error').catch(async (e) => {
    const shown = await r.textContent('#app-error').catch(() => '');
    return `no answer on the page (${shown || e.message})`;
  });
  assert.equal(submitError, '');
  reached.push('submitted');

  // 4. Street, district, departments, city.
  const approveAs = async (loginName, tenantParam) => {
    const s = await session();
    await login(s.page, loginName, staff[loginName]);
    await s.page.goto(`${BASE}/review${tenantParam ? `?t=${tenantParam}` : ''}`);
    await s.page.waitForSelector('#queue a', { timeout: 15000 });
    await fits(s.page, `queue-${loginName.replace(/\d+$/, '')}`);
    await s.page.locator('#queue a').first().click();
    await s.page.waitForSelector('#case-claims tr');
    await s.page.fill('#decision-note', '材料齐全，审核通过');
    await s.page.getByRole('button', { name: '通过' }).click();
    assert.equal(await settle(s.page, '#case-message', '已办理', '#case-error'), '');
    await fits(s.page, `case-${loginName.replace(/\d+$/, '')}`);
    await s.context.close();
  };
  log('street reviewer approves');
  await approveAs(`street${suffix}`);
  reached.push('street approved');
  log('district reviewer approves');
  await approveAs(`district${suffix}`);
  reached.push('district approved');

  log('department verifiers verify');
  for (const d of departments) {
    const s = await session();
    await login(s.page, `${d}${suffix}`, staff[`${d}${suffix}`]);
    await s.page.goto(`${BASE}/verify`);
    await s.page.waitForSelector('#tasks form, #tasks p');
    // Open the evidence through the edge (access-checked) and make sure it is the PDF.
    const link = s.page.locator('#tasks a.material-link').first();
    if (await link.count()) {
      const href = await link.getAttribute('href');
      const body = await s.page.evaluate(async (u) => (await (await fetch(u)).text()).slice(0, 5), href);
      assert.equal(body, '%PDF-');
    }
    await fits(s.page, `verify-${d}`);
    assert.ok(await s.page.locator('#tasks form').count() > 0, `department ${d} has a verification task`);
    while (await s.page.locator('#tasks form').count()) {
      const before = await s.page.locator('#tasks form').count();
      await s.page.locator('#tasks form button[type=submit]').first().click();
      await s.page.locator('#tasks form').nth(before - 1).waitFor({ state: 'detached' })
        .catch(async () => { throw new Error(await s.page.textContent('#verify-error')); });
    }
    await s.context.close();
  }
  reached.push('departments verified');
  log('city reviewer approves');
  await approveAs(`city${suffix}`, TENANT);
  reached.push('city approved');

  // 5. The resident sees claimed vs verified and confirms.
  log('resident confirms the score');
  await r.goto(appUrl);
  await r.waitForSelector('#confirm-score:not(.hidden)');
  await fits(r, 'application-scored');
  await r.getByRole('button', { name: '确认积分' }).click();
  assert.equal(await settle(r, '#app-status', '已确认', '#app-error'), '');
  const verified = (await r.textContent('#verified-total')).trim();
  await fits(r, 'application-confirmed');
  reached.push(`confirmed (verified total ${verified})`);

  // 6. The admin ranks and publishes.
  log('admin runs the ranking and publishes');
  await a.goto(`${BASE}/admin?t=${TENANT}`);
  await a.waitForSelector('#run-cycle option', { state: 'attached' });
  await a.selectOption('#run-mode', 'RUN_MODE_THRESHOLD');
  await a.fill('#run-pass-mark', '100');
  await a.getByRole('button', { name: '开始排名' }).click();
  assert.equal(await settle(a, '#admin-message', '排名', '#admin-error'), '');
  await a.getByRole('button', { name: '发布公示' }).first().click();
  assert.equal(await settle(a, '#admin-message', '公示名单已发布', '#admin-error'), '');
  reached.push('ranked and published');

  // 7. Anyone finds the masked entry and the content hash.
  log('publicity list shows the masked entry');
  await p.goto(`${BASE}/publicity?t=${TENANT}`);
  await p.waitForSelector('#pub-entries tr');
  const entries = await p.textContent('#pub-entries');
  assert.match(entries, /张\*三/);
  assert.ok(!entries.includes(id), 'the full ID number is never shown');
  assert.match(await p.textContent('#pub-hash'), /[0-9a-f]{16,}/);
  await p.fill('#pub-query', '张*三');
  await p.getByRole('button', { name: '查询' }).click();
  await p.waitForSelector('#pub-entries tr');
  await fits(p, 'publicity');
  await p.goto(`${BASE}/charts?t=${TENANT}`);
  await p.waitForSelector('#chart-history[src]');
  await fits(p, 'charts-after');
  reached.push('publicity list shows 张*三');
  assert.deepEqual(pageErrors, [], 'no script errors');
  console.log(`browser test passed: ${reached.join(' → ')}`);
  await browser.close();
} catch (error) {
  console.error(`browser test failed at step "${step}" after: ${reached.join(' → ') || 'nothing'}`);
  console.error(error);
  if (pageErrors.length) console.error('page errors:', pageErrors);
  await browser.close();
  process.exit(1);
}
