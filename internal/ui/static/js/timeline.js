// Virtualised waterfall timeline: only the rows inside the viewport (plus a
// small margin) are in the DOM, so a trace of any size scrolls smoothly.
// The minimap above it draws every span onto one canvas and sets the zoom
// window by dragging.

import { h, fill, fmtDuration, serviceColour, niceTicks } from './util.js';

const ROW_H = 22;
const OVERSCAN = 12;

// Timeline renders into el. ctx supplies the trace and shared state:
// { trace, collapsed:Set, selected, matches:Set, zoom:[a,b], showCritical,
//   onSelect(sp), onToggle(sp), onZoom([a,b]) }.
export class Timeline {
  constructor(el, ctx) {
    this.el = el;
    this.ctx = ctx;
    this.nameWidth = Math.max(260, Math.min(480, Math.round(el.clientWidth * 0.3)));
    this.minimap = h('div', { class: 'minimap', title: 'Drag to zoom; double-click to reset' });
    this.canvas = h('canvas');
    this.win = h('div', { class: 'win' });
    this.minimap.append(this.canvas, this.win);
    this.resetBtn = h('button', { type: 'button', onclick: () => ctx.onZoom([0, 1]) }, 'Reset zoom');
    this.scale = h('div', { class: 'scale' });
    this.ticks = h('div', { class: 'ticks' },
      h('div', { class: 'names', style: { width: `${this.nameWidth}px` } },
        h('button', { type: 'button', title: 'Collapse all', onclick: () => ctx.onCollapseAll(true) }, 'Collapse all'),
        h('button', { type: 'button', title: 'Expand all', onclick: () => ctx.onCollapseAll(false) }, 'Expand all'),
        this.resetBtn),
      this.scale);
    this.spacer = h('div', { class: 'tl-spacer' });
    this.scroll = h('div', { class: 'tl-scroll', tabindex: '0', 'aria-label': 'Span timeline', role: 'tree' }, this.spacer);
    el.append(this.minimap, this.ticks, this.scroll);
    this.rows = [];
    this.frame = 0;
    this.scroll.addEventListener('scroll', () => this.schedule());
    this.scroll.addEventListener('click', (e) => this.onClick(e));
    this.onResize = () => {
      this.drawMinimap();
      this.schedule();
    };
    addEventListener('resize', this.onResize);
    this.bindMinimap();
    this.refresh();
    this.drawMinimap();
  }

  dispose() {
    removeEventListener('resize', this.onResize);
    cancelAnimationFrame(this.frame);
  }

  // refresh recomputes the visible rows (after collapse or expand).
  refresh() {
    const { spans } = this.ctx.trace;
    const { collapsed } = this.ctx;
    let rows = spans;
    if (collapsed.size) {
      rows = [];
      for (let k = 0; k < spans.length; k++) {
        const sp = spans[k];
        rows.push(sp);
        if (sp.descendants && collapsed.has(sp.id)) k += sp.descendants;
      }
    }
    // With nothing collapsed the rows are the spans themselves (read only).
    this.rows = rows;
    this.spacer.style.height = `${rows.length * ROW_H}px`;
    this.schedule(true);
  }

