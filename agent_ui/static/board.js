// The supervisor board: queues, agents and waiting conversations, pushed by
// the hub over the agent websocket whenever they change (board frames); a
// monitored conversation, read-only, with a whisper box, take over and
// reassign. Durations count up here from the hub's "since" times, so the
// hub never pushes a frame only to move a clock.
// Customer text is only ever inserted as text.

import {describeError, request} from './api.js';
import {$, clear, h, randomId, timeEl} from './dom.js';
import {formatNumber, formatTimeOfDay, t} from './i18n.js';
import {mediaList} from './media.js';

const TICK_MS = 1000;

/** Seconds as h:mm:ss (or m:ss). */
function clock(seconds) {
  if (typeof seconds !== 'number') return '—';
  const total = Math.max(0, Math.floor(seconds));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const rest = total % 60;
  const pad = (n) => String(n).padStart(2, '0');
  return hours ? `${hours}:${pad(minutes)}:${pad(rest)}` : `${minutes}:${pad(rest)}`;
}

/** The time since `since` (epoch seconds). */
function duration(since) {
  return typeof since === 'number' ? clock(Date.now() / 1000 - since) : '—';
}

function presenceText(presence) {
  if (presence === 'available') return t('agent.presence_available');
  if (presence === 'away') return t('agent.presence_away');
  return t('board.offline');
}

/** A cell whose text is a duration counted up from `since` (refreshed every second). */
function since(value) {
  return h('td', {class: 'since', dataset: {since: typeof value === 'number' ? String(value) : ''}}, duration(value));
}

export class SupervisorBoard {
  constructor({command, announce, token}) {
    this.command = command;
    this.announce = announce;
    this.token = token;
    this.board = null;
    this.monitored = null; // the conversation followed, without messages
    this.messages = [];
    this.timer = null;
    this.bound = false;
  }

  bind() {
    if (this.bound) return;
    this.bound = true;
    $('board').addEventListener('click', (event) => {
      const button = event.target.closest('button[data-monitor]');
      if (button) this.monitor(button.dataset.monitor);
    });
    $('monitor-stop').addEventListener('click', () => this.stopMonitoring());
    $('monitor-takeover').addEventListener('click', () => this.act({type: 'takeover'}, (customer) => t('board.taken_over', {customer})));
    $('monitor-reassign').addEventListener('click', () => {
      const target = $('monitor-target').value;
      if (!target) return;
      const [kind, value] = target.split(':');
      this.act(kind === 'queue' ? {type: 'transfer', queue: value} : {type: 'transfer', agent_id: value},
        (customer) => t('board.reassigned', {customer}));
    });
    $('whisper-form').addEventListener('submit', (event) => {
      event.preventDefault();
      this.whisper();
    });
    $('metrics-form').addEventListener('submit', (event) => {
      event.preventDefault();
      this.showMetrics();
    });
    $('metrics-csv').addEventListener('click', () => this.downloadMetrics());
  }

  start() {
    this.bind();
    $('board').hidden = false;
    // The last 7 days, today included (UTC, as the hub counts them).
    const today = new Date();
    const week = new Date(today.getTime() - 6 * 86400000);
    $('metrics-to').value = today.toISOString().slice(0, 10);
    $('metrics-from').value = week.toISOString().slice(0, 10);
    $('metrics-table').hidden = true;
    $('metrics-empty').hidden = true;
    this.timer = window.setInterval(() => this.tick(), TICK_MS);
  }

  stop() {
    window.clearInterval(this.timer);
    this.timer = null;
    this.board = null;
    this.monitored = null;
    $('board').hidden = true;
    $('monitor').hidden = true;
  }

  /** A new connection: ask for the board again, and the monitored conversation. */
  async onHello() {
    await this.command({type: 'board.subscribe'});
    if (this.monitored) await this.monitor(this.monitored.id);
  }

