// Flame graph of one trace on a canvas: x is time within the zoom window,
// y is depth; each span is a box coloured by service. Hover shows a tooltip,
// click selects the span.

import { h, fmtDuration, serviceColour } from './util.js';

const LEVEL_H = 18;

export class FlameGraph {
  // ctx: { trace, selected, matches, zoom, onSelect(sp) }
  constructor(el, ctx) {
    this.el = el;
    this.ctx = ctx;
    this.wrap = h('div', { class: 'flame', tabindex: '0', 'aria-label': 'Flame graph' });
    this.canvas = h('canvas');
    this.tip = h('div', { class: 'tooltip', hidden: true });
    this.wrap.append(this.canvas);
    el.append(this.wrap);
    document.body.append(this.tip);
    // Spans per depth, sorted by start, for hit testing.
    this.levels = [];
    for (const sp of ctx.trace.spans) {
      (this.levels[sp.depth] ||= []).push(sp);
    }
    for (const l of this.levels) l.sort((a, b) => a.start - b.start);
    this.canvas.addEventListener('mousemove', (e) => this.hover(e));
    this.canvas.addEventListener('mouseleave', () => { this.tip.hidden = true; });
    this.canvas.addEventListener('click', (e) => {
      const sp = this.hit(e);
      if (sp) ctx.onSelect(sp);
    });
    this.onResize = () => this.draw();
    addEventListener('resize', this.onResize);
    this.draw();
  }

  dispose() {
    removeEventListener('resize', this.onResize);
    this.tip.remove();
  }

  draw() {
    const { trace, zoom, selected, matches } = this.ctx;
    const dpr = window.devicePixelRatio || 1;
    const w = this.wrap.clientWidth || 800;
    const hgt = Math.max(this.levels.length * LEVEL_H + 4, 60);
    this.width = w;
    this.canvas.width = Math.round(w * dpr);
    this.canvas.height = Math.round(hgt * dpr);
    this.canvas.style.width = `${w}px`;
    this.canvas.style.height = `${hgt}px`;
    const g = this.canvas.getContext('2d');
    g.scale(dpr, dpr);
    g.font = '11px system-ui, sans-serif';
    g.textBaseline = 'middle';
    const t0 = trace.start + zoom[0] * trace.duration;
    const span = Math.max(1e-9, (zoom[1] - zoom[0]) * trace.duration);
    this.t0 = t0;
    this.span = span;
    for (const sp of trace.spans) {
      let x = ((sp.start - t0) / span) * w;
      let bw = (sp.dur / span) * w;
      if (x + bw < 0 || x > w) continue;
      if (x < 0) {
        bw += x;
        x = 0;
      }
      bw = Math.min(bw, w - x);
      const y = sp.depth * LEVEL_H;
      g.fillStyle = serviceColour(sp.service);
      g.globalAlpha = matches && matches.size && !matches.has(sp) ? 0.3 : 1;
      g.fillRect(x, y, Math.max(bw - 0.5, 0.5), LEVEL_H - 1);
      if (sp.error) {
        g.fillStyle = '#c4221f';
        g.fillRect(x, y + LEVEL_H - 4, Math.max(bw - 0.5, 0.5), 3);
      }
      if (bw > 36) {
        g.fillStyle = '#111';
        g.save();
        g.beginPath();
        g.rect(x, y, bw - 2, LEVEL_H);
        g.clip();
        g.fillText(`${sp.service}: ${sp.op}`, x + 3, y + LEVEL_H / 2);
        g.restore();
      }
    }
    g.globalAlpha = 1;
    if (selected) {
      const x = ((selected.start - t0) / span) * w;
      g.strokeStyle = '#000';
      g.lineWidth = 2;
      g.strokeRect(Math.max(x, 1), selected.depth * LEVEL_H + 1, Math.max((selected.dur / span) * w, 2), LEVEL_H - 3);
    }
  }

  hit(e) {
    const r = this.canvas.getBoundingClientRect();
    const x = e.clientX - r.left;
    const level = this.levels[Math.floor((e.clientY - r.top) / LEVEL_H)];
    if (!level) return null;
    const t = this.t0 + (x / this.width) * this.span;
    const slack = (2 / this.width) * this.span;
    let best = null;
    for (const sp of level) {
      if (sp.start > t + slack) break;
      if (sp.end >= t - slack) best = sp;
    }
    return best;
  }

  hover(e) {
    const sp = this.hit(e);
    if (!sp) {
      this.tip.hidden = true;
      this.canvas.style.cursor = '';
      return;
    }
    this.canvas.style.cursor = 'pointer';
    this.tip.hidden = false;
    this.tip.textContent = `${sp.service}: ${sp.op} — ${fmtDuration(sp.dur)} (self ${fmtDuration(sp.self)})${sp.error ? ' — error' : ''}`;
    this.tip.style.left = `${e.clientX + 12}px`;
    this.tip.style.top = `${e.clientY + 12}px`;
  }
}
