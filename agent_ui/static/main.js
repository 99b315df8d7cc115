// Console entry point: sign-in, client-side routes, and switching between
// the agent workspace and the admin pages.
//
// Routes: /console (pick by session), /console/login, /console/agent,
// /console/admin/<tab>.

import {AdminConsole, TABS} from './admin.js';
import {AgentConsole} from './agent.js';
import {ApiError, describeError, request, sessions} from './api.js';
import {$} from './dom.js';
import {chooseLocale, formatIn, locale, t, translatePage} from './i18n.js';

const VIEWS = ['view-login', 'view-agent', 'view-admin'];
let mode = null; // 'login' | 'agent' | 'admin'
let firstRoute = true;

function announce(text) {
  const live = $('live');
  const line = document.createElement('p');
  line.textContent = text;
  live.append(line);
  while (live.childElementCount > 5) live.firstElementChild.remove();
}

function setBanner(visible) {
  $('banner').hidden = !visible;
}

function showView(id) {
  $('boot-message').hidden = true;
  for (const view of VIEWS) $(view).hidden = view !== id;
}

const agent = new AgentConsole({
  announce,
  setBanner,
  onSignedOut: (message) => {
    sessions.setAgent(null);
    mode = null;
    navigate('/console/login', {replace: true, notice: message, focus: 'agent'});
  },
});

const admin = new AdminConsole({
  announce,
  onSignedOut: (message) => {
    sessions.setApiKey(null);
    mode = null;
    navigate('/console/login', {replace: true, notice: message, focus: 'admin'});
  },
});

function leave(next) {
  if (mode === 'agent' && next !== 'agent') agent.stop();
  if (mode === 'admin' && next !== 'admin') admin.stop();
}

function sessionBar(text, switchTo) {
  $('session').hidden = !text;
  $('session-who').textContent = text || '';
  const link = $('switch-view');
  if (switchTo) {
    link.hidden = false;
    link.href = switchTo.href;
    link.textContent = switchTo.label;
  } else {
    link.hidden = true;
  }
}

function showLogin({notice, focus} = {}) {
  leave('login');
  mode = 'login';
  sessionBar(null);
  showView('view-login');
  document.title = t('title.login');
  $('login-notice').textContent = notice || '';
  if (focus === 'admin') $('admin-key').focus();
  else if (focus === 'agent' || !firstRoute) $('agent-email').focus();
}

function enterAgent(session) {
  leave('agent');
  if (mode !== 'agent') {
    mode = 'agent';
    document.title = t('title.agent');
    agent.baseTitle = document.title;
    agent.start(session);
  }
  const name = session.agent && session.agent.name ? session.agent.name : t('session.agent_fallback');
  sessionBar(t('session.signed_in_as', {name}),
    sessions.apiKey() ? {href: '/console/admin/channels', label: t('session.admin_pages')} : null);
  showView('view-agent');
}

function enterAdmin(key, tab) {
  leave('admin');
  if (mode !== 'admin') {
    mode = 'admin';
    admin.start(key);
  }
  document.title = t('title.admin');
  sessionBar(t('session.admin'), sessions.agent() ? {href: '/console/agent', label: t('session.agent_workspace')} : null);
  showView('view-admin');
  admin.show(tab);
}

function route(options = {}) {
  const path = window.location.pathname.replace(/\/+$/, '');
  const parts = path.split('/').filter(Boolean); // ['console', ...]
  const section = parts[1] || '';
  if (section === 'admin') {
    const key = sessions.apiKey();
    if (!key) showLogin({notice: options.notice, focus: 'admin'});
    else enterAdmin(key, TABS.includes(parts[2]) ? parts[2] : 'channels');
  } else if (section === 'agent') {
    const session = sessions.agent();
    if (!session) showLogin({notice: options.notice, focus: 'agent'});
    else enterAgent(session);
  } else if (section === 'login') {
    showLogin(options);
  } else if (sessions.agent()) {
    navigate('/console/agent', {replace: true});
    return;
  } else if (sessions.apiKey()) {
    navigate('/console/admin/channels', {replace: true});
    return;
  } else {
    showLogin(options);
  }
  if (!firstRoute && options.focusMain) $('main').focus();
  firstRoute = false;
}

function navigate(path, options = {}) {
  if (window.location.pathname !== path) {
    if (options.replace) window.history.replaceState(null, '', path);
    else window.history.pushState(null, '', path);
  }
  route(options);
}

// Links inside the console change the route without reloading the page.
document.addEventListener('click', (event) => {
  const link = event.target.closest('a[href^="/console"]');
  if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey
      || event.shiftKey || event.altKey || link.target) return;
  event.preventDefault();
  navigate(link.getAttribute('href'), {focusMain: true});
});

window.addEventListener('popstate', () => route());

function loginError(e) {
  if (!(e instanceof ApiError)) return describeError(e);
  if (e.status === 401) return t('login.wrong_password');
  if (e.status === 429) {
    return e.retryAfter
      ? t('login.too_many_wait', {when: formatIn(Math.ceil(e.retryAfter / 60), 'minute')})
      : t('login.too_many');
  }
  if (e.code === 'org_required') return t('login.org_required');
  return describeError(e);
}

$('agent-login').addEventListener('submit', async (event) => {
  event.preventDefault();
  const error = $('agent-login-error');
  error.textContent = '';
  const email = $('agent-email').value.trim();
  const password = $('agent-password').value;
  if (!email || !password) {
    error.textContent = t('login.enter_email_password');
    return;
  }
  const button = event.submitter || event.target.querySelector('button[type="submit"]');
  button.disabled = true;
  try {
    // org_id only when the hub asked for it (one email, agents in several orgs).
    const orgId = $('agent-org-field').hidden ? '' : $('agent-org').value.trim();
    const body = orgId ? {email, password, org_id: orgId} : {email, password};
    const {data} = await request('POST', '/v1/agents/login', {body});
    sessions.setAgent({
      token: data.token, agent: data.agent, org_id: data.org_id,
      expires_at: typeof data.expires_in === 'number' ? Date.now() + data.expires_in * 1000 : null,
    });
    $('agent-password').value = '';
    navigate('/console/agent', {focusMain: true});
  } catch (e) {
    error.textContent = loginError(e);
    if (e instanceof ApiError && e.code === 'org_required') {
      $('agent-org-field').hidden = false;
      $('agent-org').focus();
    }
  } finally {
    button.disabled = false;
  }
});

$('admin-login').addEventListener('submit', async (event) => {
  event.preventDefault();
  const error = $('admin-login-error');
  error.textContent = '';
  const key = $('admin-key').value.trim();
  if (!key) {
    error.textContent = t('login.paste_key');
    return;
  }
  const button = event.submitter || event.target.querySelector('button[type="submit"]');
  button.disabled = true;
  try {
    await request('GET', '/v1/channels?limit=1', {token: key});
    sessions.setApiKey(key);
    $('admin-key').value = '';
    const wanted = window.location.pathname.startsWith('/console/admin/') ? window.location.pathname : '/console/admin/channels';
    navigate(wanted, {focusMain: true});
  } catch (e) {
    error.textContent = e instanceof ApiError && e.status === 401 ? t('login.key_refused') : describeError(e);
  } finally {
    button.disabled = false;
  }
});

$('logout').addEventListener('click', () => {
  if (mode === 'agent') {
    agent.signOut();
  } else if (mode === 'admin') {
    admin.signOut(t('admin.signed_out'));
  }
});

$('language').value = locale;
$('language').addEventListener('change', (event) => chooseLocale(event.target.value));
translatePage();
route();
