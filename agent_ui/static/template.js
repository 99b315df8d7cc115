// Template placeholders, as the hub reads them: {{ name }} with letters,
// digits, '_', '.' or '-'.

const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g;

/** Placeholder names in order of first use across the given texts. */
export function placeholders(...texts) {
  const names = [];
  for (const text of texts) {
    for (const match of String(text || '').matchAll(PLACEHOLDER)) {
      if (!names.includes(match[1])) names.push(match[1]);
    }
  }
  return names;
}

/**
 * Split a body into parts for a preview: {text} for literal text and sample
 * values, {missing: name} where no sample value is given.
 */
export function previewParts(body, values) {
  const parts = [];
  let last = 0;
  const text = String(body || '');
  for (const match of text.matchAll(PLACEHOLDER)) {
    if (match.index > last) parts.push({text: text.slice(last, match.index)});
    const value = values[match[1]];
    parts.push(value ? {text: value, filled: match[1]} : {missing: match[1]});
    last = match.index + match[0].length;
  }
  if (last < text.length) parts.push({text: text.slice(last)});
  return parts;
}

export const SAMPLE_VALUES = {
  CustomerName: 'Ada Lovelace',
  CaseName: 'CAS-01024',
};
