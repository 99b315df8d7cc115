// The agent workspace: presence, conversation list, thread, reply box.
// Customer text is only ever inserted as text (textContent / text nodes).

import {ApiError, request} from './api.js';
import {SupervisorBoard} from './board.js';
import {$, clear, fullTime, h, randomId, statusBadge, timeEl} from './dom.js';
import {t} from './i18n.js';
import {CustomerPanel} from './customer.js';
import {mediaList} from './media.js';
import {CLOSE_AGENT_GONE, LiveConnection} from './socket.js';
import {WhatsAppWindow, extendWindow} from './whatsapp.js';

// Same order as the hub's: a status never moves backwards.
const RANK = {
  queued: 0, sending: 1, sent: 2, delivered: 3, undelivered: 3, failed: 3, read: 4,
  rejected: 5, canceled: 5,
};
const TERMINAL = new Set(['read', 'rejected', 'canceled']);
const POLL_MS = 5000;

// How the hub found the message a conversation answers, in words.
function correlationMethod(method) {
  switch (method) {
    case 'provider_context': return t('agent.correlation_provider_context');
    case 'content_match': return t('agent.correlation_content_match');
    case 'latest': return t('agent.correlation_latest');
    default: return '';
  }
}

function rank(status) {
  return Object.hasOwn(RANK, status) ? RANK[status] : -1;
}

function laterStatus(current, next) {
  if (!next) return current;
  if (!current) return next;
  if (TERMINAL.has(current)) return current;
  return rank(next) > rank(current) ? next : current;
}

function lastActivity(conv) {
  const messages = conv.messages || [];
  const last = messages.length ? messages[messages.length - 1].at : 0;
  return Math.max(Number(last) || 0, Number(conv.created_at) || 0);
}

function presenceLabel(presence) {
  if (presence === 'available') return t('agent.presence_available');
  if (presence === 'away') return t('agent.presence_away');
  return String(presence);
}

function preview(text, limit = 60) {
  const flat = String(text || '').replace(/\s+/g, ' ').trim();
  return flat.length > limit ? `${flat.slice(0, limit - 1)}…` : flat;
}

/** A message in a line: its text, or that it holds attachments only. */
function messagePreview(message, limit = 60) {
  const text = preview(message.body, limit);
  const count = Array.isArray(message.media) ? message.media.length : 0;
  return text || (count ? t('agent.attachments_only', {count}) : '');
}

export class AgentConsole {
  constructor({announce, setBanner, onSignedOut}) {
    this.announce = announce;
    this.setBanner = setBanner;
    this.onSignedOut = onSignedOut;
    this.conversations = new Map(); // id -> conversation (+ ui fields)
    this.items = new Map(); // id -> <li> of the conversation list
    this.local = new Map(); // client_id -> {conversation_id, body, media, at, error}
    this.selected = null;
    this.colleagues = [];
    this.queues = [];
    this.canned = [];
    this.conn = null;
    this.pollTimer = null;
    this.session = null;
    this.bound = false;
    this.baseTitle = document.title;
    this.customer = new CustomerPanel({
      token: () => this.session && this.session.token,
      command: (frame) => (this.conn ? this.conn.command(frame) : Promise.resolve(null)),
    });
    this.whatsapp = new WhatsAppWindow({
      command: (frame) => (this.conn ? this.conn.command(frame) : Promise.resolve(null)),
    });
    this.board = new SupervisorBoard({
      command: (frame) => (this.conn ? this.conn.command(frame) : Promise.resolve(null)),
      announce: (text) => this.announce(text),
      token: () => this.session && this.session.token,
    });
    this.supervisor = false;
  }

  // --- lifecycle ----------------------------------------------------------

