// The Queues page: every queue the org has (with a policy, an agent or a
// configuration), how many wait in it and whether it is open now; a form to
// set a queue's routing policy (required skills, operating hours, the reply
// when closed, overflow, inactivity close) and a button to drop it, back to
// the defaults; and the agents' skills the policies ask for. The hub validates: its error names the field, and the
// message is shown next to that field. Entered text reaches the page only as
// text (h() and textContent), never as HTML.

import {cell, confirmButton} from './admin_common.js';
import {ApiError, describeError, listAll} from './api.js';
import {$, h} from './dom.js';
import {formatNumber, t} from './i18n.js';

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
// A function per day, so that each label is looked up by a literal key.
const DAY_LABELS = {
  mon: () => t('queues.day_mon'),
  tue: () => t('queues.day_tue'),
  wed: () => t('queues.day_wed'),
  thu: () => t('queues.day_thu'),
  fri: () => t('queues.day_fri'),
  sat: () => t('queues.day_sat'),
  sun: () => t('queues.day_sun'),
};
const LEVELS = [1, 2, 3, 4, 5];

/** "08:00-13:00, 14:00-18:00" → [["08:00", "13:00"], ["14:00", "18:00"]]; the hub checks the times. */
export function parseSpans(text) {
  return String(text).split(/[,;]/).map((part) => part.trim()).filter(Boolean)
    .map((part) => {
      const pieces = part.split(/\s*[-–—~]\s*|\s+to\s+/).map((p) => p.trim()).filter(Boolean);
      return pieces.length === 2 ? pieces : [part];
    });
}

export function formatSpans(spans) {
  return (spans || []).map(([start, end]) => `${start}-${end}`).join(', ');
}

function splitList(text) {
  return String(text).split(/[\s,;]+/).map((part) => part.trim()).filter(Boolean);
}

/** Whole seconds as typed, or the raw text when it is not a number (the hub then names the field). */
function wholeNumber(text) {
  const trimmed = String(text).trim();
  return /^-?\d+$/.test(trimmed) ? Number.parseInt(trimmed, 10) : trimmed;
}

/** The [name, level] pairs of a list of skill rows (rows without a name left out). */
function skillRows(container) {
  return [...container.querySelectorAll('.qp-row')]
    .map((row) => [row.querySelector('.qp-skill-name').value.trim(),
      Number.parseInt(row.querySelector('.qp-skill-level').value, 10)])
    .filter(([name]) => name);
}

function timeZones() {
  try {
    return Intl.supportedValuesOf('timeZone');
  } catch {
    return ['UTC'];
  }
}

export class QueuesPage {
  constructor(admin) {
    this.admin = admin;
    this.queues = [];
    this.editing = null; // the queue whose policy the form holds, or null for a new one
    this.rowSeq = 0;
    this.agents = [];
    this.skillsOf = null; // the agent whose skills the skills form holds
    $('queue-form').addEventListener('submit', (e) => { e.preventDefault(); this.save(); });
    $('qp-reset').addEventListener('click', () => this.edit(null));
    $('qp-add-skill').addEventListener('click', () => this.addSkillRow($('qp-skills'), '', 1, true));
    $('as-add-skill').addEventListener('click', () => this.addSkillRow($('as-skills'), '', 1, true));
    $('agent-skills-form').addEventListener('submit', (e) => { e.preventDefault(); this.saveSkills(); });
    $('as-cancel').addEventListener('click', () => this.editSkills(null));
    $('qp-add-reply').addEventListener('click', () => this.addReplyRow('', '', true));
    $('qp-hours-on').addEventListener('change', () => { $('qp-hours').hidden = !$('qp-hours-on').checked; });
    $('qp-overflow-mode').addEventListener('change', () => this.syncOverflow());
    $('qp-timezones').replaceChildren(...timeZones().map((zone) => h('option', {value: zone})));
    $('qp-weekly').replaceChildren(...DAYS.map((day) => h('div', {class: 'qp-day'},
      h('label', {for: `qp-day-${day}`}, DAY_LABELS[day]()),
      h('input', {id: `qp-day-${day}`, type: 'text', class: 'qp-day-hours', autocomplete: 'off', spellcheck: 'false',
        'aria-describedby': `qp-weekly-hint qp-day-${day}-error`, dataset: {day}}),
      h('p', {id: `qp-day-${day}-error`, class: 'error field-error', dataset: {field: `hours.weekly.${day}`}}))));
    this.edit(null);
  }

