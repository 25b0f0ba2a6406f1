// segmenta report: draws the tables and figures of the page from the data document
// (the JSON element with id segmenta-data). Text from the data reaches the page only
// through textContent (tables, headings) or through plotText() (figure labels),
// never as markup.
(function () {
  'use strict';

  const data = JSON.parse(document.getElementById('segmenta-data').textContent);
  const M = data.metrics || {};
  const R = data.report || {};
  const root = document.getElementById('report');
  const toc = document.getElementById('toc');
  const figures = [];
  const tocEntries = [];

  // metrics.json keys of the latent-class model shown as tables, not settings, and how
  // many values of a categorical column its tables show per class.
  const CLASS_KEYS = ['classes', 'classes_scale'];
  const TOP_LEVELS = 3;
  const PALETTE = [
    '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf',
    '#393b79', '#e7969c', '#637939', '#fdae6b', '#7b4173', '#9edae5', '#843c39', '#6b6ecf', '#b5cf6b', '#d6616b',
  ];
  const METHOD_NAMES = { kmeans: 'k-means', kprototypes: 'k-prototypes', embed: 'embeddings + k-means' };
  const PLOT_CONFIG = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ['select2d', 'lasso2d'] };
  const FONT = { family: 'system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif', size: 12, color: '#1f2430' };

  // ---------------------------------------------------------------- helpers

  function h(tag, attrs) {
    const e = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === undefined || v === null || v === false) continue;
        if (k === 'class') e.className = v;
        else if (k === 'text') e.textContent = String(v);
        else if (k === 'style') e.style.cssText = v;
        else e.setAttribute(k, String(v));
      }
    }
    for (let i = 2; i < arguments.length; i++) append(e, arguments[i]);
    return e;
  }

  function append(parent, child) {
    if (child === undefined || child === null || child === false) return;
    if (Array.isArray(child)) {
      for (const c of child) append(parent, c);
      return;
    }
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }

  // Plotly reads a few HTML tags (bold, line breaks, links...) and character
  // references in its labels; escaping & < > makes data text show as it is.
  function plotText(s) {
    return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  }

  function isNum(v) {
    return typeof v === 'number' && isFinite(v);
  }

  function num(v, digits) {
    if (!isNum(v)) return '—';
    const d = digits === undefined ? 3 : digits;
    const a = Math.abs(v);
    if (a !== 0 && (a < Math.pow(10, -d) || a >= 1e9)) return v.toExponential(2);
    return v.toLocaleString('en-US', { minimumFractionDigits: 0, maximumFractionDigits: d });
  }

  // About four significant digits, whatever the magnitude (ages, balances, shares).
  function sig(v) {
    if (!isNum(v)) return '—';
    const a = Math.abs(v);
    return num(v, a >= 1000 ? 0 : a >= 100 ? 1 : a >= 1 ? 2 : 3);
  }

  function fixed(v, digits) {
    return isNum(v) ? v.toFixed(digits) : '—';
  }

  // A final silhouette: exact, or an estimate with its standard error and sample size.
  function silhouetteText(f) {
    if (!isNum(f.silhouette_standard_error)) return fixed(f.silhouette, 4);
    return fixed(f.silhouette, 4) + ' ± ' + fixed(f.silhouette_standard_error, 4) + ' (estimated on ' +
      int(f.silhouette_sample_rows) + ' rows)';
  }

  function int(v) {
    return isNum(v) ? Math.round(v).toLocaleString('en-US') : '—';
  }

  function pct(v, digits) {
    return isNum(v) ? (100 * v).toFixed(digits === undefined ? 1 : digits) + ' %' : '—';
  }

  function seconds(v) {
    return isNum(v) ? (v < 10 ? v.toFixed(3) : v.toFixed(1)) + ' s' : '—';
  }

  function color(segment) {
    return PALETTE[((segment % PALETTE.length) + PALETTE.length) % PALETTE.length];
  }

  function methodName(m) {
    return METHOD_NAMES[m] || m;
  }

  function swatch(segment) {
    return h('span', { class: 'swatch', style: 'background:' + color(segment) });
  }

  function table(headers, rows, opts) {
    const o = opts || {};
    const thead = h('thead');
    // Optional group headers above the column headers: [label, number of columns].
    if (o.groups) thead.append(h('tr', null, o.groups.map(([label, span]) => h('th', { colspan: span > 1 ? span : null, class: span > 1 ? 'group' : null }, label))));
    thead.append(h('tr', null, headers.map((c, i) => h('th', { class: o.numeric && o.numeric[i] ? 'num' : null }, c))));
    const tbody = h('tbody');
    for (const row of rows) {
      const tr = h('tr', { class: row.className || null });
      (row.cells || row).forEach((c, i) => {
        const cell = c && c.cell ? c : { cell: c };
        tr.append(h('td', { class: [o.numeric && o.numeric[i] ? 'num' : '', o.nowrap ? 'nowrap' : '', cell.className || ''].join(' ').trim() || null }, cell.cell));
      });
      tbody.append(tr);
    }
    return h('div', { class: 'table-wrap' }, h('table', null, thead, tbody));
  }

  function facts(items) {
    return h('div', { class: 'facts' }, items.filter(Boolean).map(([label, value]) =>
      h('div', { class: 'fact' }, h('div', { class: 'value' }, value), h('div', { class: 'label' }, label))));
  }

  function section(parent, id, title, level, tocParent) {
    const s = h('section', { id: id });
    s.append(h(level === 3 ? 'h3' : 'h2', { text: title }));
    parent.append(s);
    const entry = { id: id, title: title, children: [] };
    (tocParent ? tocParent.children : tocEntries).push(entry);
    s.tocEntry = entry;
    return s;
  }

  function baseLayout(extra) {
    return Object.assign({
      font: FONT,
      margin: { l: 64, r: 18, t: 36, b: 48 },
      paper_bgcolor: '#ffffff',
      plot_bgcolor: '#ffffff',
      hovermode: 'closest',
    }, extra || {});
  }

  function axis(title, extra) {
    return Object.assign({ title: { text: title }, gridcolor: '#e8ebf0', zerolinecolor: '#c5ccd8', automargin: true }, extra || {});
  }

  // A figure is registered here and drawn once the whole page is built.
  function figure(parent, id, traces, layout, caption, cls) {
    const div = h('div', { class: 'plot' + (cls ? ' ' + cls : ''), id: 'plot-' + id, 'data-plot': id });
    const wrap = h('div', { class: 'figure' }, div);
    if (caption) wrap.append(h('p', { class: 'caption' }, caption));
    parent.append(wrap);
    figures.push({ div: div, traces: traces, layout: layout });
    return wrap;
  }

  function slug(s) {
    return String(s).toLowerCase().replace(/[^a-z0-9]+/g, '-');
  }

  // ---------------------------------------------------------------- overview

  function renderOverview() {
    const s = section(root, 'overview', 'Overview');
    const input = M.input || {};
    const out = M.outliers || {};
    const items = [
      ['input rows', int(input.rows)],
      ['columns', int((input.columns || []).length)],
      ['encoded features', int((input.features || []).length)],
      ['outliers flagged (' + (out.policy || '—') + ')', int(out.flagged)],
      ['rows clustered', int(out.clustered_rows)],
    ];
    s.append(facts(items));
    s.append(table(['method', 'segments', 'silhouette', 'Calinski-Harabasz', 'Davies-Bouldin', 'k chosen by', 'segment sizes'],
      (R.methods || []).map((m) => {
        const block = M.methods[m] || {};
        const f = block.final || {};
        const rec = (block.sweep || {}).recommendation || {};
        return [h('a', { href: '#method-' + slug(m), text: methodName(m) }), int(f.k), silhouetteText(f), num(f.calinski_harabasz, 1),
          fixed(f.davies_bouldin, 4), rec.reason || '—', (f.sizes || []).join(' / ')];
      }), { numeric: [false, true, true, true, true, false, false] }));
    s.append(h('p', { class: 'caption', text: 'Silhouette, Calinski-Harabasz and Davies-Bouldin of the chosen segments, each in its method\'s own space.' }));
    s.append(h('p', null, 'Input ', h('code', { text: input.file || '—' }), ', preset ', h('code', { text: input.preset || '—' }),
      '. Generated by segmenta ' + (R.segmenta || '') + ' with plotly.js ' + (R.plotly || '') + '.'));
    if ((R.methods || []).length > 1) {
      s.append(h('nav', { class: 'method-nav' }, R.methods.map((m) => h('a', { href: '#method-' + slug(m), text: methodName(m) })),
        h('a', { href: '#comparison', text: 'comparison' })));
    }
    if ((R.notes || []).length) s.append(h('ul', null, R.notes.map((n) => h('li', { class: 'warning', text: n }))));
  }

  // ---------------------------------------------------------------- data

  function renderData() {
    const s = section(root, 'data', 'Data');
    const input = M.input || {};
    const cols = input.columns || [];
    const rows = input.rows || 0;
    const counts = {};
    for (const c of cols) counts[c.type] = (counts[c.type] || 0) + 1;
    s.append(h('p', null, int(rows) + ' rows and ' + cols.length + ' columns: ' +
      Object.keys(counts).map((t) => counts[t] + ' ' + t).join(', ') + '.'));
    s.append(table(['column', 'type', 'missing', 'missing share', 'distinct values'],
      cols.map((c) => [c.name, c.type, int(c.missing), pct(rows ? c.missing / rows : NaN), c.distinct === null || c.distinct === undefined ? '—' : int(c.distinct)]),
      { numeric: [false, false, true, true, true] }));
    const features = input.features || [];
    if (features.length) {
      s.append(h('details', null, h('summary', { text: features.length + ' encoded features used by the outlier detector, the clustering and the surrogate' }),
        h('p', { class: 'mono' }, features.join(', '))));
    }
    const mi = (data.manifest || {}).input;
    if (mi) s.append(h('p', { class: 'note' }, 'File ', h('code', { text: mi.file || '' }), ': ' + int(mi.bytes) + ' bytes, FNV-1a 64 ', h('code', { text: mi.fnv1a64 || '' }), '.'));
  }

  // ---------------------------------------------------------------- outliers

  function renderOutliers() {
    const s = section(root, 'outliers', 'Outliers');
    const o = M.outliers || {};
    if (o.policy === 'none') {
      s.append(h('p', { class: 'note', text: 'Outlier detection was turned off (--outliers none): all ' + int(o.clustered_rows) + ' rows are clustered.' }));
      return;
    }
    s.append(facts([
      ['detector', (o.method || '—').toUpperCase()],
      ['policy', o.policy || '—'],
      ['contamination', isNum(o.contamination) ? pct(o.contamination) : '—'],
      ['flagged rows', int(o.flagged)],
      ['threshold', num(o.threshold, 4)],
      ['rows clustered', int(o.clustered_rows)],
    ]));
    if (o.space) s.append(h('p', { class: 'note' }, 'Scored in the space of the ' + o.space + '. ' +
      (o.policy === 'drop' ? 'Flagged rows are left out of the segments (their segment is empty in segments.csv).'
        : 'Flagged rows are kept in the segments and marked in segments.csv.')));
    const hist = o.score_histogram;
    if (hist && Array.isArray(hist.counts) && hist.counts.length) {
      const bins = hist.counts.length;
      const width = (hist.max - hist.min) / bins;
      const centres = hist.counts.map((_, i) => hist.min + (i + 0.5) * (width || 1));
      const colours = centres.map((c) => (isNum(o.threshold) && c > o.threshold ? '#d62728' : '#7a8fb3'));
      const layout = baseLayout({
        xaxis: axis('ECOD outlier score'),
        yaxis: axis('rows'),
        bargap: 0.05,
        showlegend: false,
        shapes: isNum(o.threshold) ? [{ type: 'line', x0: o.threshold, x1: o.threshold, yref: 'paper', y0: 0, y1: 1, line: { color: '#d62728', dash: 'dash', width: 2 } }] : [],
        annotations: isNum(o.threshold) ? [{ x: o.threshold, yref: 'paper', y: 1, text: 'threshold ' + num(o.threshold, 3), showarrow: false, xanchor: 'left', yanchor: 'bottom', font: { color: '#d62728' } }] : [],
      });
      figure(s, 'outliers-histogram', [{ type: 'bar', x: centres, y: hist.counts, width: width || 1, marker: { color: colours }, name: 'rows', hovertemplate: 'score %{x:.3f}<br>%{y} rows<extra></extra>' }],
        layout, 'Distribution of the ECOD scores of all ' + int(hist.counts.reduce((a, b) => a + b, 0)) + ' rows in ' + bins +
        ' equal bins; rows scoring above the threshold (red) are flagged.');
    }
    const contrib = o.feature_contributions || [];
    if (contrib.length) {
      const top = contrib.slice(0, 15);
      figure(s, 'outliers-features', [{
        type: 'bar', orientation: 'h',
        x: top.map((c) => c.mean_tail_score).reverse(),
        y: top.map((c) => plotText(c.feature)).reverse(),
        marker: { color: '#d6616b' },
        hovertemplate: '%{y}: %{x:.3f}<extra></extra>',
      }], baseLayout({ xaxis: axis('mean tail score over the flagged rows'), yaxis: axis('', { type: 'category' }), margin: { l: 140, r: 18, t: 20, b: 48 }, height: 120 + 22 * top.length }),
      'Features that make the outliers: mean per-feature ECOD tail score over the flagged rows' +
        (contrib.length > top.length ? ' (top ' + top.length + ' of ' + contrib.length + ').' : '.'));
    }
  }

  // ---------------------------------------------------------------- methods

  function renderMethod(m, parent) {
    const block = M.methods[m];
    const s = section(parent, 'method-' + slug(m), 'Method: ' + methodName(m));
    const fin = block.final || {};
    const sweep = block.sweep || {};
    const rec = sweep.recommendation || {};
    const objective = block.objective || sweep.objective || 'inertia';
    s.append(facts([
      ['segments (k)', int(fin.k)],
      ['silhouette', silhouetteText(fin)],
      ['Calinski-Harabasz', num(fin.calinski_harabasz, 1)],
      ['Davies-Bouldin', fixed(fin.davies_bouldin, 4)],
      [objective, num(fin[objective], 1)],
      ['rows clustered', int((data.segments.clustered || {})[m])],
    ]));
    s.append(h('p', { class: 'note' }, 'k = ' + int(fin.k) + ' (' + (rec.reason || 'fixed') + '). Metrics are measured in the ' + (block.space || 'method\'s space') + '.'));
    // The latent-class model's parameters have their own tables (renderClasses).
    const settings = Object.entries(block.details || {}).filter(([k]) => !CLASS_KEYS.includes(k));
    if (settings.length) {
      s.append(h('p', { class: 'note' }, 'Settings: ', settings.map(([k, v]) => h('span', { class: 'pill', text: k + ' = ' + (typeof v === 'object' ? JSON.stringify(v) : String(v)) }))));
    }
    renderSweep(m, block, s);
    renderSilhouettes(m, block, s);
    renderMaps(m, s);
    renderShap(m, block, s);
    renderProfiles(m, block, s);
    renderClasses(m, block, s);
  }

  // ---------------------------------------------------------------- latent classes

  // One table per segment of the latent-class model (lca): its share (the class
  // weight), per numeric column the Gaussian's mean and standard deviation on the
  // column's own scale where the run gave it (posterior-weighted), else on the model's
  // Yeo-Johnson + standardised scale, and per categorical column its most likely
  // values.
  function renderClasses(m, block, parent) {
    const classes = (block.details || {}).classes;
    if (!Array.isArray(classes) || !classes.length) return;
    const s = section(parent, m + '-classes', 'Latent-class parameters', 3, parent.tocEntry);
    s.append(h('p', { class: 'caption', text: 'Per segment: its share of the model (the class weight); each numeric column\'s normal distribution in the class (mean and standard deviation of the column\'s values, weighted by each row\'s probability of the class, or on the model\'s Yeo-Johnson + standardised scale where marked transformed); each categorical column\'s ' + TOP_LEVELS + ' most likely values in the class.' }));
    for (const c of classes) {
      const rows = [];
      for (const [name, v] of Object.entries(c.numeric || {})) {
        const original = isNum(v.original_mean);
        rows.push({ className: 'class-numeric', cells: [name, 'normal', original ? sig(v.original_mean) : sig(v.mean), original ? sig(v.original_sd) : sig(v.sd), original ? 'original' : 'transformed'] });
      }
      for (const [name, probs] of Object.entries(c.categorical || {})) {
        const top = Object.entries(probs || {}).filter(([, p]) => isNum(p)).sort((a, b) => b[1] - a[1]).slice(0, TOP_LEVELS);
        rows.push({ className: 'class-categorical', cells: [name, 'categories', { cell: h('span', null, top.map(([level, p]) => h('span', { class: 'pill', text: level + ' ' + pct(p, 0) }))) }, '', 'probability'] });
      }
      const box = h('div', { class: 'class-params', id: m + '-class-' + c.segment });
      box.append(h('h4', null, swatch(c.segment), 'Segment ' + c.segment + ' — share ' + pct(c.weight)));
      box.append(table(['column', 'distribution', 'mean / most likely values', 'sd', 'scale'], rows, { numeric: [false, false, false, true, false] }));
      s.append(box);
    }
  }

  function renderSweep(m, block, parent) {
    const s = section(parent, m + '-k', 'Choosing k', 3, parent.tocEntry);
    const sweep = block.sweep || {};
    const perK = sweep.per_k || [];
    const rec = sweep.recommendation || {};
    const objective = sweep.objective || block.objective || 'inertia';
    const chosen = (block.final || {}).k;
    const ks = perK.map((p) => p.k);
    const kRange = [Math.min(...ks) - 0.5, Math.max(...ks) + 0.5];
    if (perK.length >= 2) {
      const traces = [{ type: 'scatter', mode: 'lines+markers', x: ks, y: perK.map((p) => p[objective]), name: objective, line: { color: '#2f5fb3' }, marker: { size: 7 } }];
      if (isNum(rec.elbow)) {
        const at = perK.find((p) => p.k === rec.elbow);
        traces.push({ type: 'scatter', mode: 'markers', x: [rec.elbow], y: [at ? at[objective] : null], name: 'knee (k = ' + rec.elbow + ')', marker: { symbol: 'star', size: 16, color: '#d62728' } });
      }
      const layout = baseLayout({
        xaxis: axis('k (number of segments)', { dtick: 1, range: kRange }),
        yaxis: axis(objective),
        legend: { orientation: 'h', y: 1.12 },
        shapes: isNum(chosen) ? [{ type: 'line', x0: chosen, x1: chosen, yref: 'paper', y0: 0, y1: 1, line: { color: '#888', dash: 'dot' } }] : [],
        annotations: isNum(chosen) ? [{ x: chosen, yref: 'paper', y: 0.98, text: 'chosen k = ' + chosen, showarrow: false, xanchor: chosen === Math.max(...ks) ? 'right' : 'left', font: { color: '#555' } }] : [],
      });
      const wrap = h('div', { class: 'grid' });
      s.append(wrap);
      figure(wrap, m + '-elbow', traces, layout,
        'Elbow: ' + objective + ' of the best fit per k. ' + (isNum(rec.elbow) ? 'The knee of the curve (convex, decreasing) is at k = ' + rec.elbow + '.' : 'The curve has no knee; k was chosen by the highest silhouette.'));
      const crit = [
        ['silhouette', 'silhouette ↑', 'y', '#2ca02c'],
        ['calinski_harabasz', 'Calinski-Harabasz ↑', 'y2', '#9467bd'],
        ['davies_bouldin', 'Davies-Bouldin ↓', 'y3', '#ff7f0e'],
      ];
      figure(wrap, m + '-criteria', crit.map(([key, label, ax, c]) => ({
        type: 'scatter', mode: 'lines+markers', x: ks, y: perK.map((p) => (isNum(p[key]) ? p[key] : null)), name: label, yaxis: ax, line: { color: c },
      })), baseLayout({
        xaxis: axis('k', { dtick: 1, anchor: 'y3', range: kRange }),
        yaxis: axis('silhouette', { domain: [0.7, 1] }),
        yaxis2: axis('CH', { domain: [0.36, 0.64] }),
        yaxis3: axis('DB', { domain: [0, 0.3] }),
        showlegend: false,
        height: 420,
        shapes: isNum(chosen) ? [{ type: 'line', x0: chosen, x1: chosen, yref: 'paper', y0: 0, y1: 1, line: { color: '#888', dash: 'dot' } }] : [],
      }), 'Criteria per k: silhouette (higher is better, top), Calinski-Harabasz (higher is better), Davies-Bouldin (lower is better, bottom).', 'tall');
    } else {
      s.append(h('p', { class: 'note', text: 'k was fixed, so no range of k was swept.' }));
    }
    const best = { silhouette: rec.best_silhouette, calinski_harabasz: rec.best_calinski_harabasz, davies_bouldin: rec.best_davies_bouldin,
      stability: rec.best_stability, icl: rec.best_icl };
    const mark = (p, key, text) => ({ cell: text, className: perK.length > 1 && best[key] === p.k ? 'best' : '' });
    // Stability (where measured) and ICL (lca) are columns of their own.
    const hasStability = perK.some((p) => 'stability' in p);
    const hasIcl = perK.some((p) => 'icl' in p);
    const head = ['k', objective, 'silhouette', 'Calinski-Harabasz', 'Davies-Bouldin'];
    if (hasStability) head.push('stability');
    if (hasIcl) head.push('ICL');
    head.push('iterations', 'segment sizes', 'time');
    s.append(table(head,
      perK.map((p) => {
        const cells = [p.k + (p.k === rec.elbow ? ' (knee)' : ''), num(p[objective], 1), mark(p, 'silhouette', fixed(p.silhouette, 4)),
          mark(p, 'calinski_harabasz', num(p.calinski_harabasz, 1)), mark(p, 'davies_bouldin', fixed(p.davies_bouldin, 4))];
        if (hasStability) cells.push(mark(p, 'stability', fixed(p.stability, 4)));
        if (hasIcl) cells.push(mark(p, 'icl', num(p.icl, 1)));
        cells.push(int(p.n_iter), (p.sizes || []).join(' / '), seconds(p.seconds));
        return { className: p.k === chosen ? 'chosen' : null, cells };
      }), { numeric: head.map((name) => name !== 'segment sizes') }));
    s.append(h('p', { class: 'caption', text: 'The chosen k is highlighted' + (rec.criterion ? ` (chosen by ${rec.criterion}: ${rec.reason})` : '') +
      '; the best value of each criterion is in green.' }));
    // A sweep on a sample: every k above was fitted and scored on those rows only.
    if (sweep.sample && isNum(sweep.sample.rows))
      s.append(h('p', { class: 'note', text: 'Sampled sweep: every k was fitted and scored on a seeded sample of ' + int(sweep.sample.rows) +
        ' of the ' + int(sweep.sample.of_rows) + ' clustered rows; the chosen k was then fitted on all rows, whose criteria the segment figures show.' }));
  }

  function renderSilhouettes(m, block, parent) {
    const perK = ((block.sweep || {}).per_k || []).filter((p) => Array.isArray(p.silhouette_profile));
    if (!perK.length) return;
    const s = section(parent, m + '-silhouette', 'Silhouette plots', 3, parent.tocEntry);
    s.append(h('p', { class: 'note', text: 'For each k, the silhouette values of the clustered rows, sorted within each segment (one band per segment, ' +
      'its height proportional to the segment\'s size); the dashed line is the average silhouette. Values below 0 mark rows closer to another segment.' }));
    const grid = h('div', { class: 'grid' });
    s.append(grid);
    for (const p of perK) {
      const profile = p.silhouette_profile;
      const rows = profile.reduce((a, c) => a + (c.size || 0), 0);
      const gap = Math.max(1, Math.round(rows * 0.02));
      let y0 = 0;
      let lo = 0;
      const ticks = [];
      const traces = profile.map((c, i) => {
        const seg = isNum(c.cluster) ? c.cluster : i;
        const v = c.values_desc || [];
        const step = v.length ? (c.size || v.length) / v.length : 1;
        const ys = v.map((_, t) => y0 + (t + 0.5) * step);
        for (const x of v) lo = Math.min(lo, x);
        ticks.push([y0 + (c.size || v.length) / 2, String(seg)]);
        y0 += (c.size || v.length) + gap;
        return {
          type: 'bar', orientation: 'h', x: v, y: ys, width: step, name: 'segment ' + seg + ' (' + int(c.size) + ' rows)',
          marker: { color: color(seg), line: { width: 0 } }, hovertemplate: 'segment ' + seg + '<br>silhouette %{x:.3f}<extra></extra>',
        };
      });
      const avg = p.silhouette;
      const layout = baseLayout({
        title: { text: 'k = ' + p.k, font: { size: 13 } },
        margin: { l: 52, r: 14, t: 34, b: 42 },
        height: 320,
        showlegend: false,
        bargap: 0,
        xaxis: axis('silhouette value', { range: [Math.min(-0.1, lo - 0.02), 1] }),
        yaxis: axis('segment', { autorange: 'reversed', tickvals: ticks.map((t) => t[0]), ticktext: ticks.map((t) => t[1]), showgrid: false, zeroline: false }),
        shapes: isNum(avg) ? [{ type: 'line', x0: avg, x1: avg, yref: 'paper', y0: 0, y1: 1, line: { color: '#d62728', dash: 'dash', width: 1.5 } }] : [],
        annotations: isNum(avg) ? [{ x: avg, yref: 'paper', y: 1, text: 'average ' + avg.toFixed(3), showarrow: false, xanchor: 'left', yanchor: 'bottom', font: { color: '#d62728', size: 11 } }] : [],
      });
      const shown = isNum(p.silhouette_shown) ? p.silhouette_shown : traces.reduce((a, t) => a + t.x.length, 0);
      figure(grid, m + '-silhouette-k' + p.k, traces, layout,
        'k = ' + p.k + ': average ' + fixed(avg, 4) + '; bars show ' + int(shown) + ' of ' + int(rows) + ' values (' + pct(shown / rows) +
        ', evenly spaced ranks within each segment).');
    }
  }

  function axisTitle(map, i) {
    const info = map.info || {};
    const pv = info.percent_of_variance;
    if (map.name === 'tsne') return 't-SNE ' + (i + 1);
    const base = map.name === 'pca' ? 'PC' + (i + 1) : map.label + ' ' + (i + 1);
    return Array.isArray(pv) && isNum(pv[i]) ? base + ' (' + pv[i].toFixed(1) + ' %)' : base;
  }

  function mapCaption(m, map) {
    const info = map.info || {};
    const parts = [];
    if (map.name === 'tsne') {
      parts.push('t-SNE of ' + (isNum(info.sample_rate) && info.sample_rate < 1 ? 'a seeded sample of ' + int(info.rows) + ' clustered rows (' + pct(info.sample_rate) + ')' : 'the clustered rows') +
        (info.space ? ' in the ' + info.space : '') + ': perplexity ' + num(info.perplexity, 1) + ', ' + int(info.n_iter) + ' iterations, KL divergence ' + num(info.kl_divergence, 3) + '.');
    } else {
      const pv = info.percent_of_variance || [];
      const cum = info.cumulative_percent || [];
      const what = map.name === 'pca' ? 'variance' : 'inertia';
      parts.push(map.label + ' of ' + int(info.rows) + ' clustered rows' + (info.space ? ' in the ' + info.space : '') + '.');
      if (pv.length >= 2) {
        parts.push('The first two components explain ' + (isNum(cum[1]) ? cum[1] : pv[0] + pv[1]).toFixed(1) + ' % of the ' + what +
          (pv.length >= 3 && isNum(cum[2]) ? ', three ' + cum[2].toFixed(1) + ' %.' : '.'));
      }
    }
    parts.push(map.shown < map.total
      ? 'Showing ' + int(map.shown) + ' of ' + int(map.total) + ' points (' + pct(map.rate) + '), a seeded sample stratified by segment.'
      : 'Showing all ' + int(map.shown) + ' points.');
    return parts.join(' ');
  }

  function renderMaps(m, parent) {
    const maps = (data.maps || {})[m] || [];
    if (!maps.length) return;
    const s = section(parent, m + '-maps', 'Maps', 3, parent.tocEntry);
    s.append(h('p', { class: 'note', text: 'Projections of the clustered rows coloured by segment: 2-D and 3-D (drag to rotate). Click a legend entry to hide a segment.' }));
    for (const map of maps) {
      const grid = h('div', { class: 'grid maps' });
      s.append(h('h4', { text: map.label }), grid);
      const bySeg = new Map();
      map.segments.forEach((seg, i) => {
        if (!bySeg.has(seg)) bySeg.set(seg, []);
        bySeg.get(seg).push(i);
      });
      const segs = Array.from(bySeg.keys()).sort((a, b) => a - b);
      const pick = (a, idx) => idx.map((i) => map.coords[a][i]);
      const caption = mapCaption(m, map);
      const traces2 = segs.map((seg) => {
        const idx = bySeg.get(seg);
        return {
          type: 'scatter', mode: 'markers', name: 'segment ' + seg, x: pick(0, idx), y: pick(1, idx),
          text: idx.map((i) => 'row ' + map.rows[i]), hovertemplate: 'segment ' + seg + '<br>%{text}<extra></extra>',
          marker: { size: 4, opacity: 0.7, color: color(seg) },
        };
      });
      figure(grid, m + '-map-' + map.name + '-2d', traces2, baseLayout({
        xaxis: axis(axisTitle(map, 0)), yaxis: axis(axisTitle(map, 1)), height: 460, legend: { itemsizing: 'constant' },
      }), caption, 'tall');
      if (map.dims >= 3) {
        const traces3 = segs.map((seg) => {
          const idx = bySeg.get(seg);
          return {
            type: 'scatter3d', mode: 'markers', name: 'segment ' + seg, x: pick(0, idx), y: pick(1, idx), z: pick(2, idx),
            text: idx.map((i) => 'row ' + map.rows[i]), hovertemplate: 'segment ' + seg + '<br>%{text}<extra></extra>',
            marker: { size: 2.5, opacity: 0.8, color: color(seg) },
          };
        });
        figure(grid, m + '-map-' + map.name + '-3d', traces3, baseLayout({
          height: 460, margin: { l: 0, r: 0, t: 20, b: 0 }, legend: { itemsizing: 'constant' },
          scene: { xaxis: { title: { text: axisTitle(map, 0) } }, yaxis: { title: { text: axisTitle(map, 1) } }, zaxis: { title: { text: axisTitle(map, 2) } } },
        }), '3-D: ' + caption, 'tall');
      }
    }
  }

  function renderShap(m, block, parent) {
    const e = block.explanation;
    const s = section(parent, m + '-shap', 'What drives the segments (SHAP)', 3, parent.tocEntry);
    if (!e || !Array.isArray(e.mean_abs_shap) || !e.mean_abs_shap.length) {
      s.append(h('p', { class: 'note', text: 'No surrogate explanation in this run (--no-explain, or a single segment).' }));
      return;
    }
    const features = e.features || [];
    const order = (e.feature_order || features.map((_, j) => j)).slice(0, 20);
    const names = order.map((j) => plotText(features[j] === undefined ? 'feature ' + j : features[j]));
    const classOrder = e.class_order || e.classes.map((_, c) => c);
    const traces = classOrder.map((c) => {
      const seg = e.classes[c];
      return {
        type: 'bar', orientation: 'h', name: 'segment ' + seg, y: names, x: order.map((j) => e.mean_abs_shap[c][j]),
        marker: { color: color(seg) }, hovertemplate: 'segment ' + seg + '<br>%{y}: %{x:.4f}<extra></extra>',
      };
    });
    figure(s, m + '-shap', traces, baseLayout({
      barmode: 'stack',
      height: 140 + 24 * order.length,
      margin: { l: 160, r: 18, t: 20, b: 48 },
      xaxis: axis('mean(|SHAP value|) (average impact on the segment margins)'),
      yaxis: axis('', { type: 'category', autorange: 'reversed' }),
      legend: { traceorder: 'normal' },
    }), 'Mean absolute SHAP value per segment and feature of a gradient-boosted surrogate trained to predict the segment ' +
      '(shap\'s summary_plot bar): bars are stacked by segment and features ordered by their total' +
      (features.length > order.length ? ' (top ' + order.length + ' of ' + features.length + ').' : '.'));
    s.append(h('p', { class: 'note', text: 'Surrogate: ' + (e.model || 'gradient-boosted trees') + '; training accuracy ' + pct(e.train_accuracy, 2) +
      (isNum(e.holdout_accuracy) ? ', held-out accuracy ' + pct(e.holdout_accuracy, 2) : '') + ' on ' + int(e.trained_rows) + ' rows; SHAP values of ' + int(e.shap_rows) +
      ' rows (additivity error ' + num(e.additivity_max_abs_error, 8) + ').' }));
  }

  // ---------------------------------------------------------------- profiles

  function numericSummary(c) {
    return sig(c.mean) + ' (' + sig(c.median) + ')';
  }

  function categoricalSummary(c) {
    return (c.mode === undefined || c.mode === null ? '—' : String(c.mode)) + ' (' + pct(c.mode_share, 0) + ')';
  }

  function traitText(d) {
    if (d.level !== undefined && d.level !== null && d.level !== '')
      return d.column + ' = ' + d.level + ': ' + pct(d.segment_value, 0) + ' vs ' + pct(d.population_value, 0);
    return d.column + ' ' + (d.score > 0 ? 'high' : 'low') + ': ' + sig(d.segment_value) + ' vs ' + sig(d.population_value);
  }

  function renderProfiles(m, block, parent) {
    const p = block.profiles;
    if (!p || !Array.isArray(p.segments)) return;
    const s = section(parent, m + '-profiles', 'Segment profiles', 3, parent.tocEntry);
    const pop = p.population || { columns: [] };
    s.append(table(['segment', 'rows', 'share', 'what sets it apart'], p.segments.map((seg) => [
      h('span', null, swatch(seg.segment), String(seg.segment)), int(seg.size), pct(seg.share),
      h('span', null, (seg.distinguishing || []).map((d) => h('span', { class: 'pill', text: traitText(d) }))),
    ]), { numeric: [false, true, true, false] }));

    s.append(h('h4', { text: 'Columns by segment' }));
    s.append(h('p', { class: 'caption', text: 'Numeric columns: mean (median); categorical columns: most frequent value (its share). The population is every clustered row.' }));
    const header = ['column', 'all clustered rows'].concat(p.segments.map((seg) => 'segment ' + seg.segment));
    s.append(table(header, pop.columns.map((c, j) => [c.name, c.type === 'numeric' ? numericSummary(c) : categoricalSummary(c)].concat(
      p.segments.map((seg) => {
        const sc = (seg.columns || [])[j];
        return !sc ? '—' : sc.type === 'numeric' ? numericSummary(sc) : categoricalSummary(sc);
      }))), { nowrap: true }));

    for (const seg of p.segments) s.append(segmentDetails(m, seg, pop, 'Segment ' + seg.segment, seg.segment));
    if (p.unassigned) s.append(segmentDetails(m, p.unassigned, pop, 'Rows not clustered (outliers)', null));
  }

  function segmentDetails(m, seg, pop, title, segment) {
    const d = h('details', { class: 'segment' });
    d.append(h('summary', null, segment === null ? null : swatch(segment), title + ' — ' + int(seg.size) + ' rows' + (isNum(seg.share) ? ' (' + pct(seg.share) + ')' : '')));
    const popCol = {};
    for (const c of pop.columns || []) popCol[c.name] = c;
    const numeric = (seg.columns || []).filter((c) => c.type === 'numeric');
    const categorical = (seg.columns || []).filter((c) => c.type !== 'numeric');
    if ((seg.distinguishing || []).length) {
      d.append(h('h4', { text: 'Distinguishing features' }),
        h('ul', null, seg.distinguishing.map((x) => h('li', { text: traitText(x) + ' (score ' + num(x.score, 2) + ')' }))));
    }
    if (numeric.length) {
      d.append(h('h4', { text: 'Numeric columns' }), table(['column', 'mean', 'median', 'q1', 'q3', 'min', 'max', 'population mean', 'population median', 'missing'],
        numeric.map((c) => {
          const pc = popCol[c.name] || {};
          return [c.name, num(c.mean, 2), num(c.median, 2), num(c.q1, 2), num(c.q3, 2), num(c.min, 2), num(c.max, 2), num(pc.mean, 2), num(pc.median, 2), int(c.missing)];
        }), { numeric: [false, true, true, true, true, true, true, true, true, true] }));
    }
    if (categorical.length) {
      d.append(h('h4', { text: 'Categorical columns' }), table(['column', 'most frequent', 'share', 'population share', 'over-represented values (share, lift)'],
        categorical.map((c) => {
          const pc = popCol[c.name] || {};
          const popLevel = (pc.levels || []).find((l) => l.level === c.mode);
          const over = (c.levels || []).filter((l) => isNum(l.lift) && l.lift > 1 && l.share >= 0.02)
            .sort((a, b) => b.lift - a.lift).slice(0, 3);
          return [c.name, c.mode === null || c.mode === undefined ? '—' : String(c.mode), pct(c.mode_share), pct(popLevel ? popLevel.share : NaN),
            h('span', null, over.map((l) => h('span', { class: 'pill', text: l.level + ' ' + pct(l.share, 0) + ', ×' + l.lift.toFixed(2) })))];
        }), { numeric: [false, false, true, true, false] }));
    }
    const reps = seg.representatives || [];
    if (reps.length) {
      const repData = data.representatives || { columns: [], rows: {} };
      // The identifier comes from segments.csv, unless the input's columns show it already.
      const idColumn = (data.segments || {}).id_column;
      const idName = idColumn && !(repData.columns || []).includes(idColumn) ? idColumn : null;
      const header = ['row'].concat(idName ? [idName] : [], repData.columns || []);
      d.append(h('h4', { text: 'Representative customers (closest to the segment centre)' }),
        table(header, reps.map((r) => {
          const e = repData.rows[String(r)] || {};
          return [String(r)].concat(idName ? [e.id === undefined ? '—' : e.id] : [], e.values || (repData.columns || []).map(() => '—'));
        })));
    }
    return d;
  }

  // ---------------------------------------------------------------- comparison

  function renderComparison() {
    const c = M.comparison;
    if (!c || !Array.isArray(c.methods)) return;
    const s = section(root, 'comparison', 'Method comparison');
    s.append(h('p', { class: 'note', text: 'Each method\'s segments scored in its own space and in a common space, ' + (c.common_space || 'the encoded features') +
      ', where the numbers are comparable across methods.' }));
    s.append(table(['method', 'k', 'own', 'common', 'own', 'common', 'own', 'common', 'segment sizes'],
      c.methods.map((x) => {
        const o = x.own_space || {};
        const k = x.common_space || {};
        return [methodName(x.method), int(x.k), fixed(o.silhouette, 4), fixed(k.silhouette, 4), num(o.calinski_harabasz, 1), num(k.calinski_harabasz, 1),
          fixed(o.davies_bouldin, 4), fixed(k.davies_bouldin, 4), (x.sizes || []).join(' / ')];
      }), { numeric: [false, true, true, true, true, true, true, true, false], groups: [['', 1], ['', 1], ['silhouette ↑', 2], ['Calinski-Harabasz ↑', 2], ['Davies-Bouldin ↓', 2], ['', 1]] }));
    s.append(h('ul', { class: 'note' }, c.methods.map((x) => h('li', { text: 'Own space of ' + methodName(x.method) + ': ' + ((x.own_space || {}).space || '—') + '.' }))));
    const ari = c.adjusted_rand_index;
    if (ari && Array.isArray(ari.matrix) && ari.matrix.length) {
      const names = ari.methods.map((n) => plotText(methodName(n)));
      figure(s, 'comparison-ari', [{
        type: 'heatmap', z: ari.matrix, x: names, y: names, zmin: 0, zmax: 1, colorscale: [[0, '#f4f7fb'], [1, '#2f5fb3']],
        texttemplate: '%{z:.3f}', hovertemplate: '%{y} vs %{x}: %{z:.3f}<extra></extra>',
      }], baseLayout({ height: 180 + 70 * names.length, width: 300 + 120 * names.length, xaxis: axis('', { type: 'category', tickangle: 0 }), yaxis: axis('', { type: 'category', autorange: 'reversed' }) }),
      'Adjusted Rand index between the methods\' segments of the same rows (1 = the same partition, about 0 = unrelated).');
    }
  }

  // ---------------------------------------------------------------- diagnostics, settings

  function renderDiagnostics() {
    const s = section(root, 'diagnostics', 'Diagnostics');
    const diags = M.diagnostics || [];
    if (!diags.length) s.append(h('p', { class: 'note', text: 'The run reported no diagnostics.' }));
    else s.append(table(['level', 'stage', 'code', 'message'], diags.map((d) => [
      { cell: d.level, className: d.level === 'warning' ? 'warning' : '' }, d.stage, h('code', { text: d.code }), d.message])));
  }

  function valueText(v) {
    if (v === null || v === undefined) return '—';
    if (typeof v === 'object') return JSON.stringify(v);
    return String(v);
  }

  function renderSettings() {
    const s = section(root, 'settings', 'Run settings');
    const man = data.manifest || {};
    if (Array.isArray(man.command_line) && man.command_line.length) {
      s.append(h('h4', { text: 'Command line' }), h('pre', { class: 'command mono', text: man.command_line.join(' ') }));
    }
    const params = man.parameters || {};
    const entries = Object.entries(params);
    if (entries.length) {
      const perRow = 3;
      const rows = [];
      for (let i = 0; i < entries.length; i += perRow) {
        const row = [];
        for (let j = i; j < i + perRow; j++) {
          if (j < entries.length) row.push(h('code', { text: entries[j][0] }), valueText(entries[j][1]));
          else row.push('', '');
        }
        rows.push(row);
      }
      const header = [];
      for (let j = 0; j < perRow; j++) header.push('parameter', 'value');
      s.append(h('h4', { text: 'Parameters' }), table(header, rows));
    }
    const timings = M.timings || man.timings || {};
    const stages = Object.entries(timings).filter(([k]) => k !== 'total').sort((a, b) => b[1] - a[1]);
    if (stages.length) {
      const total = isNum(timings.total) ? timings.total : stages.reduce((a, [, v]) => a + (isNum(v) ? v : 0), 0);
      s.append(h('h4', { text: 'Time per stage' }), table(['stage', 'time', 'share'],
        stages.map(([k, v]) => [k, seconds(v), pct(total ? v / total : NaN)]).concat([{ className: 'total', cells: ['total', seconds(total), ''] }]),
        { numeric: [false, true, true] }));
    }
    if (Array.isArray(man.files)) s.append(h('p', { class: 'note', text: 'Files written: ' + man.files.join(', ') + '.' }));
    s.append(h('p', { class: 'note', text: 'segmenta ' + (R.segmenta || '') + ', plotly.js ' + (R.plotly || '') + (man.started ? ', run started ' + man.started : '') +
      '. Maps show at most ' + int(R.max_map_points) + ' points each and silhouette plots about ' + int(R.max_silhouette_values) + ' bars per k (seed ' + R.seed + ').' }));
  }

  // ---------------------------------------------------------------- contents and drawing

  function renderToc() {
    const list = (entries) => h('ol', null, entries.map((e) => h('li', null, h('a', { href: '#' + e.id, text: e.title }), e.children.length ? list(e.children) : null)));
    toc.append(h('div', { class: 'toc-title', text: 'Contents' }), list(tocEntries));
  }

  async function drawFigures() {
    if (typeof Plotly === 'undefined') {
      root.prepend(h('p', { class: 'warning', text: 'plotly.js did not load: the figures cannot be drawn.' }));
      console.error('segmenta report: plotly.js is not available');
      document.documentElement.setAttribute('data-figures', 'failed');
      return;
    }
    let failed = 0;
    for (const f of figures) {
      try {
        await Plotly.newPlot(f.div, f.traces, f.layout, PLOT_CONFIG);
      } catch (err) {
        failed++;
        f.div.append(h('p', { class: 'warning', text: 'This figure could not be drawn: ' + err }));
        console.error('segmenta report: figure ' + f.div.id + ' failed: ' + err);
      }
    }
    document.documentElement.setAttribute('data-figures', failed ? 'failed' : 'drawn');
  }

  renderOverview();
  renderData();
  renderOutliers();
  for (const m of R.methods || []) if (M.methods && M.methods[m]) renderMethod(m, root);
  renderComparison();
  renderDiagnostics();
  renderSettings();
  renderToc();
  document.documentElement.setAttribute('data-figure-count', String(figures.length));
  drawFigures();
})();
