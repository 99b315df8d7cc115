// CSV (RFC 4180: quoted fields, "" for a quote, commas and line breaks inside
// quotes, CRLF or LF) and the mapping of a contact list to send contacts.

import {t} from './i18n.js';

export class CsvError extends Error {
  constructor(message, line) {
    super(line ? t('csv.at_line', {line, message}) : message);
    this.line = line;
  }
}

/** Rows as {cells: [...], line: <1-based line where the row starts>}; blank lines skipped. */
export function parseCsv(input) {
  let text = String(input || '');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  let fieldWasQuoted = false;
  let line = 1;
  let rowLine = 1;
  let quoteLine = 1;
  const endRow = () => {
    row.push(field);
    const blank = row.length === 1 && !fieldWasQuoted && row[0].trim() === '';
    if (!blank) rows.push({cells: row, line: rowLine});
    row = [];
    field = '';
    fieldWasQuoted = false;
  };
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 1;
        } else {
          quoted = false;
        }
      } else {
        if (c === '\n') line += 1;
        field += c;
      }
      continue;
    }
    if (c === '"' && field.trim() === '' && !fieldWasQuoted) {
      quoted = true;
      fieldWasQuoted = true;
      quoteLine = line;
      field = '';
    } else if (c === ',') {
      row.push(field);
      field = '';
      fieldWasQuoted = false;
    } else if (c === '\r' || c === '\n') {
      if (c === '\r' && text[i + 1] === '\n') i += 1;
      endRow();
      line += 1;
      rowLine = line;
    } else if (fieldWasQuoted) {
      if (c.trim() !== '') throw new CsvError(t('csv.text_after_quote'), line);
    } else {
      field += c;
    }
  }
  if (quoted) throw new CsvError(t('csv.unclosed_quote'), quoteLine);
  if (field !== '' || row.length || fieldWasQuoted) endRow();
  return rows;
}

// The ContactList fields, as the send API names them.
export const CONTACT_FIELDS = [
  'tocontactid', 'channelid', 'optin', 'locale', 'CustomerName', 'CaseName',
  'entityrelationshipname', 'msdyn_ocoutboundconfigurationid',
];
const REQUIRED = ['tocontactid', 'channelid', 'optin', 'CustomerName', 'CaseName'];
const TRUE = new Set(['true', 'yes', '1']);
const FALSE = new Set(['false', 'no', '0']);

/**
 * Parse a contact list. Returns {contacts: [{row, line, contact}], columns:
 * {fields, context}}. Known columns match case-insensitively; every other
 * column becomes a context item (blank cells are left out).
 */
export function contactsFromCsv(text) {
  const rows = parseCsv(text);
  if (!rows.length) throw new CsvError(t('csv.empty'));
  const header = rows[0].cells.map((name) => name.trim());
  const mapped = header.map((name) => CONTACT_FIELDS.find((f) => f.toLowerCase() === name.toLowerCase()) || null);
  const missing = REQUIRED.filter((f) => !mapped.includes(f));
  if (missing.length) {
    throw new CsvError(t('csv.header_lacks', {columns: missing.join(', ')}), rows[0].line);
  }
  const seen = new Set();
  header.forEach((name, i) => {
    const key = (mapped[i] || name).toLowerCase();
    if (name && seen.has(key)) throw new CsvError(t('csv.column_twice', {name}), rows[0].line);
    seen.add(key);
  });
  const contacts = rows.slice(1).map((r, index) => {
    const contact = {};
    const context = {};
    header.forEach((name, i) => {
      const raw = r.cells[i] === undefined ? '' : r.cells[i];
      const value = raw.trim();
      const field = mapped[i];
      if (field) {
        if (value === '') return;
        if (field === 'optin') {
          const lower = value.toLowerCase();
          contact.optin = TRUE.has(lower) ? true : FALSE.has(lower) ? false : value;
        } else {
          contact[field] = value;
        }
      } else if (name && value !== '') {
        context[name] = value;
      }
    });
    if (Object.keys(context).length) contact.contextitems = context;
    return {row: index + 1, line: r.line, contact};
  });
  return {
    contacts,
    columns: {
      fields: mapped.filter(Boolean),
      context: header.filter((name, i) => name && !mapped[i]),
    },
  };
}

export function chunk(list, size) {
  const out = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}
