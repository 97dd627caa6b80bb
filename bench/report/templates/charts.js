// The report's charts, drawn in the browser from the JSON payload in <script id="chart-data">: RD curves per
// class and per sequence, quality and bits per frame, BD-rate against complexity. A chart is drawn when it
// is first shown (its metric selected, its <details> opened), and redrawn when the rate axis, the codecs shown
// or its zoom change. Every name is set as text (textContent), never parsed as markup.
(function () {
  'use strict';
  var NS = 'http://www.w3.org/2000/svg';
  var DATA = JSON.parse(document.getElementById('chart-data').textContent);
  // DATA.codecs: name -> [colour, marker, SVG dash pattern ('' solid), label, filled markers, anchor].
  var state = {rate: 'bpp', log: false, hidden: {}, zoom: {}, metric: null};
  var tip = document.getElementById('tip');

  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (parent) parent.appendChild(e);
    return e;
  }
  function label(parent, x, y, s, attrs) {
    var t = el('text', Object.assign({x: x, y: y}, attrs || {}), parent);
    t.textContent = s;
    return t;
  }
  function fmt(v) {
    if (v === 0) return '0';
    var a = Math.abs(v);
    return String(Number(v.toPrecision(a >= 1000 || a < 0.01 ? 3 : 4)));
  }
  function niceTicks(lo, hi) {
    var raw = (hi - lo) / 5, m = Math.pow(10, Math.floor(Math.log10(raw))), t = [], v;
    var step = [1, 2, 2.5, 5, 10].map(function (k) { return k * m; }).find(function (k) { return k >= raw; });
    for (v = Math.ceil(lo / step) * step; v <= hi + 1e-9 * step; v += step) t.push(v);
    return t;
  }
  function logTicks(lo, hi) {  // in log10 units
    var t = [], e;
    for (e = Math.floor(lo); e <= Math.ceil(hi); e++) {
      [1, 2, 5].forEach(function (m) { var v = Math.log10(m) + e; if (v >= lo && v <= hi) t.push(v); });
    }
    return t.length ? t : [lo, hi];
  }
  function marker(shape, x, y, r, colour, parent, filled) {
    var g = el('g', {fill: filled === false ? '#fff' : colour, stroke: colour, 'stroke-width': 1}, parent);
    parent = g;
    var sides = {diamond: 4, triangle: 3, triangle_down: 3, star: 5, hexagon: 6, pentagon: 5}[shape];
    if (shape === 'square') return el('rect', {x: x - r, y: y - r, width: 2 * r, height: 2 * r}, parent);
    if (sides) {
      var rot = shape === 'triangle_down' ? Math.PI / 2 : shape === 'diamond' ? 0 : -Math.PI / 2, pts = [], k;
      for (k = 0; k < sides; k++) {
        pts.push((x + 1.2 * r * Math.cos(rot + 2 * Math.PI * k / sides)).toFixed(1) + ',' +
                 (y + 1.2 * r * Math.sin(rot + 2 * Math.PI * k / sides)).toFixed(1));
      }
      return el('polygon', {points: pts.join(' ')}, parent);
    }
    if (shape === 'plus' || shape === 'cross') {
      var a = shape === 'plus' ? r : 0.7 * r;
      var d = shape === 'plus' ? 'M' + (x - a) + ',' + y + 'H' + (x + a) + 'M' + x + ',' + (y - a) + 'V' + (y + a)
        : 'M' + (x - a) + ',' + (y - a) + 'L' + (x + a) + ',' + (y + a) + 'M' + (x - a) + ',' + (y + a) + 'L' + (x + a) + ',' + (y - a);
      return el('path', {d: d, stroke: colour, 'stroke-width': 2}, parent);
    }
    return el('circle', {cx: x, cy: y, r: r}, parent);
  }

  function stroke(st) {  // a curve's line: its colour, its source's dash pattern, heavier for the anchor
    return Object.assign({stroke: st[0], 'stroke-width': st[5] ? 2.6 : 1.5}, st[2] ? {'stroke-dasharray': st[2]} : {});
  }
  function fit(s, room) {  // a legend label cut to ROOM px (about 6.2 px a character), the whole in its tooltip
    var n = Math.floor(room / 6.2);
    return s.length <= n ? s : s.slice(0, Math.max(n - 1, 4)) + '\u2026';
  }

  // spec: {title, x, y, logX, logY, zoomable, series: [{codec, line, allMarkers, pts: [[x, y, tip, ring]]}]}
  function draw(fig, spec) {
    var W = Number(fig.dataset.width || 440), left = 58, right = 10, top = 24, bottom = 42;
    // A curve without a point of this chart's metric is not drawn, so it is not in the legend either.
    var series = spec.series.filter(function (s) { return s.pts.some(function (p) { return p[0] !== null && p[1] !== null; }); });
    var shown = series.filter(function (s) { return !state.hidden[s.codec]; });
    var names = series.map(function (s) { return s.codec; }).filter(function (c, i, a) { return a.indexOf(c) === i; });
    // The legend: every codec of the chart, a row at a time under the axis label; hidden codecs greyed.
    var rows = [[]], x = 0;
    names.forEach(function (c) {
      var w = 30 + 6.2 * fit(DATA.codecs[c][3], W - 46).length;
      if (x + w > W - 16 && rows[rows.length - 1].length) { rows.push([]); x = 0; }
      rows[rows.length - 1].push([c, x]); x += w;
    });
    var H = top + 230 + bottom + 8 + 16 * rows.length, pw = W - left - right, ph = 230;
    var svg = el('svg', {class: 'chart', width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, role: 'img',
                         'aria-label': spec.title});
    label(svg, left + pw / 2, 15, spec.title, {'text-anchor': 'middle', class: 'ct'});
    var tx = function (v) { return spec.logX ? Math.log10(v) : v; }, ty = function (v) { return spec.logY ? Math.log10(v) : v; };
    var xs = [], ys = [];
    shown.forEach(function (s) {
      s.pts.forEach(function (p) {
        if ((spec.logX && !(p[0] > 0)) || (spec.logY && !(p[1] > 0))) return;
        xs.push(tx(p[0])); ys.push(ty(p[1]));
      });
    });
    el('rect', {x: left, y: top, width: pw, height: ph, class: 'pa'}, svg);
    var y0 = top + ph;
    label(svg, left + pw / 2, y0 + 32, spec.x + (spec.logX ? ' [log]' : ''), {'text-anchor': 'middle', class: 'xl'});
    label(svg, 0, 0, spec.y + (spec.logY ? ' [log]' : ''), {'text-anchor': 'middle', transform: 'translate(13,' + (top + ph / 2) + ') rotate(-90)'});
    rows.forEach(function (row, i) {
      row.forEach(function (entry) {
        var c = entry[0], st = DATA.codecs[c], lx = 8 + entry[1], ly = y0 + 52 + 16 * i;
        var g = el('g', {class: 'lg' + (state.hidden[c] ? ' off' : '')}, svg);
        el('line', Object.assign({x1: lx, y1: ly - 4, x2: lx + 18, y2: ly - 4}, stroke(st)), g);
        marker(st[1], lx + 9, ly - 4, 3, st[0], g, st[4]);
        label(g, lx + 23, ly, fit(st[3], W - 46));
        if (fit(st[3], W - 46) !== st[3]) el('title', {}, g).textContent = st[3];
      });
    });
    if (!xs.length) {
      label(svg, left + pw / 2, top + ph / 2, 'no data', {'text-anchor': 'middle'});
      fig.replaceChildren(svg);
      return;
    }
    var lo = Math.min.apply(null, xs), hi = Math.max.apply(null, xs), ylo = Math.min.apply(null, ys), yhi = Math.max.apply(null, ys);
    var padX = spec.logX ? 0.06 : (hi - lo) * 0.05 || Math.abs(hi) * 0.05 || 1, padY = (yhi - ylo) * 0.06 || 1;
    lo = spec.logX || lo < 0 ? lo - padX : Math.max(0, lo - padX); hi += padX; ylo -= padY; yhi += padY;
    var z = state.zoom[fig.id];
    if (z && spec.zoomable) { lo = z[0]; hi = z[1]; ylo = z[2]; yhi = z[3]; }
    var px = function (v) { return left + (v - lo) / (hi - lo) * pw; }, py = function (v) { return top + ph - (v - ylo) / (yhi - ylo) * ph; };
    var grid = el('g', {class: 'ticks'}, svg);
    (spec.logX ? logTicks(lo, hi) : niceTicks(lo, hi)).forEach(function (t) {
      el('line', {x1: px(t), y1: top, x2: px(t), y2: y0, class: 'gr'}, grid);
      label(grid, px(t).toFixed(1), y0 + 14, fmt(spec.logX ? Math.pow(10, t) : t), {'text-anchor': 'middle'});
    });
    (spec.logY ? logTicks(ylo, yhi) : niceTicks(ylo, yhi)).forEach(function (t) {
      el('line', {x1: left, y1: py(t), x2: left + pw, y2: py(t), class: 'gr'}, grid);
      label(grid, left - 5, (py(t) + 4).toFixed(1), fmt(spec.logY ? Math.pow(10, t) : t), {'text-anchor': 'end'});
    });
    var clip = 'clip-' + fig.id.replace(/[^A-Za-z0-9_-]/g, '_');
    el('rect', {x: left, y: top, width: pw, height: ph}, el('clipPath', {id: clip}, el('defs', {}, svg)));
    var plot = el('g', {'clip-path': 'url(#' + clip + ')'}, svg);
    shown.forEach(function (s) {
      var st = DATA.codecs[s.codec], pts = s.pts.filter(function (p) {
        return p[0] !== null && p[1] !== null && !(spec.logX && !(p[0] > 0)) && !(spec.logY && !(p[1] > 0));
      });
      if (s.line !== false && pts.length > 1) {
        el('polyline', Object.assign({points: pts.map(function (p) { return px(tx(p[0])).toFixed(1) + ',' + py(ty(p[1])).toFixed(1); }).join(' '),
                                      fill: 'none'}, stroke(st)), plot);
      }
      pts.forEach(function (p) {
        if (!s.allMarkers && !p[3]) return;
        var g = el('g', {class: 'pt', 'data-tip': p[2]}, plot), cx = px(tx(p[0])), cy = py(ty(p[1]));
        if (p[3]) el('circle', {cx: cx, cy: cy, r: 6, fill: 'none', stroke: '#000', 'stroke-width': 1.2}, g);
        marker(st[1], cx, cy, 3.2, st[0], g, st[4]);
      });
    });
    if (spec.zoomable) zoomable(fig, svg, [left, top, pw, ph], function (a, b) {
      return [lo + (Math.min(a[0], b[0]) - left) / pw * (hi - lo), lo + (Math.max(a[0], b[0]) - left) / pw * (hi - lo),
              ylo + (top + ph - Math.max(a[1], b[1])) / ph * (yhi - ylo), ylo + (top + ph - Math.min(a[1], b[1])) / ph * (yhi - ylo)];
    });
    fig.replaceChildren(svg);
  }

  // Drag across the plot to zoom into that rectangle; double-click to zoom out.
  function zoomable(fig, svg, area, toData) {
    var start = null, box = null;
    function at(ev) {
      var r = svg.getBoundingClientRect();
      return [Math.max(area[0], Math.min(area[0] + area[2], ev.clientX - r.left)), Math.max(area[1], Math.min(area[1] + area[3], ev.clientY - r.top))];
    }
    svg.addEventListener('mousedown', function (ev) { start = at(ev); ev.preventDefault(); });
    svg.addEventListener('mousemove', function (ev) {
      if (!start) return;
      var p = at(ev);
      if (!box) box = el('rect', {class: 'zoom'}, svg);
      box.setAttribute('x', Math.min(p[0], start[0])); box.setAttribute('y', Math.min(p[1], start[1]));
      box.setAttribute('width', Math.abs(p[0] - start[0])); box.setAttribute('height', Math.abs(p[1] - start[1]));
    });
    svg.addEventListener('mouseup', function (ev) {
      var p = at(ev);
      if (start && Math.abs(p[0] - start[0]) > 6 && Math.abs(p[1] - start[1]) > 6) { state.zoom[fig.id] = toData(start, p); render(fig); }
      start = null; if (box) { box.remove(); box = null; }
    });
    svg.addEventListener('dblclick', function () { delete state.zoom[fig.id]; render(fig); });
  }

  function rdSpec(fig) {
    var entry = DATA.rd[fig.dataset.rd], metric = fig.dataset.metric, name = DATA.metrics[metric];
    var kbps = state.rate === 'kbps' && entry.kbps, where = fig.dataset.rd.split(':').pop();
    return {
      title: entry.title + ': ' + name, y: name, logX: state.log, zoomable: true,
      x: kbps ? 'kbps (bits x fps / frames / 1000)' : 'bpp (bitstream bits / pixels)',
      series: entry.codecs.map(function (c) {
        var q = c[4][metric] || [], rate = kbps && c[3] ? c[3] : c[2];
        return {codec: c[0], allMarkers: true, pts: q.map(function (v, i) {
          return [rate[i], v, DATA.codecs[c[0]][3] + ' @ ' + c[1][i] + ' (' + where + '): ' + fmt(c[2][i]) + ' bpp' +
                  (c[3] && c[3][i] !== null ? ', ' + fmt(c[3][i]) + ' kbps' : '') + ', ' + name + ' ' + (v === null ? 'n/a' : v.toFixed(3))];
        })};
      })
    };
  }
  // The per-frame quality follows the metric selected above; one not measured per frame (a pooled-only score)
  // falls back to the first the sequence has, and the chart's title says so.
  function framesSpec(fig) {
    var entry = DATA.frames[fig.dataset.frames], bits = fig.dataset.what === 'bits';
    var metric = entry.metrics.indexOf(state.metric) >= 0 ? state.metric : entry.metrics[0];
    var name = DATA.metrics[metric], note = metric === state.metric || !state.metric ? '' :
      ' (' + (DATA.metrics[state.metric] || state.metric) + ' has no per-frame values)';
    return {
      title: fig.dataset.frames + ': ' + (bits ? 'bits per frame' : name + ' per frame' + note), x: 'frame',
      y: bits ? 'bits per frame' : name, logY: bits, zoomable: true,
      series: entry.codecs.filter(function (c) { return bits ? c[3] : c[2][metric]; }).map(function (c) {
        var values = bits ? c[3] : c[2][metric];
        return {codec: c[0], allMarkers: false, pts: values.map(function (v, i) {
          var intra = c[4].indexOf(i) >= 0;
          return [i, v, DATA.codecs[c[0]][3] + ' @ ' + c[1] + ' intra frame ' + i + ': ' + (bits ? v + ' bits' : name + ' ' + (v === null ? 'n/a' : v.toFixed(3))), intra];
        })};
      })
    };
  }
  function scatterSpec(fig) {
    var entry = DATA.scatter[fig.dataset.scatter];
    return {title: entry.title, x: entry.x, y: entry.y, logX: true, zoomable: false,
            series: entry.points.map(function (p) {
              return {codec: p[0], line: false, allMarkers: true, pts: [[p[1], p[2], DATA.codecs[p[0]][3] + ': ' + fmt(p[1]) + ', ' + (p[2] > 0 ? '+' : '') + p[2].toFixed(2) + ' %']]};
            })};
  }
  function render(fig) {
    draw(fig, fig.dataset.rd ? rdSpec(fig) : fig.dataset.frames ? framesSpec(fig) : scatterSpec(fig));
    fig.dataset.drawn = '1';
  }
  // Draw what a reader can see: charts outside closed <details> and hidden metric sections.
  function renderVisible(root) {
    root.querySelectorAll('figure.lazy').forEach(function (fig) {
      if (fig.dataset.drawn) return;
      var closed = fig.closest('details:not([open])'), hidden = fig.closest('section.metric[hidden]');
      if (!closed && !hidden) render(fig);
    });
  }
  function redrawAll() { document.querySelectorAll('figure.lazy[data-drawn]').forEach(render); }

  function showMetric(metric) {
    state.metric = metric;
    document.querySelectorAll('section.metric').forEach(function (s) { s.hidden = s.dataset.metric !== metric; });
    document.querySelectorAll('figure.lazy[data-drawn][data-what="quality"]').forEach(render);
    renderVisible(document);
  }
  var select = document.getElementById('metric-select');
  if (select) select.addEventListener('change', function () { showMetric(select.value); });
  document.querySelectorAll('input[name="axis"]').forEach(function (input) {
    input.addEventListener('change', function () {
      var v = input.value.split('-'); state.rate = v[0]; state.log = v[1] === 'log'; state.zoom = {}; redrawAll();
    });
  });
  document.querySelectorAll('input[data-codec]').forEach(function (input) {
    input.addEventListener('change', function () { state.hidden[input.dataset.codec] = !input.checked; redrawAll(); });
  });
  document.querySelectorAll('details').forEach(function (d) {
    d.addEventListener('toggle', function () { if (d.open) renderVisible(d); });
  });
  // One tooltip for every chart: the hovered point's codec, rate point and values.
  document.addEventListener('mouseover', function (ev) {
    var g = ev.target.closest && ev.target.closest('g.pt');
    if (!g) { tip.hidden = true; return; }
    tip.textContent = g.dataset.tip; tip.hidden = false;
  });
  document.addEventListener('mousemove', function (ev) {
    if (!tip.hidden) { tip.style.left = (ev.pageX + 12) + 'px'; tip.style.top = (ev.pageY + 12) + 'px'; }
  });

  // index.html#metric=psnr_y&axis=kbps-log&open=all: that metric, that axis, every chart drawn (printing).
  var hash = location.hash, m;
  if ((m = /axis=(bpp|kbps)-(lin|log)/.exec(hash))) {
    state.rate = m[1]; state.log = m[2] === 'log';
    document.querySelector('input[name="axis"][value="' + m[1] + '-' + m[2] + '"]').checked = true;
  }
  if ((m = /metric=([A-Za-z0-9_]+)/.exec(hash)) && select && DATA.metrics[m[1]]) select.value = m[1];
  if (/open=all/.test(hash)) {
    document.querySelectorAll('details').forEach(function (d) { d.open = true; });
    document.querySelectorAll('figure.lazy').forEach(render);
  }
  showMetric(select ? select.value : null);
  renderVisible(document);
}());
