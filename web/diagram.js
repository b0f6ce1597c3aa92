// Live diagram: the four modules around the events exchange, a dot per handled delivery
// (message_flow frame) travelling from the publishing module to the consuming one, counts per
// edge. Built to stay cheap under load: a fixed pool of dots moved by one requestAnimationFrame
// loop that only writes attributes (it never reads layout), deliveries beyond the pool are
// dropped (and counted), edge labels are rewritten at most once per frame and only when changed.
import { moduleOf } from './api.js';

const SVG = 'http://www.w3.org/2000/svg';
export const MODULES = ['orders', 'inventory', 'payments', 'notifications'];
const BROKER = [430, 190];
const POS = { orders: [110, 190], inventory: [430, 58], payments: [430, 322], notifications: [750, 190] };
const DLQ_POS = [750, 322];
const PLACES = { ...POS, dlq: DLQ_POS };
// The edges the topology routes (EVENTS.md "Topology"), drawn before any message flows; other
// pairs are added when a frame shows one.
const KNOWN_EDGES = [['orders', 'inventory'], ['orders', 'payments'], ['orders', 'notifications'],
  ['payments', 'orders'], ['payments', 'inventory'], ['payments', 'notifications'],
  ['inventory', 'orders'], ['inventory', 'notifications']];
const MAX_DOTS = 60;
const TRAVEL_MS = 900;
const BEND = 46;      // how far an edge bows off the straight line, so A→B and B→A stay apart
const LABEL_AT = 0.62; // edge labels sit nearer the consumer, where edges into one module fan in

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

// Where the line from a module's centre p towards q leaves the module's box (136 × 52, + margin).
function border(p, q) {
  const dx = q[0] - p[0]; const dy = q[1] - p[1];
  const k = Math.min(dx ? 72 / Math.abs(dx) : Infinity, dy ? 30 / Math.abs(dy) : Infinity);
  return [p[0] + dx * k, p[1] + dy * k];
}

// A quadratic Bézier from a to b bent towards the exchange and pushed sideways by BEND: every
// edge visibly passes by the broker, and the two directions of a pair do not overlap.
function curve(a, b) {
  const dx = b[0] - a[0]; const dy = b[1] - a[1];
  const len = Math.hypot(dx, dy) || 1;
  const pull = 0.55;  // towards the exchange: every edge bends through the middle
  const c = [(a[0] + b[0]) / 2 * (1 - pull) + BROKER[0] * pull - (dy / len) * BEND,
    (a[1] + b[1]) / 2 * (1 - pull) + BROKER[1] * pull + (dx / len) * BEND];
  a = border(a, c); b = border(b, c);
  const at = (t) => {
    const u = 1 - t;
    return [u * u * a[0] + 2 * u * t * c[0] + t * t * b[0], u * u * a[1] + 2 * u * t * c[1] + t * t * b[1]];
  };
  return { d: `M${a[0]},${a[1]} Q${c[0]},${c[1]} ${b[0]},${b[1]}`, at };
}

export function consumerOf(frame) {
  const q = (frame.queue || '').toLowerCase();
  return MODULES.find((m) => q.startsWith(m)) || (q ? 'other' : '');
}
export function publisherOf(frame) {
  const m = moduleOf({ source: frame.source, eventType: frame.eventType });
  return MODULES.includes(m) ? m : 'other';
}

export class FlowDiagram {
  // onModule(name): a module node was activated (click, Enter or Space).
  // onDeadLetters(): the dead-letter node was activated.
  constructor(root, { onModule, onDeadLetters }) {
    this.root = root;
    this.edges = new Map();   // "from>to" -> {g, line, label, at, consumed, failed, dead, dirty}
    this.nodes = new Map();   // module -> {g, shape, stat, published, lastFlash}
    this.dots = [];           // pool: {el, edge, start, active}
    this.active = 0; this.dropped = 0; this.deadCount = 0;
    this.paused = false; this.pausedAt = 0; this.raf = 0; this.dirty = new Set();
    this.reducedMotion = window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches;
    this.onModule = onModule; this.onDeadLetters = onDeadLetters;
    this.build();
  }

