// Browser test of report.html: opens reports from file:// in headless Chromium and
// checks that they render offline and completely.
//
//   node tests/browser/report_test.mjs --screenshots DIR REPORT.html... [--hostile REPORT.html]
//
// For every report: no console error, no page error, no request other than the
// page itself (file:, data:, blob:); every figure the data document calls for is
// drawn by plotly with the expected traces and points, and nothing else is drawn.
// The expectation is derived here from the data document (the report's input),
// independently of the page's script. A full-page screenshot is saved to DIR.
// Reports given with --hostile come from data whose column names and values are
// markup: they must show that text literally and run none of it.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
let screenshots = null;
const reports = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--screenshots') screenshots = args[++i];
  else if (args[i] === '--hostile') reports.push({ file: args[++i], hostile: true });
  else reports.push({ file: args[i], hostile: false });
}
if (!screenshots || !reports.length || reports.some((r) => !r.file)) {
  console.error('usage: report_test.mjs --screenshots DIR REPORT.html... [--hostile REPORT.html]');
  process.exit(2);
}
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
if (!fs.existsSync(executablePath)) {
  console.error(`report_test: ${executablePath} not found (scripts/setup installs Debian's chromium; CHROMIUM overrides the path)`);
  process.exit(1);
}

// ---------------------------------------------------------------- expectations

function finite(v) {
  return typeof v === 'number' && Number.isFinite(v);
}

/// The figures a report must show, from its data document: id -> {traces, points, gl}.
/// points counts the values of every trace; drawn counts the markers or bars an SVG
/// figure must have in the DOM (finite values only).
function expectedFigures(doc) {
  const M = doc.metrics;
  const out = new Map();
  const o = M.outliers || {};
  if (o.score_histogram && o.score_histogram.counts.length) {
    const n = o.score_histogram.counts.length;
    out.set('outliers-histogram', { traces: 1, points: n, drawn: n });
  }
  if ((o.feature_contributions || []).length) {
    const n = Math.min(15, o.feature_contributions.length);
    out.set('outliers-features', { traces: 1, points: n, drawn: n });
  }
  for (const m of doc.report.methods) {
    const block = M.methods[m];
    const perK = block.sweep.per_k;
    const objective = block.sweep.objective;
    if (perK.length >= 2) {
      const knee = finite(block.sweep.recommendation.elbow) ? 1 : 0;
      out.set(`${m}-elbow`, { traces: 1 + knee, points: perK.length + knee, drawn: perK.filter((p) => finite(p[objective])).length + knee });
      let drawn = 0;
      for (const key of ['silhouette', 'calinski_harabasz', 'davies_bouldin']) drawn += perK.filter((p) => finite(p[key])).length;
      out.set(`${m}-criteria`, { traces: 3, points: 3 * perK.length, drawn });
    }
    for (const p of perK) {
      if (!Array.isArray(p.silhouette_profile)) continue;
      const n = p.silhouette_profile.reduce((a, c) => a + c.values_desc.length, 0);
      if (finite(p.silhouette_shown) && p.silhouette_shown !== n) throw new Error(`${m} k=${p.k}: silhouette_shown ${p.silhouette_shown} but ${n} values`);
      out.set(`${m}-silhouette-k${p.k}`, { traces: p.silhouette_profile.length, points: n, drawn: n });
    }
    for (const map of (doc.maps || {})[m] || []) {
      const segments = new Set(map.segments).size;
      const n = map.rows.length;
      if (map.shown !== n || map.segments.length !== n || map.coords.some((c) => c.length !== n)) throw new Error(`${m} ${map.name}: inconsistent map`);
      if (n > doc.report.max_map_points) throw new Error(`${m} ${map.name}: ${n} points exceed the cap ${doc.report.max_map_points}`);
      out.set(`${m}-map-${map.name}-2d`, { traces: segments, points: n, drawn: n });
      if (map.dims >= 3) out.set(`${m}-map-${map.name}-3d`, { traces: segments, points: n, gl: true });
    }
    const e = block.explanation;
    if (e && e.mean_abs_shap && e.mean_abs_shap.length) {
      const n = e.classes.length * Math.min(20, e.features.length);
      out.set(`${m}-shap`, { traces: e.classes.length, points: n, drawn: n });
    }
  }
  const ari = M.comparison && M.comparison.adjusted_rand_index;
  if (ari && ari.matrix.length) out.set('comparison-ari', { traces: 1, points: ari.matrix.length * ari.matrix.length });
  return out;
}