  onEvent(frame) {
    switch (frame.type) {
      case 'board':
        this.board = frame.board;
        this.render();
        return true;
      case 'monitor.started':
        this.monitored = {...frame.conversation};
        this.messages = Array.isArray(frame.conversation.messages) ? [...frame.conversation.messages] : [];
        delete this.monitored.messages;
        this.renderMonitor();
        return true;
      case 'monitor.message':
        if (this.monitored && frame.conversation_id === this.monitored.id
            && !this.messages.some((m) => m.id === frame.message.id)) {
          this.messages.push(frame.message);
          this.renderMonitor();
        }
        return true;
      case 'monitor.conversation':
        if (this.monitored && frame.conversation.id === this.monitored.id) {
          this.monitored = {...frame.conversation};
          this.renderMonitor();
        }
        return true;
      default:
        return false;
    }
  }

  agentName(id) {
    const found = this.board && this.board.agents.find((a) => a.id === id);
    return found ? found.name : t('agent.a_colleague');
  }

  // --- the board ----------------------------------------------------------

  render() {
    const board = this.board;
    if (!board) return;
    const queues = board.queues.map((q) => h('tr', {},
      h('th', {scope: 'row'}, q.name),
      h('td', {class: 'num'}, formatNumber(q.waiting)),
      since(q.longest_waiting_since),
      h('td', {class: 'num'}, `${formatNumber(q.agents_available)} / ${formatNumber(q.agents)}`),
      h('td', {class: 'num'}, formatNumber(q.free_capacity))));
    const tbody = $('board-queues').querySelector('tbody');
    clear(tbody);
    tbody.append(...queues);

    const agents = board.agents.map((a) => h('tr', {dataset: {agent: a.id}},
      h('th', {scope: 'row'}, a.name, a.role === 'supervisor' ? h('span', {class: 'role'}, ` · ${t('board.supervisor')}`) : ''),
      h('td', {class: 'nowrap'}, h('span', {class: `presence-dot presence-${a.presence}`, 'aria-hidden': 'true'}), ' ', presenceText(a.presence)),
      since(a.presence_since),
      h('td', {class: 'num'}, `${formatNumber(a.open)} / ${formatNumber(a.capacity)}`),
      h('td', {}, ...a.conversations.map((c) => h('button', {
        type: 'button', class: 'link', dataset: {monitor: c.id},
        'aria-label': t('board.monitor_customer', {customer: c.customer}),
      }, c.customer)))));
    const agentBody = $('board-agents').querySelector('tbody');
    clear(agentBody);
    agentBody.append(...agents);

    const waiting = board.waiting.map((w) => h('li', {},
      h('button', {type: 'button', class: 'link', dataset: {monitor: w.id},
        'aria-label': t('board.monitor_customer', {customer: w.customer})}, w.customer),
      ' · ', w.queue || '', ' · ',
      h('span', {class: 'since', dataset: {since: String(w.waiting_since ?? '')}}, duration(w.waiting_since))));
    clear($('board-waiting'));
    $('board-waiting').append(...waiting);
    $('board-no-waiting').hidden = waiting.length > 0;
    $('board-updated').textContent = t('board.updated', {time: formatTimeOfDay(new Date(board.at * 1000))});
    if (this.monitored) this.renderTargets();
  }

  tick() {
    for (const cell of document.querySelectorAll('#board .since')) {
      const value = Number.parseFloat(cell.dataset.since);
      cell.textContent = duration(Number.isFinite(value) ? value : undefined);
    }
  }

  // --- the monitored conversation -----------------------------------------

  async monitor(conversationId) {
    $('monitor-error').textContent = '';
    const answer = await this.command({type: 'monitor', conversation_id: conversationId});
    if (answer && answer.type === 'error') {
      $('monitor-error').textContent = answer.error.message;
      $('monitor').hidden = false;
    }
  }

  async stopMonitoring() {
    if (!this.monitored) return;
    const id = this.monitored.id;
    this.monitored = null;
    this.messages = [];
    $('monitor').hidden = true;
    await this.command({type: 'monitor.stop', conversation_id: id});
  }

  async act(frame, done) {
    if (!this.monitored) return;
    const {id, customer} = this.monitored;
    $('monitor-error').textContent = '';
    const answer = await this.command({...frame, conversation_id: id});
    if (answer && answer.type === 'error') $('monitor-error').textContent = answer.error.message;
    else this.announce(done(customer));
  }