  async show() {
    await this.admin.guard($('queues-error'), () => this.refresh());
    await this.admin.guard($('agent-skills-error'), () => this.refreshAgents());
  }

  hide() {}

  status(message) {
    $('admin-status').textContent = message;
    this.admin.announce(message);
  }

  async refresh() {
    this.queues = await listAll('/v1/queues', this.admin.key);
    $('qp-queue-names').replaceChildren(...this.queues.map((q) => h('option', {value: q.name})));
    const body = $('queues-table').tBodies[0];
    if (!this.queues.length) {
      body.replaceChildren(h('tr', null, h('td', {colspan: '9', class: 'muted'}, t('queues.none'))));
      return;
    }
    body.replaceChildren(...this.queues.map((q) => this.row(q)));
  }

  row(q) {
    const skills = (q.required_skills || []).map((s) => t('queues.skill_at_level', {name: s.name, level: s.min_level}));
    const overflow = q.overflow;
    let overflowText = t('queues.none_short');
    if (overflow && typeof overflow.after_seconds === 'number') {
      overflowText = t('queues.overflow_after_summary', {queue: overflow.queue, seconds: overflow.after_seconds});
    } else if (overflow) {
      overflowText = t('queues.overflow_over_summary', {queue: overflow.queue, count: overflow.waiting_over});
    }
    const actions = h('span', {class: 'row'},
      h('button', {type: 'button', class: 'secondary small', 'aria-label': t('queues.edit_named', {name: q.name}),
        onclick: () => this.edit(q)}, q.configured ? t('admin.edit') : t('queues.set_policy')));
    if (q.configured) {
      actions.append(confirmButton(t('queues.delete'), t('queues.delete_named', {name: q.name}), () => this.remove(q),
        (message) => this.admin.announce(message)));
    }
    return h('tr', {dataset: {queue: q.name}},
      h('th', {scope: 'row'}, q.name),
      cell(formatNumber(q.waiting ?? 0)),
      cell(h('span', {class: `badge ${q.open ? 'status-delivered' : 'status-failed'}`},
        q.open ? t('queues.open') : t('queues.closed'))),
      cell(q.configured ? t('queues.configured') : t('queues.defaults')),
      cell(skills.length ? skills.join(t('admin.list_separator')) : t('queues.none_short')),
      cell(q.hours ? t('queues.hours_summary', {timezone: q.hours.timezone,
        days: DAYS.filter((d) => (q.hours.weekly[d] || []).length).map((d) => DAY_LABELS[d]()).join(t('admin.list_separator'))
          || t('queues.none_short')}) : t('queues.always_open')),
      cell(overflowText),
      cell(t('queues.seconds', {seconds: q.inactive_close_seconds})),
      cell(actions));
  }

  // --- the form -------------------------------------------------------------

  edit(queue) {
    this.editing = queue;
    this.clearErrors();
    $('queue-form-title').textContent = queue ? t('queues.edit_title', {name: queue.name}) : t('queues.new_policy');
    const name = $('qp-name');
    name.value = queue ? queue.name : '';
    name.readOnly = Boolean(queue);
    $('qp-skills').replaceChildren();
    for (const s of (queue && queue.required_skills) || []) this.addSkillRow($('qp-skills'), s.name, s.min_level, false);
    const hours = queue && queue.hours;
    $('qp-hours-on').checked = Boolean(hours);
    $('qp-hours').hidden = !hours;
    $('qp-timezone').value = hours ? hours.timezone : Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
    for (const day of DAYS) $(`qp-day-${day}`).value = hours ? formatSpans(hours.weekly[day]) : '';
    $('qp-holidays').value = hours ? (hours.holidays || []).join(', ') : '';
    $('qp-replies').replaceChildren();
    for (const [locale, text] of Object.entries((queue && queue.closed_reply) || {})) this.addReplyRow(locale, text, false);
    const overflow = queue && queue.overflow;
    let mode = '';
    if (overflow) mode = typeof overflow.after_seconds === 'number' ? 'after_seconds' : 'waiting_over';
    $('qp-overflow-mode').value = mode;
    $('qp-overflow-queue').value = overflow ? overflow.queue : '';
    $('qp-overflow-value').value = overflow ? String(overflow[mode]) : '';
    this.syncOverflow();
    $('qp-inactive').value = queue && queue.configured ? String(queue.inactive_close_seconds) : '';
    if (queue) $('qp-add-skill').focus();
  }

