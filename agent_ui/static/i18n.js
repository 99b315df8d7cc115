// The console's languages: the message catalogues (locales/<locale>.json),
// the choice of locale, t() for messages and Intl for dates and numbers.
//
// The locale is the one picked in the header menu (kept in localStorage) or
// else the first of the browser's languages the console has. Changing it
// reloads the page: the sessions live in sessionStorage, so nobody is signed
// out, and every text is drawn again in the new language.

export const LOCALES = ['en', 'zh-TW'];
export const FALLBACK = 'en';
const STORE_KEY = 'hub.console.locale';

/** The console locale for one BCP 47 tag, or null when it has none for it. */
export function matchLocale(tag) {
  const lower = String(tag || '').toLowerCase();
  if (lower === 'zh-tw' || lower === 'zh-hk' || lower === 'zh-mo' || lower.startsWith('zh-hant')
      || lower.startsWith('zh-tw-') || lower.startsWith('zh-hk-')) return 'zh-TW';
  if (lower === 'en' || lower.startsWith('en-')) return 'en';
  return null;
}

/** The first of the preferred tags the console speaks, else English. */
export function pickLocale(preferred) {
  for (const tag of preferred || []) {
    const found = matchLocale(tag);
    if (found) return found;
  }
  return FALLBACK;
}

function storedLocale() {
  try {
    const value = window.localStorage.getItem(STORE_KEY);
    return LOCALES.includes(value) ? value : null;
  } catch {
    return null;
  }
}

export const locale = storedLocale()
  || pickLocale(navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language]);

async function loadCatalogue(name) {
  const response = await fetch(new URL(`./locales/${name}.json`, import.meta.url), {cache: 'no-cache'});
  if (!response.ok) throw new Error(`catalogue ${name}: HTTP ${response.status}`);
  return response.json();
}

// English is the fallback for a key a catalogue lacks (the tests keep both complete).
const [fallback, catalogue] = await Promise.all([
  loadCatalogue(FALLBACK),
  locale === FALLBACK ? null : loadCatalogue(locale),
]);
const messages = catalogue || fallback;

const plurals = new Intl.PluralRules(locale);
const numbers = new Intl.NumberFormat(locale);

function lookup(key) {
  if (Object.hasOwn(messages, key)) return messages[key];
  if (Object.hasOwn(fallback, key)) return fallback[key];
  return key;
}

/**
 * The message for key, with {name} replaced by params.name (numbers
 * formatted for the locale). A message that varies by number is an object of
 * plural forms ({one, other} in English, {other} alone in Chinese), chosen
 * by params.count.
 */
export function t(key, params = {}) {
  let message = lookup(key);
  if (message && typeof message === 'object') {
    const form = typeof params.count === 'number' ? plurals.select(params.count) : 'other';
    message = message[form] ?? message.other ?? key;
  }
  return String(message).replace(/\{(\w+)\}/g, (whole, name) => {
    if (!Object.hasOwn(params, name)) return whole;
    const value = params[name];
    return typeof value === 'number' ? numbers.format(value) : String(value);
  });
}

/** Translate the page's static texts: data-i18n (text) and data-i18n-attr ("attr:key;attr:key"). */
export function translatePage(root = document) {
  document.documentElement.lang = locale;
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-attr]')) {
    for (const pair of el.dataset.i18nAttr.split(';')) {
      const [attr, key] = pair.split(':');
      if (attr && key) el.setAttribute(attr.trim(), t(key.trim()));
    }
  }
}

/** Remember the chosen locale and draw the console again in it. */
export function chooseLocale(next) {
  if (!LOCALES.includes(next) || next === locale) return;
  try {
    window.localStorage.setItem(STORE_KEY, next);
  } catch {
    // storage disabled: the choice lasts for this page only, so there is nothing to reload into
    return;
  }
  window.location.reload();
}

export function formatNumber(value, options) {
  return options ? new Intl.NumberFormat(locale, options).format(value) : numbers.format(value);
}

/** A ratio (0..1) as a percentage with one decimal, e.g. "12.5 %" or "12.5%". */
export function formatPercent(ratio) {
  return t('format.percent', {value: formatNumber(ratio * 100, {minimumFractionDigits: 1, maximumFractionDigits: 1})});
}

const dateTimes = new Map();
function dateTimeFormat(options) {
  const key = JSON.stringify(options || {});
  if (!dateTimes.has(key)) dateTimes.set(key, new Intl.DateTimeFormat(locale, options));
  return dateTimes.get(key);
}

/** Date and time in full, the locale's default way (e.g. 2026/12/3 下午4:05:00). */
export function formatDateTime(date) {
  return dateTimeFormat({year: 'numeric', month: 'numeric', day: 'numeric',
    hour: 'numeric', minute: '2-digit', second: '2-digit'}).format(date);
}

export function formatTimeOfDay(date) {
  return dateTimeFormat({hour: '2-digit', minute: '2-digit'}).format(date);
}

export function formatShortDate(date) {
  return dateTimeFormat({month: 'short', day: 'numeric'}).format(date);
}

export function formatShortDateTime(date) {
  return dateTimeFormat({month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit'}).format(date);
}

/** "in 3 minutes", "3 分鐘後". */
export function formatIn(value, unit) {
  return new Intl.RelativeTimeFormat(locale, {numeric: 'always'}).format(value, unit);
}
