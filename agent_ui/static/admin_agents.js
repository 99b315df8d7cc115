// The Agents page: the org's agents, adding one, changing its capacity and
// queues, setting a new password, and deactivating it.

import {cell, confirmButton, fillTable} from './admin_common.js';
import {$, h} from './dom.js';
import {t} from './i18n.js';

const PRESENCE = {
  available: () => t('page.available'),
  away: () => t('page.away'),
  offline: () => t('agents.offline'),
};

function queueList(text) {
  return text.split(',').map((q) => q.trim()).filter(Boolean);
}

export class AgentsPage {
  constructor(admin) {
    this.admin = admin;
    this.agents = [];
    this.editing = null;
    $('agent-form').addEventListener('submit', (e) => { e.preventDefault(); this.create(); });
    $('agent-edit').addEventListener('submit', (e) => { e.preventDefault(); this.saveRouting(); });
    $('agent-edit-set-password').addEventListener('click', () => this.setPassword());
    $('agent-edit-close').addEventListener('click', () => this.edit(null));
  }

  async show() {
    await this.admin.guard($('agents-error'), () => this.refresh());
  }

  hide() {}

  status(message) {
    $('admin-status').textContent = message;
    this.admin.announce(message);
  }

  async refresh() {
    const {data} = await this.admin.api('GET', '/v1/agents');
    this.agents = data.items || [];
    fillTable($('agents-table'), this.agents, 9, t('agents.none'), (a) => h('tr', {dataset: {email: a.email}},
      cell(a.name),
      cell(a.email),
      cell(a.role === 'supervisor' ? t('agents.role_supervisor') : t('agents.role_agent')),
      cell((a.queues || []).join(', ')),
      cell(String(a.capacity)),
      cell(PRESENCE[a.presence] ? PRESENCE[a.presence]() : String(a.presence)),
      cell(String(a.open)),
      cell(a.active === false ? t('agents.deactivated') : t('agents.active')),
      cell(a.active === false ? '' : h('span', {class: 'row'},
        h('button', {type: 'button', class: 'secondary small', 'aria-label': t('agents.edit_named', {name: a.name}),
          onclick: () => this.edit(a)}, t('admin.edit')),
        confirmButton(t('agents.deactivate'), t('agents.deactivate_named', {name: a.name}),
          () => this.deactivate(a), this.admin.announce)))));
    if (this.editing) {
      const current = this.agents.find((a) => a.id === this.editing.id && a.active !== false);
      this.edit(current || null, false);
    }
  }

  edit(agent, focus = true) {
    this.editing = agent;
    const form = $('agent-edit');
    form.hidden = !agent;
    $('agent-edit-error').textContent = '';
    if (!agent) return;
    $('agent-edit-title').textContent = t('agents.edit_title', {name: agent.name});
    if (focus) {
      $('agent-edit-capacity').value = String(agent.capacity);
      $('agent-edit-queues').value = (agent.queues || []).join(', ');
      $('agent-edit-password').value = '';
      $('agent-edit-capacity').focus();
    }
  }

  async create() {
    const body = {
      name: $('agent-new-name').value.trim(),
      email: $('agent-new-email').value.trim(),
      password: $('agent-new-password').value,
      role: $('agent-new-role').value,
      queues: queueList($('agent-new-queues').value),
      capacity: Number.parseInt($('agent-new-capacity').value, 10),
    };
    const created = await this.admin.guard($('agent-form-error'),
      async () => (await this.admin.api('POST', '/v1/agents', body)).data);
    if (!created) return;
    for (const id of ['agent-new-name', 'agent-new-email', 'agent-new-password']) $(id).value = '';
    this.status(t('agents.added', {name: created.name}));
    await this.admin.guard($('agents-error'), () => this.refresh());
  }

  async saveRouting() {
    const agent = this.editing;
    if (!agent) return;
    const body = {
      capacity: Number.parseInt($('agent-edit-capacity').value, 10),
      queues: queueList($('agent-edit-queues').value),
    };
    const saved = await this.admin.guard($('agent-edit-error'),
      async () => (await this.admin.api('PATCH', `/v1/agents/${encodeURIComponent(agent.id)}`, body)).data);
    if (!saved) return;
    this.status(t('agents.routing_saved', {name: saved.name}));
    await this.admin.guard($('agents-error'), () => this.refresh());
  }

  async setPassword() {
    const agent = this.editing;
    if (!agent) return;
    const password = $('agent-edit-password').value;
    const saved = await this.admin.guard($('agent-edit-error'), async () => (await this.admin.api(
      'POST', `/v1/agents/${encodeURIComponent(agent.id)}/password`, {password})).data);
    if (!saved) return;
    $('agent-edit-password').value = '';
    this.status(t('agents.password_set', {name: saved.name}));
  }

  async deactivate(agent) {
    await this.admin.guard($('agents-error'), async () => {
      await this.admin.api('POST', `/v1/agents/${encodeURIComponent(agent.id)}/deactivate`);
      if (this.editing && this.editing.id === agent.id) this.edit(null);
      this.status(t('agents.deactivated_named', {name: agent.name}));
      await this.refresh();
    });
  }
}