  schedule(now) {
    if (now) {
      cancelAnimationFrame(this.frame);
      this.frame = 0;
      this.render();
      return;
    }
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  render() {
    const { trace, selected, matches, zoom, showCritical } = this.ctx;
    const top = this.scroll.scrollTop;
    const height = this.scroll.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / ROW_H) - OVERSCAN);
    const last = Math.min(this.rows.length, Math.ceil((top + height) / ROW_H) + OVERSCAN);
    const t0 = trace.start + zoom[0] * trace.duration;
    const span = Math.max(1e-9, (zoom[1] - zoom[0]) * trace.duration);
    const frag = document.createDocumentFragment();
    for (let r = first; r < last; r++) {
      frag.append(this.row(this.rows[r], r, t0, span, selected, matches, showCritical));
    }
    fill(this.spacer, frag);
    this.renderTicks(t0 - trace.start, span);
    this.win.style.left = `${zoom[0] * 100}%`;
    this.win.style.width = `${(zoom[1] - zoom[0]) * 100}%`;
    this.resetBtn.hidden = zoom[0] === 0 && zoom[1] === 1;
  }

  row(sp, r, t0, span, selected, matches, showCritical) {
    const colour = serviceColour(sp.service);
    const hasKids = sp.children.length > 0;
    const isCollapsed = this.ctx.collapsed.has(sp.id);
    let cls = 'tl-row';
    if (sp === selected) cls += ' sel';
    if (matches && matches.has(sp)) cls += ' match';
    const name = h('div', { class: 'tl-name', style: { width: `${this.nameWidth}px`, paddingLeft: `${4 + Math.min(sp.depth, 40) * 12}px` } },
      h('span', { class: 'tg', 'data-toggle': hasKids ? '1' : null }, hasKids ? (isCollapsed ? '▸' : '▾') : ''),
      h('span', { class: 'sw', style: { background: colour } }),
      sp.error ? h('span', { class: 'erricon', title: 'Error' }, '!') : null,
      h('span', { class: 'svc' }, sp.service),
      h('span', { class: 'op' }, sp.op),
      isCollapsed ? h('span', { class: 'kids' }, `(${sp.descendants})`) : null);
    const left = ((sp.start - t0) / span) * 100;
    const width = (sp.dur / span) * 100;
    const bars = h('div', { class: 'tl-bars' });
    const bar = h('div', { class: sp.error ? 'tl-bar err' : 'tl-bar', style: { left: `${left}%`, width: `${Math.max(width, 0.05)}%`, background: colour } });
    bars.append(bar);
    if (showCritical && this.ctx.trace.critical) {
      const segs = this.ctx.trace.critical.get(sp.i);
      if (segs) {
        for (const [a, b] of segs) {
          bars.append(h('div', { class: 'tl-crit', style: { left: `${((a - t0) / span) * 100}%`, width: `${Math.max(((b - a) / span) * 100, 0.05)}%` } }));
        }
      }
    }
    const label = h('span', { class: 'tl-label' }, fmtDuration(sp.dur));
    if (left + width <= 85) {
      label.style.left = `${Math.max(0, left + width) + 0.5}%`;
    } else if (left > 12) {
      label.style.right = `${100 - left + 0.5}%`;
    } else {
      label.classList.add('inside');
      label.style.right = `${Math.max(0, 100 - left - width) + 0.5}%`;
    }
    bars.append(label);
    return h('div', {
      class: cls,
      style: { top: `${r * ROW_H}px` },
      'data-row': r,
      role: 'treeitem',
      'aria-level': sp.depth + 1,
      'aria-selected': sp === selected ? 'true' : 'false',
      'aria-expanded': hasKids ? String(!isCollapsed) : null,
    }, name, bars);
  }

  renderTicks(offset, span) {
    const ticks = niceTicks(offset, offset + span, 6);
    fill(this.scale, ...ticks.map((v) => h('span', { style: { left: `${((v - offset) / span) * 100}%` } }, fmtDuration(v))));
  }

  onClick(e) {
    const rowEl = e.target.closest('.tl-row');
    if (!rowEl) return;
    const sp = this.rows[Number(rowEl.dataset.row)];
    if (!sp) return;
    if (e.target.closest('[data-toggle]')) this.ctx.onToggle(sp);
    else this.ctx.onSelect(sp);
  }

  // reveal scrolls so that sp's row is visible.
  reveal(sp) {
    const r = this.rows.indexOf(sp);
    if (r < 0) return;
    const top = r * ROW_H;
    const h0 = this.scroll.clientHeight;
    if (top < this.scroll.scrollTop || top + ROW_H > this.scroll.scrollTop + h0) {
      this.scroll.scrollTop = Math.max(0, top - h0 / 3);
    }
    this.schedule(true);
  }

  // neighbour returns the visible row delta rows away from sp.
  neighbour(sp, delta) {
    const r = this.rows.indexOf(sp);
    const n = Math.max(0, Math.min(this.rows.length - 1, (r < 0 ? 0 : r + delta)));
    return this.rows[n];
  }

  // drawMinimap paints every span (row = position in the tree, x = time)
  // straight into a pixel buffer: one write per covered pixel, so 100,000
  // spans cost a few milliseconds.
  drawMinimap() {
    const { trace } = this.ctx;
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round((this.minimap.clientWidth || 800) * dpr));
    const hgt = Math.max(1, Math.round((this.minimap.clientHeight || 64) * dpr));
    this.canvas.width = w;
    this.canvas.height = hgt;
    const g = this.canvas.getContext('2d');
    const img = g.createImageData(w, hgt);
    const px = new Uint32Array(img.data.buffer);
    const n = trace.spans.length || 1;
    const dur = trace.duration || 1;
    const rowsPer = Math.max(1, Math.round(hgt / n));
    const colourOf = new Map();
    const packed = (css) => {
      let c = colourOf.get(css);
      if (c === undefined) {
        const v = parseInt(css.slice(1), 16);
        // ImageData is RGBA in memory; Uint32 views it little-endian.
        c = (0xff << 24) | ((v & 0xff) << 16) | (v & 0xff00) | ((v >> 16) & 0xff);
        colourOf.set(css, c);
      }
      return c;
    };
    const errColour = packed('#c4221f');
    // Spans share a few resource objects: look each one's colour up once.
    const byResource = new Map();
    let lastRes = null;
    let lastColour = 0;
    for (const sp of trace.spans) {
      if (sp.process !== lastRes) {
        lastRes = sp.process;
        lastColour = byResource.get(lastRes);
        if (lastColour === undefined) byResource.set(lastRes, (lastColour = packed(serviceColour(sp.service))));
      }
      const c = sp.error ? errColour : lastColour;
      const y0 = Math.min(hgt - 1, Math.floor((sp.i / n) * hgt));
      const x0 = Math.max(0, Math.min(w - 1, Math.floor(((sp.start - trace.start) / dur) * w)));
      const x1 = Math.max(x0 + 1, Math.min(w, Math.ceil(((sp.end - trace.start) / dur) * w)));
      for (let y = y0; y < Math.min(hgt, y0 + rowsPer); y++) {
        px.fill(c, y * w + x0, y * w + x1);
      }
    }
    g.putImageData(img, 0, 0);
  }

  bindMinimap() {
    let x0 = null;
    const frac = (e) => {
      const r = this.minimap.getBoundingClientRect();
      return Math.max(0, Math.min(1, (e.clientX - r.left) / r.width));
    };
    this.minimap.addEventListener('mousedown', (e) => {
      x0 = frac(e);
      e.preventDefault();
    });
    this.minimap.addEventListener('mousemove', (e) => {
      if (x0 === null) return;
      const x1 = frac(e);
      this.win.style.left = `${Math.min(x0, x1) * 100}%`;
      this.win.style.width = `${Math.abs(x1 - x0) * 100}%`;
    });
    const end = (e) => {
      if (x0 === null) return;
      const x1 = frac(e);
      const a = Math.min(x0, x1);
      const b = Math.max(x0, x1);
      x0 = null;
      if (b - a > 0.005) this.ctx.onZoom([a, b]);
      else this.render();
    };
    this.minimap.addEventListener('mouseup', end);
    this.minimap.addEventListener('mouseleave', end);
    this.minimap.addEventListener('dblclick', () => this.ctx.onZoom([0, 1]));
  }
}
