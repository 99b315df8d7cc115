// The customer panel beside the open conversation: an internal-note box, and
// the customer's history (earlier conversations' messages and the outbound
// messages sent to them) read from the contact timeline, which answers an
// agent for the customers it serves or has served. Customer text is only
// ever inserted as text.

import {describeError, request} from './api.js';
import {$, h, randomId, statusBadge, timeEl} from './dom.js';
import {t} from './i18n.js';
import {mediaList} from './media.js';

const PAGE = 30;

function whoOf(direction) {
  if (direction === 'inbound') return t('customer.from_customer');
  if (direction === 'outbound') return t('customer.from_agent');
  if (direction === 'note') return t('customer.note');
  return t('agent.system');
}

export class CustomerPanel {
  /** token(): the agent's token; command(frame): a websocket command, answered by its ack or error. */
  constructor({token, command}) {
    this.token = token;
    this.command = command;
    this.conv = null;
    this.cursor = null;
    this.generation = 0; // a page that answers after the agent moved on is dropped
  }

  bind() {
    $('note-form').addEventListener('submit', (event) => {
      event.preventDefault();
      this.addNote();
    });
    $('history-more').addEventListener('click', () => this.load());
  }

  /** Show the panel for a conversation (null: hide it). */
  show(conv) {
    const panel = $('customer-panel');
    if (!conv) {
      panel.hidden = true;
      this.conv = null;
      this.generation += 1;
      return;
    }
    if (this.conv && this.conv.id === conv.id && !panel.hidden) return;
    this.conv = conv;
    panel.hidden = false;
    $('customer-number').textContent = conv.customer;
    $('note').value = '';
    $('note-error').textContent = '';
    $('customer-history').replaceChildren();
    this.cursor = null;
    this.load();
  }

  async load() {
    const conv = this.conv;
    if (!conv) return;
    const generation = ++this.generation;
    $('history-status').textContent = t('customer.loading');
    $('history-more').hidden = true;
    const params = new URLSearchParams({limit: String(PAGE)});
    if (this.cursor) params.set('cursor', this.cursor);
    try {
      const {data} = await request(
        'GET', `/v1/contacts/${encodeURIComponent(conv.customer)}/timeline?${params}`, {token: this.token()});
      if (generation !== this.generation) return;
      // This conversation's own messages are in the thread already.
      const items = (data.items || []).filter((i) => i.kind !== 'message' || i.conversation_id !== conv.id);
      $('customer-history').append(...items.map((i) => this.item(i)));
      this.cursor = data.next_cursor || null;
      $('history-more').hidden = !this.cursor;
      $('history-status').textContent = $('customer-history').children.length ? '' : t('customer.no_history');
    } catch (error) {
      if (generation !== this.generation) return;
      $('history-status').textContent = t('customer.history_failed', {error: describeError(error)});
    }
  }

  item(entry) {
    if (entry.kind === 'activity') {
      const activity = entry.activity || {};
      return h('li', {class: 'history-item activity'},
        h('p', {class: 'message-meta'},
          h('span', {class: 'message-who'}, t('customer.outbound_message')),
          activity.case_name ? ` · ${activity.case_name}` : null, ' · ', timeEl(entry.at)),
        h('p', {class: 'message-body'}, activity.body || ''),
        h('p', {class: 'message-status'},
          h('span', {class: 'visually-hidden'}, t('agent.delivery_status')),
          statusBadge(activity.status || 'queued', activity.error_code || null)));
    }
    const message = entry.message || {};
    const direction = ['inbound', 'outbound', 'note'].includes(message.direction) ? message.direction : 'system';
    return h('li', {class: `history-item ${direction}`, dataset: {conversationId: entry.conversation_id}},
      h('p', {class: 'message-meta'},
        h('span', {class: 'message-who'}, whoOf(direction)), ' · ', timeEl(entry.at)),
      h('p', {class: 'message-body'}, message.body || ''),
      mediaList(message.media),
      direction === 'outbound' && message.status
        ? h('p', {class: 'message-status'}, statusBadge(message.status, message.error_code || null)) : null);
  }

  async addNote() {
    const conv = this.conv;
    const box = $('note');
    const body = box.value;
    if (!conv || !body.trim()) return;
    $('note-error').textContent = '';
    $('note-button').disabled = true;
    try {
      // One client_id per note, so a command re-sent after a reconnect records once.
      const result = await this.command({
        type: 'note', conversation_id: conv.id, body, client_id: randomId('n-'),
      });
      if (result && result.type === 'error') {
        $('note-error').textContent = t('customer.note_refused', {error: result.error.message});
      } else if (this.conv === conv && box.value === body) {
        box.value = '';
      }
    } finally {
      $('note-button').disabled = false;
    }
  }
}