  async whisper() {
    const box = $('whisper');
    const body = box.value.trim();
    if (!body || !this.monitored) return;
    $('monitor-error').textContent = '';
    $('whisper-button').disabled = true;
    try {
      const answer = await this.command({type: 'note', conversation_id: this.monitored.id, body,
        client_id: randomId('w-')});
      if (answer && answer.type === 'error') $('monitor-error').textContent = answer.error.message;
      else box.value = '';
    } finally {
      $('whisper-button').disabled = false;
    }
  }

  renderTargets() {
    const select = $('monitor-target');
    const current = select.value;
    clear(select);
    select.append(h('option', {value: ''}, t('board.choose_target')));
    for (const a of (this.board ? this.board.agents : [])) {
      if (a.id !== this.monitored.agent_id) select.append(h('option', {value: `agent:${a.id}`}, a.name));
    }
    for (const q of (this.board ? this.board.queues : [])) {
      select.append(h('option', {value: `queue:${q.name}`}, t('agent.target_queue', {queue: q.name})));
    }
    select.value = current;
  }

  renderMonitor() {
    const conv = this.monitored;
    $('monitor').hidden = !conv;
    if (!conv) return;
    $('monitor-title').textContent = t('board.monitoring', {customer: conv.customer});
    $('monitor-meta').textContent = conv.status === 'closed' ? t('agent.closed')
      : conv.agent_id ? t('board.with_agent', {name: this.agentName(conv.agent_id)})
        : t('board.waiting_in', {queue: conv.queue || ''});
    const items = this.messages.map((m) => {
      const direction = ['outbound', 'inbound', 'note'].includes(m.direction) ? m.direction : 'system';
      const who = direction === 'inbound' ? conv.customer
        : direction === 'note' ? t('customer.note_by', {name: this.agentName(m.agent_id)})
          : this.agentName(m.agent_id);
      return h('li', {class: `message ${direction}`},
        h('p', {class: 'message-meta'}, h('span', {class: 'message-who'}, who), ' · ', timeEl(m.at)),
        h('p', {class: 'message-body'}, m.body || ''),
        mediaList(m.media));
    });
    const list = $('monitor-messages');
    clear(list);
    list.append(...items);
    list.scrollTop = list.scrollHeight;
    this.renderTargets();
  }

  // --- agent metrics (GET /v1/agents/metrics) ------------------------------

  metricsPath(format) {
    const params = new URLSearchParams({from: $('metrics-from').value, to: $('metrics-to').value});
    if (format) params.set('format', format);
    return `/v1/agents/metrics?${params}`;
  }

  async showMetrics() {
    $('metrics-error').textContent = '';
    try {
      const {data} = await request('GET', this.metricsPath(), {token: this.token()});
      const rows = data.items.map((row) => h('tr', {},
        h('td', {}, row.day),
        h('th', {scope: 'row'}, row.agent_name || row.agent_id),
        h('td', {class: 'num'}, formatNumber(row.handled)),
        h('td', {class: 'num'}, formatNumber(row.replies)),
        h('td', {class: 'num'}, `${clock(row.first_response_p50_s)} / ${clock(row.first_response_p90_s)}`),
        h('td', {class: 'num'}, clock(row.handle_time_avg_s))));
      const body = $('metrics-table').querySelector('tbody');
      clear(body);
      body.append(...rows);
      $('metrics-table').hidden = rows.length === 0;
      $('metrics-empty').hidden = rows.length > 0;
    } catch (error) {
      $('metrics-error').textContent = describeError(error);
    }
  }

  async downloadMetrics() {
    $('metrics-error').textContent = '';
    try {
      const {text} = await request('GET', this.metricsPath('csv'), {token: this.token(),
        headers: {Accept: 'text/csv'}});
      const link = h('a', {href: URL.createObjectURL(new Blob([text], {type: 'text/csv'})),
        download: `agent-metrics-${$('metrics-from').value}-${$('metrics-to').value}.csv`});
      document.body.append(link);
      link.click();
      link.remove();
      window.setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    } catch (error) {
      $('metrics-error').textContent = describeError(error);
    }
  }
}