  syncOverflow() {
    const off = !$('qp-overflow-mode').value;
    $('qp-overflow-queue').disabled = off;
    $('qp-overflow-value').disabled = off;
  }

  addSkillRow(container, name, level, focus) {
    const levelLabel = container.id === 'as-skills' ? t('queues.level') : t('queues.min_level');
    this.rowSeq += 1;
    const n = this.rowSeq;
    const nameInput = h('input', {id: `qp-skill-${n}`, type: 'text', class: 'qp-skill-name', maxlength: '50',
      autocomplete: 'off', spellcheck: 'false', value: name});
    const levelSelect = h('select', {id: `qp-skill-level-${n}`, class: 'qp-skill-level'},
      ...LEVELS.map((l) => h('option', {value: String(l)}, String(l))));
    levelSelect.value = String(level || 1);
    const remove = h('button', {type: 'button', class: 'secondary small'}, t('admin.remove'));
    const row = h('div', {class: 'qp-row'},
      h('label', {for: `qp-skill-${n}`}, t('queues.skill')), nameInput,
      h('label', {for: `qp-skill-level-${n}`}, levelLabel), levelSelect, remove);
    const labelRemove = () => remove.setAttribute('aria-label',
      t('queues.remove_skill', {name: nameInput.value.trim() || '?'}));
    labelRemove();
    nameInput.addEventListener('input', labelRemove);
    remove.addEventListener('click', () => { row.remove(); container.nextElementSibling.focus(); }); // its Add button
    container.append(row);
    if (focus) nameInput.focus();
  }

  addReplyRow(locale, text, focus) {
    this.rowSeq += 1;
    const n = this.rowSeq;
    const localeInput = h('input', {id: `qp-reply-locale-${n}`, type: 'text', class: 'qp-reply-locale', maxlength: '35',
      autocomplete: 'off', spellcheck: 'false', value: locale});
    const area = h('textarea', {id: `qp-reply-text-${n}`, class: 'qp-reply-text', rows: '2', maxlength: '1600'});
    area.value = text;
    const remove = h('button', {type: 'button', class: 'secondary small'}, t('admin.remove'));
    const row = h('div', {class: 'qp-row qp-reply'},
      h('label', {for: `qp-reply-locale-${n}`}, t('page.locale')), localeInput,
      h('label', {for: `qp-reply-text-${n}`}, t('queues.reply_text')), area, remove);
    const labelRemove = () => remove.setAttribute('aria-label',
      t('admin.remove_locale', {locale: localeInput.value.trim() || '?'}));
    labelRemove();
    localeInput.addEventListener('input', labelRemove);
    remove.addEventListener('click', () => { row.remove(); $('qp-add-reply').focus(); });
    $('qp-replies').append(row);
    if (focus) localeInput.focus();
  }

  /** The policy as the form says it, in the shape PUT /v1/queues/{name} takes. */
  policy() {
    const body = {
      required_skills: skillRows($('qp-skills')).map(([name, level]) => ({name, min_level: level})),
      closed_reply: Object.fromEntries([...$('qp-replies').querySelectorAll('.qp-row')]
        .map((row) => [row.querySelector('.qp-reply-locale').value.trim(), row.querySelector('.qp-reply-text').value])
        .filter(([locale, text]) => locale || text.trim())),
      overflow: null,
      hours: null,
    };
    if ($('qp-hours-on').checked) {
      body.hours = {
        timezone: $('qp-timezone').value.trim(),
        weekly: Object.fromEntries(DAYS.map((day) => [day, parseSpans($(`qp-day-${day}`).value)])),
        holidays: splitList($('qp-holidays').value),
      };
    }
    const mode = $('qp-overflow-mode').value;
    if (mode) body.overflow = {queue: $('qp-overflow-queue').value.trim(), [mode]: wholeNumber($('qp-overflow-value').value)};
    const inactive = $('qp-inactive').value.trim();
    if (inactive) body.inactive_close_seconds = wholeNumber(inactive);
    return body;
  }

