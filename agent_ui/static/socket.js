// The agent's live connection: reconnects with exponential backoff and
// jitter, resumes after the last event seen, drops events it has already
// applied, and re-sends commands that were never acknowledged (with the same
// client_id, so the hub carries each out once). Each connection is opened
// with a one-time ticket fetched just before it, so the session token never
// travels in a URL.

import {ApiError, request} from './api.js';
import {randomId} from './dom.js';

const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 10000;
const SEEN_WINDOW = 5000;

export const CLOSE_BAD_TOKEN = 4401;
export const CLOSE_AGENT_GONE = 4404;

export class LiveConnection {
  /**
   * handlers: onHello(frame, {resumed}), onEvent(frame), onState('up'|'down'),
   * onFatal(code, reason).
   */
  constructor(token, handlers) {
    this.token = token;
    this.handlers = handlers;
    this.ws = null;
    this.open = false;
    this.stopped = false;
    this.connecting = false;
    this.attempt = 0;
    this.timer = null;
    this.lastEventId = null;
    this.floor = null;
    this.seen = new Set();
    this.pending = new Map(); // client_id -> {frame, resolve}
    this.onOnline = () => this.reconnectNow();
    this.onOffline = () => this.drop();
  }

  start() {
    window.addEventListener('online', this.onOnline);
    window.addEventListener('offline', this.onOffline);
    this.connect();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener('online', this.onOnline);
    window.removeEventListener('offline', this.onOffline);
    clearTimeout(this.timer);
    const ws = this.ws;
    this.ws = null;
    this.open = false;
    if (ws) ws.close(1000, 'signed out');
    for (const {resolve} of this.pending.values()) {
      resolve({type: 'error', error: {code: 'disconnected', message: 'signed out'}});
    }
    this.pending.clear();
  }

  url(ticket) {
    const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${scheme}//${window.location.host}/v1/agent/ws?ticket=${encodeURIComponent(ticket)}`;
  }

  async connect() {
    clearTimeout(this.timer);
    this.timer = null;
    if (this.stopped || this.connecting) return;
    this.connecting = true;
    let ticket;
    try {
      ({data: {ticket}} = await request('POST', '/v1/agent/ws-ticket', {token: this.token}));
    } catch (error) {
      this.connecting = false;
      if (this.stopped) return;
      if (error instanceof ApiError && error.status === 401) {
        this.stop();
        this.handlers.onFatal(CLOSE_BAD_TOKEN, 'session ended');
      } else {
        this.lost();
      }
      return;
    }
    this.connecting = false;
    if (this.stopped || this.ws) return;
    let ws;
    try {
      ws = new WebSocket(this.url(ticket));
    } catch {
      this.lost();
      return;
    }
    this.ws = ws;
    ws.addEventListener('message', (event) => {
      if (ws !== this.ws) return;
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (frame && typeof frame === 'object') this.receive(frame);
    });
    ws.addEventListener('close', (event) => {
      if (ws !== this.ws) return;
      this.ws = null;
      this.open = false;
      if (this.stopped) return;
      if (event.code === CLOSE_BAD_TOKEN || event.code === CLOSE_AGENT_GONE) {
        this.stop();
        this.handlers.onFatal(event.code, event.reason);
        return;
      }
      this.lost();
    });
  }

  /** The browser says the network is gone: treat the socket as dropped now. */
  drop() {
    if (this.stopped || !this.ws) return;
    const ws = this.ws;
    this.ws = null;
    this.open = false;
    try {
      ws.close(4000, 'offline');
    } catch {
      // already closing
    }
    this.lost();
  }

  lost() {
    this.handlers.onState('down');
    this.schedule();
  }

  schedule() {
    if (this.stopped || this.timer) return;
    const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** this.attempt);
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.attempt += 1;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect();
    }, delay);
  }

  reconnectNow() {
    if (this.stopped || this.ws || this.connecting) return;
    this.attempt = 0;
    this.connect();
  }

  receive(frame) {
    if (frame.type === 'hello') {
      this.open = true;
      this.attempt = 0;
      let after = this.lastEventId;
      if (after !== null && typeof frame.id === 'number' && frame.id < after) {
        // The hub's event log restarted: the hello state is all there is.
        this.seen.clear();
        after = null;
      }
      this.handlers.onHello(frame, {resumed: after !== null});
      if (after !== null) {
        // The hello state already holds the effect of every event up to its
        // id; the replayed ones up to there are only recorded as seen.
        this.floor = typeof frame.id === 'number' ? frame.id : null;
        this.raw({type: 'resume', after});
      } else if (typeof frame.id === 'number') {
        this.floor = null;
        this.lastEventId = frame.id;
      }
      for (const {frame: command} of this.pending.values()) this.raw(command);
      this.handlers.onState('up');
      return;
    }
    if (frame.type === 'ack' || (frame.type === 'error' && typeof frame.id !== 'number')) {
      const waiting = frame.client_id ? this.pending.get(frame.client_id) : undefined;
      if (waiting) {
        this.pending.delete(frame.client_id);
        waiting.resolve(frame);
      } else if (frame.type === 'error') {
        this.handlers.onEvent(frame);
      }
      return;
    }
    if (typeof frame.id === 'number') {
      if (this.seen.has(frame.id)) return;
      this.seen.add(frame.id);
      if (this.lastEventId === null || frame.id > this.lastEventId) this.lastEventId = frame.id;
      if (this.seen.size > SEEN_WINDOW) {
        const floor = this.lastEventId - SEEN_WINDOW;
        for (const id of this.seen) if (id < floor) this.seen.delete(id);
      }
      if (this.floor !== null && frame.id <= this.floor) return;
    }
    this.handlers.onEvent(frame);
  }

  raw(frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  /**
   * Send a command; resolves with its ack or error frame. Until answered it
   * stays pending and is sent again, unchanged, after a reconnect.
   */
  command(frame) {
    const withId = {...frame, client_id: frame.client_id || randomId('c-')};
    return new Promise((resolve) => {
      this.pending.set(withId.client_id, {frame: withId, resolve});
      if (this.open) this.raw(withId);
    });
  }
}