  build() {
    const s = svg('svg', { viewBox: '0 0 860 380', class: 'diagram', role: 'group', 'aria-labelledby': 'diagram-title', 'data-testid': 'diagram' });
    s.append(svg('title', { id: 'diagram-title' }, 'Modules and the events exchange: messages move from the publishing module to each consuming module'));
    const marker = svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 9, markerHeight: 9, markerUnits: 'userSpaceOnUse', orient: 'auto' });
    marker.append(svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrow' }));
    const defs = svg('defs'); defs.append(marker); s.append(defs);
    this.edgeLayer = svg('g', { class: 'edges' });
    this.dotLayer = svg('g', { class: 'dots', 'aria-hidden': 'true' });
    this.nodeLayer = svg('g', { class: 'nodes' });
    s.append(this.edgeLayer, this.nodeLayer, this.dotLayer);

    const broker = svg('g', { class: 'node broker', transform: `translate(${BROKER[0]},${BROKER[1]})` });
    broker.append(svg('rect', { x: -84, y: -22, width: 168, height: 44, rx: 22 }),
      svg('text', { y: -3, class: 'node-name' }, 'ecommerce.events'),
      svg('text', { y: 13, class: 'node-stat' }, 'exchange'));
    this.nodeLayer.append(broker);

    for (const m of MODULES) this.addNode(m);
    const dlq = svg('g', { class: 'node dlq', transform: `translate(${DLQ_POS[0]},${DLQ_POS[1]})`, tabindex: 0, role: 'button', 'data-node': 'dlq', 'aria-label': 'Dead letters: open the Dead letters view' });
    this.dlqShape = svg('rect', { x: -70, y: -22, width: 140, height: 44, rx: 8 });
    dlq.append(this.dlqShape,
      svg('text', { y: -3, class: 'node-name' }, 'dead letters'));
    this.dlqStat = svg('text', { y: 13, class: 'node-stat', 'data-testid': 'diagram-dead' }, '0 seen');
    dlq.append(this.dlqStat);
    this.activate(dlq, () => this.onDeadLetters());
    this.nodeLayer.append(dlq);

    for (const [a, b] of KNOWN_EDGES) this.edge(a, b);
    for (let i = 0; i < MAX_DOTS; i += 1) {
      const el = svg('circle', { r: 5, class: 'dot', visibility: 'hidden' });
      this.dotLayer.append(el);
      this.dots.push({ el, edge: null, start: 0, active: false });
    }
    this.dropStat = svg('text', { x: 12, y: 370, class: 'drop-stat', 'data-testid': 'diagram-dropped' }, '');
    s.append(this.dropStat);
    this.root.replaceChildren(s);
  }

  activate(g, fn) {
    g.addEventListener('click', fn);
    g.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); fn(); } });
  }

  // What a screen reader says for a module node (its texts are hidden behind the button role).
  label(n) {
    n.g.setAttribute('aria-label', `${n.name}: ${n.published} published${n.fault.textContent ? ', failing (injected fault)' : ''}. Activate to show only its messages in the flow below`);
  }

  addNode(m) {
    const [x, y] = POS[m];
    const g = svg('g', { class: `node module mod-${m}`, transform: `translate(${x},${y})`, tabindex: 0, role: 'button', 'aria-pressed': 'false', 'data-node': m });
    const shape = svg('rect', { x: -68, y: -26, width: 136, height: 52, rx: 10 });
    const stat = svg('text', { y: 14, class: 'node-stat' }, '0 published');
    const fault = svg('text', { y: y > BROKER[1] ? 42 : -34, class: 'node-fault' }, '');
    g.append(shape, svg('text', { y: -4, class: 'node-name' }, m), stat, fault);
    this.activate(g, () => this.onModule(m));
    this.nodeLayer.append(g);
    const n = { name: m, g, shape, stat, fault, published: 0, lastFlash: 0 };
    this.nodes.set(m, n);
    this.label(n);
  }

  edge(from, to) {
    const key = `${from}>${to}`;
    let e = this.edges.get(key);
    if (e || !PLACES[from] || !PLACES[to] || from === to) return e;
    const { d, at } = curve(PLACES[from], PLACES[to]);
    const g = svg('g', { class: `edge from-${from} to-${to}`, 'data-edge': key, 'data-consumed': 0, 'data-failed': 0, 'data-dead': 0 });
    const line = svg('path', { d, class: 'edge-line', 'marker-end': 'url(#arrow)' });
    const [lx, ly] = at(LABEL_AT);
    const label = svg('text', { x: lx.toFixed(1), y: (ly + 4).toFixed(1), class: 'edge-count' }, '');
    g.append(svg('title', {}, `${from} → ${to}: deliveries of ${from}'s events to ${to}`), line, label);
    this.edgeLayer.append(g);
    e = { key, g, line, label, at, consumed: 0, failed: 0, dead: 0, moving: 0 };
    this.edges.set(key, e);
    return e;
  }

  // One message_flow frame (already de-duplicated by the live flow).
  add(frame) {
    let from = publisherOf(frame);
    if (frame.status === 'published') {
      const n = this.nodes.get(from);
      if (n) { n.published += 1; this.dirty.add(n); }
      this.schedule();
      return;
    }
    let to = consumerOf(frame);
    // The dead-letter recorder consuming dlq.<module>...: the message goes to the dead letters.
    const dlq = /^dlq\.([a-z]+)/.exec(frame.queue || '');
    if (dlq) { from = MODULES.includes(dlq[1]) ? dlq[1] : from; to = 'dlq'; }
    if (frame.status === 'dead_lettered') { this.deadCount += 1; this.dirty.add(this); }
    if (frame.status === 'failed' || frame.status === 'dead_lettered') this.flash(to);
    if (to === 'dlq') this.flashDlq();
    const e = this.edge(from, to);
    if (!e) { this.schedule(); return; }
    if (frame.status === 'consumed') e.consumed += 1;
    else if (frame.status === 'failed') e.failed += 1;
    else if (frame.status === 'dead_lettered') e.dead += 1;
    this.dirty.add(e);
    if (!this.reducedMotion) this.launch(e, frame.status);
    this.schedule();
  }

  launch(edge, status) {
    const dot = this.dots.find((d) => !d.active);
    if (!dot) { this.dropped += 1; this.dirty.add(this); return; }
    dot.active = true; dot.edge = edge; dot.start = performance.now();
    dot.el.setAttribute('class', `dot st-${status} from-${edge.key.split('>')[0]}`);
    dot.el.setAttribute('r', status === 'dead_lettered' ? 7 : 5);
    this.active += 1;
    if (edge.moving++ === 0) edge.g.classList.add('moving');
  }

  flash(module) {
    const n = this.nodes.get(module);
    const now = performance.now();
    if (!n || now - n.lastFlash < 300 || !n.shape.animate) return;
    n.lastFlash = now;
    n.shape.animate([{ fill: '#fecaca' }, { fill: '#fff' }], { duration: 700, easing: 'ease-out' });
  }

  flashDlq() {
    if (this.dlqShape.animate) this.dlqShape.animate([{ fill: '#fecaca' }, { fill: '#fff' }], { duration: 900, easing: 'ease-out' });
  }

  schedule() {
    if (!this.raf && !this.paused) this.raf = requestAnimationFrame((t) => this.tick(t));
  }

  tick(now) {
    this.raf = 0;
    for (const dot of this.dots) {
      if (!dot.active) continue;
      const p = (now - dot.start) / TRAVEL_MS;
      if (p >= 1) {
        dot.active = false; dot.el.setAttribute('visibility', 'hidden'); this.active -= 1;
        if (--dot.edge.moving === 0) dot.edge.g.classList.remove('moving');
        continue;
      }
      const [x, y] = dot.edge.at(Math.max(0, p));
      dot.el.setAttribute('cx', x.toFixed(1)); dot.el.setAttribute('cy', y.toFixed(1));
      dot.el.setAttribute('visibility', 'visible');
    }
    for (const item of this.dirty) this.write(item);
    this.dirty.clear();
    if (this.active > 0) this.schedule();
  }

  write(item) {
    if (item === this) {
      this.dlqStat.textContent = `${this.deadCount} seen`;
      this.dropStat.textContent = this.dropped ? `${this.dropped} dot(s) not animated (more than ${MAX_DOTS} at once); counts include them` : '';
      return;
    }
    if (item.stat) { item.stat.textContent = `${item.published} published`; this.label(item); return; }
    const parts = [];
    if (item.consumed) parts.push(String(item.consumed));
    if (item.failed) parts.push(`✗${item.failed}`);
    if (item.dead) parts.push(`☠${item.dead}`);
    item.label.textContent = parts.join(' ');
    item.g.dataset.consumed = item.consumed; item.g.dataset.failed = item.failed; item.g.dataset.dead = item.dead;
    item.g.classList.toggle('has-failures', item.failed + item.dead > 0);
    item.g.classList.toggle('used', item.consumed + item.failed + item.dead > 0);
  }

  // The pause control of the live flow: dots freeze where they are and resume from there.
  setPaused(paused) {
    if (paused === this.paused) return;
    const now = performance.now();
    this.paused = paused;
    if (paused) {
      this.pausedAt = now;
      if (this.raf) { cancelAnimationFrame(this.raf); this.raf = 0; }
    } else {
      for (const dot of this.dots) if (dot.active) dot.start += now - this.pausedAt;
      this.schedule();
    }
  }

  // Modules with an injected fault (GET /api/faults): drawn as failing until it is cleared.
  setFaults(faults) {
    const byModule = new Map((faults || []).map((f) => [f.module, f]));
    for (const [m, n] of this.nodes) {
      const f = byModule.get(m);
      n.g.classList.toggle('faulty', !!f);
      n.g.dataset.fault = f ? f.mode || 'fail' : '';
      n.fault.textContent = f ? `⚠ failing: injected fault (${f.mode || 'fail'})` : '';
      this.label(n);
    }
  }

  setSelected(module) {
    for (const [m, n] of this.nodes) n.g.setAttribute('aria-pressed', String(m === module));
  }

  reset() {
    for (const e of this.edges.values()) { e.consumed = 0; e.failed = 0; e.dead = 0; this.dirty.add(e); }
    for (const n of this.nodes.values()) { n.published = 0; this.dirty.add(n); }
    this.deadCount = 0; this.dropped = 0; this.dirty.add(this);
    this.schedule();
  }
}