  clearErrors() {
    for (const el of $('queue-form').querySelectorAll('.field-error')) el.textContent = '';
    for (const el of $('queue-form').querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
    $('queue-form-error').textContent = '';
  }

  /** Show the hub's message next to the field it names; anything else under the form. */
  showError(error) {
    const field = error instanceof ApiError && error.details && typeof error.details.field === 'string'
      ? error.details.field : null;
    const slots = [...$('queue-form').querySelectorAll('.field-error')];
    const slot = field && (slots.find((el) => el.dataset.field.split(' ').includes(field))
      || slots.find((el) => el.dataset.field.split(' ').includes(field.split('.').slice(0, 2).join('.')))
      || (field.startsWith('hours') ? $('qp-hours-error') : null)
      || (field.startsWith('overflow') ? $('qp-overflow-error') : null));
    if (!slot) {
      $('queue-form-error').textContent = describeError(error);
      return;
    }
    slot.textContent = error.message;
    const own = $(slot.id.replace(/-error$/, ''));
    const input = own && own.matches('input, select, textarea') ? own : slot.parentElement.querySelector('input, select, textarea');
    if (input) {
      input.setAttribute('aria-invalid', 'true');
      input.focus();
    }
    this.admin.announce(error.message);
  }

  async save() {
    this.clearErrors();
    const name = $('qp-name').value.trim();
    if (!name) {
      $('qp-name-error').textContent = t('queues.name_required');
      $('qp-name').setAttribute('aria-invalid', 'true');
      $('qp-name').focus();
      return;
    }
    const button = $('qp-save');
    button.disabled = true;
    try {
      const {data} = await this.admin.api('PUT', `/v1/queues/${encodeURIComponent(name)}`, this.policy());
      this.status(t('queues.saved', {name: data.name}));
      await this.admin.guard($('queues-error'), () => this.refresh());
      this.edit(this.queues.find((q) => q.name === data.name) || data);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 401)) this.showError(error);
    } finally {
      button.disabled = false;
    }
  }

  async remove(queue) {
    await this.admin.guard($('queues-error'), async () => {
      await this.admin.api('DELETE', `/v1/queues/${encodeURIComponent(queue.name)}`);
      this.status(t('queues.deleted', {name: queue.name}));
      if (this.editing && this.editing.name === queue.name) this.edit(null);
      await this.refresh();
    });
  }

  // --- agents' skills -------------------------------------------------------

  async refreshAgents() {
    const {data} = await this.admin.api('GET', '/v1/agents');
    this.agents = (data.items || []).filter((a) => a.active !== false);
    const body = $('agent-skills-table').tBodies[0];
    if (!this.agents.length) {
      body.replaceChildren(h('tr', null, h('td', {colspan: '4', class: 'muted'}, t('queues.no_agents'))));
      return;
    }
    body.replaceChildren(...this.agents.map((a) => {
      const skills = Object.entries(a.skills || {}).map(([name, level]) => t('queues.agent_skill', {name, level}));
      return h('tr', {dataset: {agent: a.id}},
        h('th', {scope: 'row'}, a.name || a.email, h('br'), h('span', {class: 'muted'}, a.email)),
        cell((a.queues || []).join(t('admin.list_separator'))),
        cell(skills.length ? skills.join(t('admin.list_separator')) : t('queues.none_short')),
        cell(h('button', {type: 'button', class: 'secondary small',
          'aria-label': t('queues.edit_skills_named', {name: a.name || a.email}),
          onclick: () => this.editSkills(a)}, t('queues.edit_skills'))));
    }));
  }

  editSkills(agent) {
    this.skillsOf = agent;
    const form = $('agent-skills-form');
    $('agent-skills-form-error').textContent = '';
    form.hidden = !agent;
    if (!agent) return;
    $('agent-skills-title').textContent = t('queues.skills_of', {name: agent.name || agent.email});
    $('as-skills').replaceChildren();
    for (const [name, level] of Object.entries(agent.skills || {})) this.addSkillRow($('as-skills'), name, level, false);
    $('as-add-skill').focus();
  }

  async saveSkills() {
    const agent = this.skillsOf;
    if (!agent) return;
    const skills = Object.fromEntries(skillRows($('as-skills')));
    const saved = await this.admin.guard($('agent-skills-form-error'), async () =>
      (await this.admin.api('PUT', `/v1/agents/${encodeURIComponent(agent.id)}/skills`, skills)).data);
    if (!saved) return;
    this.status(t('queues.skills_saved', {name: saved.name || saved.email}));
    this.editSkills(null);
    await this.admin.guard($('agent-skills-error'), () => this.refreshAgents());
  }
}