// ---------------------------------------------------------------- checks in the page

/// What plotly drew in each figure container of the page.
function inspectFigures() {
  const result = [];
  for (const div of document.querySelectorAll('[data-plot]')) {
    const traces = div.data || [];
    let points = 0;
    for (const t of traces) points += t.type === 'heatmap' ? t.z.flat().length : (t.x || []).length;
    const svgPoints = div.querySelectorAll('.scatterlayer path.point, .barlayer .point').length;
    const canvas = div.querySelector('canvas');
    result.push({
      id: div.getAttribute('data-plot'),
      plotly: div.classList.contains('js-plotly-plot'),
      traces: traces.length,
      points,
      svgPoints,
      gl: !!(canvas && canvas.width > 0 && canvas.height > 0),
      height: div.getBoundingClientRect().height,
    });
  }
  return result;
}

// ---------------------------------------------------------------- run

const failures = [];
const shots = new Set();
let passed = 0;
function check(ok, what) {
  if (ok) passed++;
  else failures.push(what);
}

const browser = await chromium.launch({
  executablePath,
  headless: true,
  // Software WebGL for the 3-D maps on machines without a GPU.
  args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist'],
});
try {
  fs.mkdirSync(screenshots, { recursive: true });
  for (const report of reports) {
    const name = path.basename(path.dirname(path.resolve(report.file))) + '/' + path.basename(report.file);
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const errors = [];
    const requests = [];
    page.on('console', (msg) => { if (msg.type() === 'error') errors.push('console: ' + msg.text()); });
    page.on('pageerror', (err) => errors.push('page error: ' + err.message));
    page.on('request', (req) => { if (!/^(file|data|blob|about):/.test(req.url())) requests.push(req.url()); });
    page.on('dialog', (d) => { errors.push('dialog: ' + d.message()); d.dismiss(); });

    await page.goto(pathToFileURL(path.resolve(report.file)).href, { waitUntil: 'load' });
    await page.waitForFunction(() => document.documentElement.hasAttribute('data-figures'), null, { timeout: 120000 });
    const state = await page.evaluate(() => document.documentElement.getAttribute('data-figures'));
    check(state === 'drawn', `${name}: figures state is '${state}', expected 'drawn'`);

    const doc = await page.evaluate(() => JSON.parse(document.getElementById('segmenta-data').textContent));
    const expected = expectedFigures(doc);
    const drawn = await page.evaluate(inspectFigures);
    const seen = new Set();
    for (const f of drawn) {
      seen.add(f.id);
      const want = expected.get(f.id);
      if (!want) {
        failures.push(`${name}: unexpected figure ${f.id}`);
        continue;
      }
      check(f.plotly, `${name}: ${f.id} was not drawn by plotly`);
      check(f.height > 100, `${name}: ${f.id} is ${f.height}px high`);
      check(f.traces === want.traces, `${name}: ${f.id} has ${f.traces} traces, expected ${want.traces}`);
      check(f.points === want.points, `${name}: ${f.id} has ${f.points} points, expected ${want.points}`);
      if (want.drawn !== undefined) check(f.svgPoints === want.drawn, `${name}: ${f.id} shows ${f.svgPoints} markers or bars, expected ${want.drawn}`);
      if (want.gl) check(f.gl, `${name}: ${f.id} has no WebGL canvas`);
    }
    for (const id of expected.keys()) check(seen.has(id), `${name}: figure ${id} is missing`);
    check(expected.size >= 1, `${name}: no figure expected; the data document looks empty`);

    // The page's tables come from the same document: one row per segment in each
    // method's overview, one section per method.
    for (const m of doc.report.methods) {
      const sections = await page.locator(`#method-${m}`).count();
      check(sections === 1, `${name}: no section for method ${m}`);
      const segRows = await page.locator(`#${m}-profiles table`).first().locator('tbody tr').count();
      const k = doc.metrics.methods[m].profiles.segments.length;
      check(segRows === k, `${name}: ${m} profile overview has ${segRows} rows, expected ${k}`);
      // The latent-class model: one parameter table per segment with its share, a row
      // per numeric column (mean and sd on the original scale when the run gave them)
      // and per categorical column (its most probable value first).
      const classes = (doc.metrics.methods[m].details || {}).classes;
      if (!Array.isArray(classes)) continue;
      const tables = await page.locator(`#${m}-classes table`).count();
      check(tables === classes.length, `${name}: ${m} has ${tables} class parameter tables, expected ${classes.length}`);
      for (const c of classes) {
        const box = page.locator(`#${m}-class-${c.segment}`);
        const title = await box.locator('h4').innerText();
        const share = (100 * c.weight).toFixed(1) + ' %';
        check(title.includes(`Segment ${c.segment}`) && title.includes(share), `${name}: ${m} class ${c.segment} title '${title}' lacks its share ${share}`);
        const cells = await box.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => Array.from(tr.cells).map((td) => td.innerText)));
        const numeric = Object.entries(c.numeric || {}), categorical = Object.entries(c.categorical || {});
        check(cells.length === numeric.length + categorical.length, `${name}: ${m} class ${c.segment} has ${cells.length} rows, expected ${numeric.length + categorical.length}`);
        numeric.forEach(([col, v], i) => {
          const row = cells[i] || [];
          const scale = finite(v.original_mean) ? 'original' : 'transformed';
          const mean = finite(v.original_mean) ? v.original_mean : v.mean;
          const shown = Number((row[2] || '').replace(/,/g, ''));
          check(row[0] === col && row[4] === scale, `${name}: ${m} class ${c.segment} row ${i} is '${row.join(' | ')}', expected ${col} on the ${scale} scale`);
          check(Math.abs(shown - mean) <= 0.01 * Math.abs(mean) + 0.001, `${name}: ${m} class ${c.segment} ${col} shows mean ${row[2]}, the model has ${mean}`);
        });
        categorical.forEach(([col, probs], i) => {
          const row = cells[numeric.length + i] || [];
          const best = Object.entries(probs).sort((a, b) => b[1] - a[1])[0];
          const want = best[0] + ' ' + (100 * best[1]).toFixed(0) + ' %';
          check(row[0] === col && (row[2] || '').startsWith(want), `${name}: ${m} class ${c.segment} ${col} shows '${row[2]}', expected it to start with '${want}'`);
        });
      }
    }

    if (report.hostile) {
      const hostile = await page.evaluate(() => ({
        flag: window.__hostile === undefined ? null : String(window.__hostile),
        images: document.querySelectorAll('img').length,
        text: document.body.innerText,
        title: document.title,
      }));
      check(hostile.flag === null, `${name}: markup from the data ran (window.__hostile = ${hostile.flag})`);
      check(hostile.images === 0, `${name}: ${hostile.images} <img> elements made from data`);
      check(hostile.text.includes('<img src=x onerror=window.__hostile=1>'), `${name}: the hostile column name is not shown as text`);
      check(hostile.text.includes('<b>bold</b>'), `${name}: the hostile level is not shown as text`);
      const labels = await page.evaluate(() => Array.from(document.querySelectorAll('[data-plot] .ytick text')).map((t) => t.textContent));
      check(labels.some((t) => t.includes('<img')), `${name}: figure labels do not show the hostile feature name literally`);
    }

    let shot = path.join(screenshots, path.basename(report.file, '.html') + (report.hostile ? '-hostile' : '') + '.png');
    if (shots.has(shot)) shot = path.join(screenshots, path.basename(path.dirname(path.resolve(report.file))) + '-' + path.basename(shot));
    shots.add(shot);
    await page.screenshot({ path: shot, fullPage: true });
    check(fs.statSync(shot).size > 10000, `${name}: screenshot ${shot} is nearly empty`);

    for (const e of errors) failures.push(`${name}: ${e}`);
    for (const r of requests) failures.push(`${name}: network request to ${r} (the report must work offline)`);
    console.log(`report_test: ${name}: ${drawn.length} figures, ${errors.length} errors, screenshot ${shot}`);
    await page.close();
  }
} finally {
  await browser.close();
}

for (const f of failures) console.log('FAIL ' + f);
console.log(`${passed} passed, ${failures.length} failed`);
process.exit(failures.length ? 1 : 0);