  start(session) {
    this.session = session;
    this.bind();
    this.conversations.clear();
    this.local.clear();
    this.items.clear();
    clear($('conversation-list'));
    this.transferSignature = null;
    this.cannedSignature = null;
    this.selected = null;
    this.customer.show(null);
    $('presence').value = (session.agent && session.agent.presence === 'away') ? 'away' : 'available';
    this.renderAll();
    this.supervisor = Boolean(session.agent && session.agent.role === 'supervisor');
    if (this.supervisor) this.board.start();
    this.conn = new LiveConnection(session.token, {
      onHello: (frame, info) => this.onHello(frame, info),
      onEvent: (frame) => this.onEvent(frame),
      onState: (state) => this.setBanner(state === 'down'),
      onFatal: (code) => this.fatal(code),
    });
    this.conn.start();
    this.poll();
    this.pollTimer = window.setInterval(() => this.poll(), POLL_MS);
  }

  stop() {
    this.whatsapp.show(null);
    this.board.stop();
    window.clearInterval(this.pollTimer);
    this.pollTimer = null;
    if (this.conn) this.conn.stop();
    this.conn = null;
    this.setBanner(false);
    document.title = this.baseTitle;
  }

  async signOut() {
    const token = this.session && this.session.token;
    this.stop();
    if (token) {
      try {
        await request('POST', '/v1/agents/logout', {token});
      } catch {
        // the token is dropped locally either way
      }
    }
    this.onSignedOut(t('agent.signed_out'));
  }

  fatal(code) {
    this.stop();
    this.onSignedOut(code === CLOSE_AGENT_GONE
      ? t('agent.account_gone')
      : t('agent.session_ended'));
  }

  bind() {
    if (this.bound) return;
    this.bound = true;
    $('presence').addEventListener('change', () => this.changePresence());
    $('conversation-list').addEventListener('click', (event) => {
      const button = event.target.closest('button[data-id]');
      if (button) this.select(button.dataset.id, {focusReply: false});
    });
    $('composer').addEventListener('submit', (event) => {
      event.preventDefault();
      this.sendReply();
    });
    $('reply').addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && !event.altKey
          && !event.ctrlKey && !event.metaKey) {
        event.preventDefault();
        this.sendReply();
      }
    });
    $('canned').addEventListener('change', () => this.insertCanned());
    this.customer.bind();
    this.whatsapp.bind();
    $('close-button').addEventListener('click', () => this.closeConversation());
    $('transfer-button').addEventListener('click', () => this.transfer());
    $('messages').addEventListener('click', (event) => {
      const button = event.target.closest('button[data-retry], button[data-discard]');
      if (!button) return;
      if (button.dataset.retry) this.retry(button.dataset.retry);
      else this.discard(button.dataset.discard);
    });
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden && this.selected) this.markRead(this.selected);
    });
  }

  // --- polling /v1/agents/me ----------------------------------------------

  async poll() {
    const session = this.session;
    if (!session || !this.conn) return;
    try {
      const {data} = await request('GET', '/v1/agents/me', {token: session.token});
      if (this.session !== session || !this.conn) return;
      $('waiting-count').textContent = String(data.waiting ?? 0);
      this.colleagues = Array.isArray(data.colleagues) ? data.colleagues : [];
      this.queues = Array.isArray(data.queues) ? data.queues : [];
      this.canned = Array.isArray(data.canned_responses) ? data.canned_responses : [];
      this.renderTransferTargets();
      this.renderCanned();
      this.whatsapp.setTemplates(Array.isArray(data.whatsapp_templates) ? data.whatsapp_templates : []);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401 && this.session === session) {
        this.fatal(4401);
      }
      // other failures: the banner (websocket) tells the agent; try again next tick
    }
  }

  // --- websocket events ---------------------------------------------------

  onHello(frame, {resumed}) {
    if (frame.agent && frame.agent.presence) {
      $('presence').value = frame.agent.presence === 'away' ? 'away' : 'available';
      this.renderPresenceDot();
    }
    if (typeof frame.waiting === 'number') $('waiting-count').textContent = String(frame.waiting);
    const open = Array.isArray(frame.conversations) ? frame.conversations : [];
    const ids = new Set(open.map((c) => c.id));
    if (resumed) {
      for (const id of [...this.conversations.keys()]) {
        if (!ids.has(id)) this.removeConversation(id, t('agent.gone_while_disconnected'));
      }
    }
    for (const conv of open) {
      const known = this.conversations.has(conv.id);
      const added = this.upsertConversation(conv, {isNew: resumed && !known});
      if (!resumed) continue;
      if (!known) {
        this.announce(t('agent.announce_assigned', {customer: conv.customer}));
      } else {
        for (const m of added) {
          this.announce(t('agent.announce_message', {customer: conv.customer, text: messagePreview(m, 140)}));
        }
      }
    }
    this.renderAll();
    if (this.supervisor) this.board.onHello();
  }

  onEvent(frame) {
    if (this.supervisor && this.board.onEvent(frame)) return;
    switch (frame.type) {
      case 'conversation.assigned':
        this.onAssigned(frame.conversation);
        break;
      case 'message.created':
        this.onMessage(frame.conversation_id, frame.message);
        break;
      case 'message.status':
        this.onStatus(frame);
        break;
      case 'conversation.transferred': {
        const conv = this.conversations.get(frame.conversation_id);
        if (conv) {
          const target = frame.to_queue
            ? t('agent.target_queue', {queue: frame.to_queue}) : this.colleagueName(frame.to_agent_id);
          this.announce(t('agent.announce_transferred', {customer: conv.customer, target}));
          this.removeConversation(frame.conversation_id, t('agent.transferred_to', {target}));
          this.renderAll();
        }
        break;
      }
      case 'conversation.closed': {
        const conv = this.conversations.get(frame.conversation_id);
        if (conv) {
          this.announce(t('agent.announce_closed', {customer: conv.customer}));
          this.removeConversation(frame.conversation_id, t('agent.closed'));
          this.renderAll();
        }
        break;
      }
      case 'error':
        $('thread-error').textContent = (frame.error && frame.error.message) || t('agent.hub_error');
        break;
      default:
        break;
    }
  }

  onAssigned(conv) {
    if (!conv || !conv.id) return;
    const known = this.conversations.has(conv.id);
    this.upsertConversation(conv, {isNew: !known});
    if (!known) {
      this.announce(t('agent.announce_assigned', {customer: conv.customer}));
    }
    this.renderAll();
  }

  onMessage(conversationId, message) {
    const conv = this.conversations.get(conversationId);
    if (!conv || !message || !message.id) return;
    const added = this.mergeMessage(conv, message);
    if (added) extendWindow(conv, message);
    if (message.client_id && this.local.has(message.client_id)) this.local.delete(message.client_id);
    if (added && message.direction === 'inbound') {
      if (this.selected !== conv.id || document.hidden) conv.unread = (conv.unread || 0) + 1;
      this.announce(t('agent.announce_message', {customer: conv.customer, text: messagePreview(message, 140)}));
    }
    this.renderList();
    if (this.selected === conv.id) {
      this.renderMessages({scroll: true});
      this.whatsapp.show(conv); // a customer's message opens the window again
    }
    this.renderTitle();
  }

  onStatus(frame) {
    const conv = this.conversations.get(frame.conversation_id);
    if (!conv) return;
    const message = (conv.messages || []).find((m) => m.id === frame.message_id);
    if (!message) return;
    const next = laterStatus(message.status, frame.status);
    if (next === message.status) return;
    message.status = next;
    if (frame.error_code) message.error_code = frame.error_code;
    if (this.selected === conv.id) this.updateBadge(message);
  }

  // --- state --------------------------------------------------------------

  /** Add or refresh a conversation; returns the inbound messages it did not have yet. */
  upsertConversation(incoming, {isNew}) {
    const current = this.conversations.get(incoming.id);
    if (!current) {
      const conv = {...incoming, messages: [], unread: 0, isNew: Boolean(isNew)};
      for (const m of incoming.messages || []) {
        this.mergeMessage(conv, m);
        if (m.client_id) this.local.delete(m.client_id);
      }
      this.conversations.set(conv.id, conv);
      return [];
    }
    const {messages, ...fields} = incoming;
    Object.assign(current, fields);
    if (isNew) current.isNew = true;
    const fresh = [];
    for (const m of messages || []) {
      const added = this.mergeMessage(current, m);
      if (added && m.direction === 'inbound') {
        fresh.push(m);
        if (this.selected !== current.id || document.hidden) current.unread = (current.unread || 0) + 1;
      }
      if (m.client_id) this.local.delete(m.client_id);
    }
    return fresh;
  }

  /** Add a message (or fold in a newer status); true when it was new. */
  mergeMessage(conv, message) {
    const existing = conv.messages.find((m) => m.id === message.id);
    if (existing) {
      existing.status = laterStatus(existing.status, message.status);
      if (message.error_code) existing.error_code = message.error_code;
      return false;
    }
    conv.messages.push({...message});
    conv.messages.sort((a, b) => (Number(a.at) || 0) - (Number(b.at) || 0));
    return true;
  }

  removeConversation(id, reason) {
    this.conversations.delete(id);
    for (const [clientId, entry] of this.local) if (entry.conversation_id === id) this.local.delete(clientId);
    if (this.selected === id) {
      this.selected = null;
      this.customer.show(null);
      this.emptyThread(t('agent.conversation_ended'), reason);
    }
  }

  authorName(agentId) {
    const me = this.session && this.session.agent;
    return me && me.id === agentId ? t('agent.you') : this.colleagueName(agentId);
  }

  colleagueName(agentId) {
    const found = this.colleagues.find((c) => c.id === agentId);
    return found ? found.name : t('agent.a_colleague');
  }

  select(id, {focusReply}) {
    if (!this.conversations.has(id)) return;
    this.selected = id;
    this.markRead(id);
    $('thread-error').textContent = '';
    $('composer-error').textContent = '';
    this.renderAll();
    this.renderMessages({scroll: true});
    this.customer.show(this.conversations.get(id));
    if (focusReply) $('reply').focus();
  }

  markRead(id) {
    const conv = this.conversations.get(id);
    if (!conv || (!conv.unread && !conv.isNew)) return;
    conv.unread = 0;
    conv.isNew = false;
    this.renderList();
    this.renderTitle();
  }

  // --- commands -----------------------------------------------------------

  async changePresence() {
    const select = $('presence');
    const wanted = select.value;
    $('presence-error').textContent = '';
    this.renderPresenceDot();
    const result = await this.conn.command({type: 'presence', status: wanted});
    if (result.type === 'error') {
      $('presence-error').textContent = result.error.message;
      select.value = wanted === 'away' ? 'available' : 'away';
      this.renderPresenceDot();
    } else {
      this.announce(wanted === 'away' ? t('agent.you_are_away') : t('agent.you_are_available'));
    }
  }

  sendReply() {
    const conv = this.selected && this.conversations.get(this.selected);
    const box = $('reply');
    const attach = $('reply-media');
    const body = box.value;
    // One URL per line or space; the hub checks them (https, public host).
    const media = attach.value.split(/\s+/).filter(Boolean);
    if (!conv || (!body.trim() && !media.length)) return;
    $('composer-error').textContent = '';
    const clientId = randomId('r-');
    this.local.set(clientId, {conversation_id: conv.id, body, media, at: Date.now() / 1000, error: null});
    box.value = '';
    attach.value = '';
    this.renderMessages({scroll: true});
    this.dispatchReply(clientId);
  }

  async dispatchReply(clientId) {
    const entry = this.local.get(clientId);
    if (!entry || !this.conn) return;
    const command = {type: 'reply', conversation_id: entry.conversation_id, body: entry.body, client_id: clientId};
    if (entry.media && entry.media.length) command.media = entry.media;
    const result = await this.conn.command(command);
    if (result.type === 'error') {
      const still = this.local.get(clientId);
      if (still) {
        still.error = result.error.message || t('agent.reply_refused');
        if (this.selected === still.conversation_id) {
          $('composer-error').textContent = t('agent.not_sent_because', {error: still.error});
          this.renderMessages({scroll: false});
        }
      }
    }
  }

  retry(clientId) {
    const entry = this.local.get(clientId);
    if (!entry) return;
    entry.error = null;
    $('composer-error').textContent = '';
    this.renderMessages({scroll: false});
    this.dispatchReply(clientId);
  }

  discard(clientId) {
    this.local.delete(clientId);
    this.renderMessages({scroll: false});
    $('reply').focus();
  }

  insertCanned() {
    const select = $('canned');
    const found = this.canned.find((c) => c.id === select.value);
    select.value = '';
    if (!found) return;
    const box = $('reply');
    const start = box.selectionStart ?? box.value.length;
    const end = box.selectionEnd ?? box.value.length;
    box.value = box.value.slice(0, start) + found.body + box.value.slice(end);
    const caret = start + found.body.length;
    box.focus();
    box.setSelectionRange(caret, caret);
  }

  async closeConversation() {
    const id = this.selected;
    if (!id) return;
    $('thread-error').textContent = '';
    const result = await this.conn.command({type: 'close', conversation_id: id});
    if (result.type === 'error' && this.conversations.has(id)) {
      $('thread-error').textContent = t('agent.could_not_close', {error: result.error.message});
    }
  }

  async transfer() {
    const id = this.selected;
    const value = $('transfer-target').value;
    $('thread-error').textContent = '';
    if (!id) return;
    if (!value) {
      $('thread-error').textContent = t('agent.choose_transfer_target');
      $('transfer-target').focus();
      return;
    }
    const [kind, ...rest] = value.split(':');
    const target = rest.join(':');
    const frame = {type: 'transfer', conversation_id: id};
    if (kind === 'agent') frame.agent_id = target;
    else frame.queue = target;
    const result = await this.conn.command(frame);
    if (result.type === 'error' && this.conversations.has(id)) {
      $('thread-error').textContent = t('agent.could_not_transfer', {error: result.error.message});
    }
  }

  // --- rendering ----------------------------------------------------------

  renderAll() {
    this.renderList();
    this.renderThread();
    this.renderTitle();
    this.renderPresenceDot();
  }

  sorted() {
    return [...this.conversations.values()].sort((a, b) => lastActivity(b) - lastActivity(a));
  }

  renderList() {
    const list = $('conversation-list');
    const active = document.activeElement;
    const focusedId = active && list.contains(active) && active.dataset ? active.dataset.id : null;
    const wanted = this.sorted();
    const keep = new Set(wanted.map((c) => c.id));
    for (const [id, li] of this.items) {
      if (!keep.has(id)) {
        li.remove();
        this.items.delete(id);
      }
    }
    wanted.forEach((conv, index) => {
      let li = this.items.get(conv.id);
      if (!li) {
        li = h('li', null, h('button', {type: 'button', dataset: {id: conv.id}}));
        this.items.set(conv.id, li);
      }
      this.fillListButton(li.firstChild, conv);
      if (list.children[index] !== li) list.insertBefore(li, list.children[index] || null);
    });
    if (focusedId && document.activeElement !== active) {
      const again = this.items.get(focusedId);
      if (again) again.firstChild.focus();
    }
    const count = this.conversations.size;
    $('conversation-count').textContent = count ? t('agent.conversation_count', {count}) : '';
    $('no-conversations').hidden = count > 0;
    const fresh = [...this.conversations.values()].filter((c) => c.isNew).length;
    const counter = $('new-count');
    counter.textContent = String(fresh);
    counter.classList.toggle('has-new', fresh > 0);
  }

  fillListButton(button, conv) {
    const messages = conv.messages || [];
    const last = messages[messages.length - 1];
    const selected = conv.id === this.selected;
    button.classList.add('conversation');
    button.classList.toggle('selected', selected);
    button.classList.toggle('is-new', Boolean(conv.isNew));
    button.classList.toggle('unread', Boolean(conv.unread));
    if (selected) button.setAttribute('aria-current', 'true');
    else button.removeAttribute('aria-current');
    button.replaceChildren(
      h('span', {class: 'conv-top'},
        h('span', {class: 'conv-customer'}, conv.customer),
        last ? timeEl(last.at) : timeEl(conv.created_at)),
      h('span', {class: 'conv-preview'},
        last ? `${last.direction === 'outbound' ? t('agent.you_prefix')
          : last.direction === 'note' ? t('customer.note_prefix') : ''}${messagePreview(last)}` : ''),
      h('span', {class: 'conv-tags'},
        conv.isNew ? h('span', {class: 'tag tag-new'}, t('agent.tag_new')) : null,
        conv.unread ? h('span', {class: 'tag tag-unread'}, t('agent.unread', {count: conv.unread})) : null,
        conv.correlated ? null : h('span', {class: 'tag'}, t('agent.tag_not_linked')),
        h('span', {class: 'tag tag-channel'}, String(conv.channel_type || '').toUpperCase())));
  }

  renderTitle() {
    let attention = 0;
    for (const conv of this.conversations.values()) attention += (conv.unread || 0) + (conv.isNew ? 1 : 0);
    document.title = attention ? `(${attention}) ${this.baseTitle}` : this.baseTitle;
  }

  renderPresenceDot() {
    $('presence-dot').className = `presence-dot presence-${$('presence').value}`;
  }

  emptyThread(title, text) {
    $('thread-body').hidden = true;
    $('thread-empty').hidden = false;
    $('thread-empty-title').textContent = title;
    $('thread-empty-text').textContent = text;
  }

  renderThread() {
    const conv = this.selected && this.conversations.get(this.selected);
    this.whatsapp.show(conv || null);
    if (!conv) {
      if (!$('thread-body').hidden) {
        this.emptyThread(t('page.no_conversation_open'), t('page.choose_a_conversation_from_the'));
      }
      return;
    }
    $('thread-empty').hidden = true;
    $('thread-body').hidden = false;
    $('thread-title').textContent = t('agent.conversation_with', {customer: conv.customer});
    const meta = [`${String(conv.channel_type || '').toUpperCase()}`, t('agent.meta_queue', {queue: conv.queue})];
    if (conv.created_at) meta.push(t('agent.meta_opened', {time: fullTime(conv.created_at)}));
    if (conv.previous_conversation_id) meta.push(t('agent.meta_follows'));
    $('thread-meta').textContent = meta.join(' · ');
    this.renderContext(conv);
    this.renderMessages({scroll: false});
  }

  renderContext(conv) {
    const box = $('context');
    const activity = conv.activity;
    if (!activity) {
      box.className = 'context uncorrelated';
      box.replaceChildren(h('p', {class: 'context-label'}, t('agent.context_not_linked')),
        h('p', {class: 'muted'}, t('agent.context_not_linked_text')));
      return;
    }
    const facts = [];
    const fact = (term, value) => {
      if (value === null || value === undefined || value === '') return;
      facts.push(h('div', null, h('dt', null, term), h('dd', null, value)));
    };
    fact(t('page.case'), activity.case_name);
    fact(t('page.configuration'), activity.configuration_name);
    fact(t('page.customer'), activity.customer_name);
    if (typeof activity.sent_at === 'number') fact(t('agent.fact_sent'), fullTime(activity.sent_at));
    fact(t('agent.fact_language'), activity.locale);
    box.className = 'context';
    box.replaceChildren(
      h('p', {class: 'context-label'}, t('agent.replying_to')),
      h('blockquote', {class: 'context-body'}, activity.body || ''),
      h('dl', {class: 'context-facts'}, facts),
    );
    const correlation = conv.correlation;
    const method = correlation && correlationMethod(correlation.method);
    if (method) {
      box.append(h('p', {class: 'context-correlation muted', id: 'context-correlation'},
        t('agent.correlation', {case: activity.case_name || correlation.activity_id, method})));
    }
  }

  renderMessages({scroll}) {
    const conv = this.selected && this.conversations.get(this.selected);
    const list = $('messages');
    if (!conv) {
      clear(list);
      return;
    }
    const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    const items = (conv.messages || []).map((m) => this.messageItem(conv, m));
    for (const [clientId, entry] of this.local) {
      if (entry.conversation_id !== conv.id) continue;
      items.push(this.localItem(clientId, entry));
    }
    if (!items.length) items.push(h('li', {class: 'muted'}, t('agent.no_messages')));
    list.replaceChildren(...items);
    if (scroll || nearBottom) list.scrollTop = list.scrollHeight;
  }

  messageItem(conv, message) {
    const direction = ['outbound', 'inbound', 'note'].includes(message.direction) ? message.direction : 'system';
    const who = direction === 'inbound'
      ? (message.profile_name ? `${message.profile_name} (${conv.customer})` : conv.customer)
      : direction === 'outbound' ? t('agent.you')
        : direction === 'note' ? t('customer.note_by', {name: this.authorName(message.agent_id)})
          : t('agent.system');
    return h('li', {class: `message ${direction}`, dataset: {messageId: message.id}},
      h('p', {class: 'message-meta'}, h('span', {class: 'message-who'}, who), ' · ', timeEl(message.at)),
      message.body ? h('p', {class: 'message-body'}, message.body) : null,
      mediaList(message.media),
      direction === 'outbound'
        ? h('p', {class: 'message-status'}, h('span', {class: 'visually-hidden'}, t('agent.delivery_status')),
          statusBadge(message.status || 'queued', message.error_code || null))
        : null);
  }

  localItem(clientId, entry) {
    const failed = Boolean(entry.error);
    return h('li', {class: `message outbound local${failed ? ' failed' : ''}`, dataset: {clientId}},
      h('p', {class: 'message-meta'}, h('span', {class: 'message-who'}, t('agent.you')), ' · ', timeEl(entry.at)),
      entry.body ? h('p', {class: 'message-body'}, entry.body) : null,
      // Not yet checked by the hub: listed as text, nothing loaded.
      entry.media && entry.media.length
        ? h('ul', {class: 'media', 'aria-label': t('agent.attachments')}, entry.media.map((url) => h('li', null, url)))
        : null,
      h('p', {class: 'message-status'},
        h('span', {class: 'visually-hidden'}, t('agent.delivery_status')),
        failed ? h('span', {class: 'badge status-failed', dataset: {status: 'not_sent'}}, t('agent.not_sent_badge', {error: entry.error}))
          : statusBadge('pending'),
        failed ? h('button', {type: 'button', class: 'link', dataset: {retry: clientId}}, t('agent.retry')) : null,
        failed ? h('button', {type: 'button', class: 'link', dataset: {discard: clientId}}, t('agent.discard')) : null));
  }

  updateBadge(message) {
    const item = $('messages').querySelector(`li[data-message-id="${CSS.escape(message.id)}"] .message-status`);
    if (!item) {
      this.renderMessages({scroll: false});
      return;
    }
    item.replaceChildren(h('span', {class: 'visually-hidden'}, t('agent.delivery_status')),
      statusBadge(message.status || 'queued', message.error_code || null));
  }

  renderTransferTargets() {
    const select = $('transfer-target');
    const signature = JSON.stringify([this.colleagues, this.queues]);
    if (signature === this.transferSignature) return;
    this.transferSignature = signature;
    const previous = select.value;
    const options = [h('option', {value: ''}, t('agent.choose'))];
    if (this.colleagues.length) {
      options.push(h('optgroup', {label: t('agent.colleagues')}, this.colleagues.map((c) =>
        h('option', {value: `agent:${c.id}`}, t('agent.colleague_option', {name: c.name, presence: presenceLabel(c.presence)})))));
    }
    if (this.queues.length) {
      options.push(h('optgroup', {label: t('agent.queues')}, this.queues.map((q) =>
        h('option', {value: `queue:${q}`}, t('agent.queue_option', {queue: q})))));
    }
    select.replaceChildren(...options);
    select.value = [...select.options].some((o) => o.value === previous) ? previous : '';
  }

  renderCanned() {
    const select = $('canned');
    const signature = JSON.stringify(this.canned);
    if (signature === this.cannedSignature) return;
    this.cannedSignature = signature;
    const options = [h('option', {value: ''}, this.canned.length
      ? t('page.insert_a_canned_response') : t('agent.no_canned'))];
    for (const c of this.canned) options.push(h('option', {value: c.id, title: c.body}, c.title));
    select.replaceChildren(...options);
    select.value = '';
  }
}
