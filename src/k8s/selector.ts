/**
 * Label selectors, exactly as apimachinery evaluates them.
 *
 * `metav1.LabelSelector` (matchLabels + matchExpressions) is converted by
 * `LabelSelectorAsSelector` (k8s.io/apimachinery/pkg/apis/meta/v1/helpers.go)
 * into a conjunction of requirements (pkg/labels/selector.go):
 *
 * - a nil selector selects **nothing** (`labels.Nothing()`);
 * - an empty, non-nil selector (`{}`) selects **everything**;
 * - `matchLabels` entries are `key In (value)`;
 * - `In`/`NotIn` need at least one value, `Exists`/`DoesNotExist` take none
 *   (`NewRequirement`); any other operator is an error, and a selector that
 *   fails to convert selects nothing (callers such as the NetworkPolicy
 *   controllers and the EndpointSlice controller skip the object);
 * - `NotIn` matches when the key is absent; `DoesNotExist` only when absent.
 *
 * Service selectors are plain maps (`labels.SelectorFromSet`): every pair must
 * be present, and an empty map selects everything. (The API server stores an
 * empty `spec.selector` as absent, and the EndpointSlice controller ignores
 * Services without a selector; `buildModel` handles that, not this module.)
 */

import type { LabelSelector, LabelSelectorRequirement } from './types.js';

export type Labels = Record<string, string> | undefined;

const OPERATORS: ReadonlySet<string> = new Set(['In', 'NotIn', 'Exists', 'DoesNotExist']);

/** A problem with a selector, with the field path relative to the selector. */
export interface SelectorProblem {
  readonly field: string;
  readonly message: string;
}

// DNS-1123 subdomain prefix and a qualified name, as IsQualifiedName checks
// (k8s.io/apimachinery/pkg/util/validation/validation.go).
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Why `key` is not a valid label key, or undefined when it is. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined) {
    if (prefix.length === 0 || prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix)) {
      return `label key ${JSON.stringify(key)} has an invalid prefix: it must be a lower-case DNS subdomain such as example.com`;
    }
  }
  if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME.test(name)) {
    return `label key ${JSON.stringify(key)} is invalid: a name of at most 63 characters, alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric`;
  }
  return undefined;
}

/** Why `value` is not a valid label value, or undefined when it is. */
export function labelValueProblem(value: string): string | undefined {
  if (value.length > 63 || !LABEL_VALUE.test(value)) {
    return `label value ${JSON.stringify(value)} is invalid: at most 63 characters, alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric (or empty)`;
  }
  return undefined;
}

/**
 * Validates a selector the way `LabelSelectorAsSelector` and the API server's
 * `ValidateLabelSelector` would. Field paths are relative (`matchExpressions[0].operator`).
 */
export function validateSelector(selector: LabelSelector | undefined): SelectorProblem[] {
  const problems: SelectorProblem[] = [];
  if (selector === undefined || selector === null) return problems;
  if (typeof selector !== 'object' || Array.isArray(selector)) {
    return [
      {
        field: '',
        message: 'a label selector must be a mapping with matchLabels and/or matchExpressions',
      },
    ];
  }
  const ml: unknown = selector.matchLabels;
  if (ml !== undefined && ml !== null) {
    if (typeof ml !== 'object' || Array.isArray(ml)) {
      problems.push({
        field: 'matchLabels',
        message: 'matchLabels must be a mapping of label keys to values',
      });
    } else {
      for (const [k, v] of Object.entries(ml as Record<string, unknown>)) {
        const kp = labelKeyProblem(k);
        if (kp) problems.push({ field: `matchLabels.${k}`, message: kp });
        if (typeof v !== 'string') {
          problems.push({
            field: `matchLabels.${k}`,
            message: `label value must be a string; quote it (e.g. "${String(v)}")`,
          });
        } else {
          const vp = labelValueProblem(v);
          if (vp) problems.push({ field: `matchLabels.${k}`, message: vp });
        }
      }
    }
  }
  const me: unknown = selector.matchExpressions;
  if (me !== undefined && me !== null) {
    if (!Array.isArray(me)) {
      problems.push({
        field: 'matchExpressions',
        message: 'matchExpressions must be a list of {key, operator, values}',
      });
    } else {
      me.forEach((raw: unknown, i) => {
        const at = `matchExpressions[${i}]`;
        if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
          problems.push({
            field: at,
            message: 'each match expression must be a mapping with key, operator and values',
          });
          return;
        }
        const r = raw as Partial<Record<keyof LabelSelectorRequirement, unknown>>;
        if (typeof r.key !== 'string' || r.key === '') {
          problems.push({ field: `${at}.key`, message: 'a match expression needs a key' });
        } else {
          const kp = labelKeyProblem(r.key);
          if (kp) problems.push({ field: `${at}.key`, message: kp });
        }
        const values: unknown = r.values;
        if (
          values !== undefined &&
          values !== null &&
          (!Array.isArray(values) || values.some((v) => typeof v !== 'string'))
        ) {
          problems.push({ field: `${at}.values`, message: 'values must be a list of strings' });
        }
        const n = Array.isArray(values) ? values.length : 0;
        if (typeof r.operator !== 'string' || !OPERATORS.has(r.operator)) {
          problems.push({
            field: `${at}.operator`,
            message: `operator ${JSON.stringify(r.operator ?? null)} is not one of In, NotIn, Exists, DoesNotExist`,
          });
        } else if ((r.operator === 'In' || r.operator === 'NotIn') && n === 0) {
          problems.push({
            field: `${at}.values`,
            message: `operator ${r.operator} needs at least one value`,
          });
        } else if ((r.operator === 'Exists' || r.operator === 'DoesNotExist') && n > 0) {
          problems.push({
            field: `${at}.values`,
            message: `operator ${r.operator} takes no values; remove values`,
          });
        }
      });
    }
  }
  return problems;
}

// Validity per selector object: selectors are evaluated against thousands of
// pods, validation (regexes) should run once per object.
const validity = new WeakMap<object, boolean>();

function isValidSelector(selector: LabelSelector): boolean {
  if (typeof selector !== 'object') return false;
  let ok = validity.get(selector);
  if (ok === undefined) {
    ok = validateSelector(selector).length === 0;
    validity.set(selector, ok);
  }
  return ok;
}

function requirementMatches(labels: Labels, r: LabelSelectorRequirement): boolean {
  const has = labels !== undefined && Object.prototype.hasOwnProperty.call(labels, r.key);
  const value = has ? labels[r.key] : undefined;
  switch (r.operator) {
    case 'In':
      return has && (r.values ?? []).includes(value as string);
    case 'NotIn':
      return !has || !(r.values ?? []).includes(value as string);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
  }
}

/**
 * Whether `labels` satisfy `selector`, per apimachinery: undefined selects
 * nothing, `{}` selects everything, an invalid selector selects nothing.
 */
export function matchesSelector(labels: Labels, selector: LabelSelector | undefined): boolean {
  if (selector === undefined || selector === null) return false;
  if (!isValidSelector(selector)) return false;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) {
    if (labels === undefined || !Object.prototype.hasOwnProperty.call(labels, k) || labels[k] !== v)
      return false;
  }
  for (const r of selector.matchExpressions ?? []) {
    if (!requirementMatches(labels, r)) return false;
  }
  return true;
}

/** True when the selector selects every object (`{}` or only empty fields). */
export function isEmptySelector(selector: LabelSelector | undefined): boolean {
  return (
    selector !== undefined &&
    selector !== null &&
    Object.keys(selector.matchLabels ?? {}).length === 0 &&
    (selector.matchExpressions ?? []).length === 0
  );
}

/**
 * A Service-style equality selector (`labels.SelectorFromSet`): every pair
 * must be present with that value. An empty or absent map selects everything.
 */
export function matchesMap(labels: Labels, map: Record<string, string> | undefined): boolean {
  if (map === undefined || map === null) return true;
  for (const [k, v] of Object.entries(map)) {
    if (labels === undefined || !Object.prototype.hasOwnProperty.call(labels, k) || labels[k] !== v)
      return false;
  }
  return true;
}

/** `k1=v1,k2 in (a,b),!k3` — the selector in kubectl's string syntax, for messages. */
export function formatSelector(selector: LabelSelector | undefined): string {
  if (selector === undefined || selector === null) return '<none>';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) parts.push(`${k}=${v}`);
  for (const r of selector.matchExpressions ?? []) {
    const vs = (r.values ?? []).join(',');
    switch (r.operator) {
      case 'In':
        parts.push(`${r.key} in (${vs})`);
        break;
      case 'NotIn':
        parts.push(`${r.key} notin (${vs})`);
        break;
      case 'Exists':
        parts.push(r.key);
        break;
      case 'DoesNotExist':
        parts.push(`!${r.key}`);
        break;
      default:
        parts.push(`${r.key} ${String(r.operator)} (${vs})`);
    }
  }
  return parts.length === 0 ? '<everything>' : parts.join(',');
}

/** `k1=v1,k2=v2` for a map selector. */
export function formatMap(map: Record<string, string> | undefined): string {
  const parts = Object.entries(map ?? {}).map(([k, v]) => `${k}=${v}`);
  return parts.length === 0 ? '<everything>' : parts.join(',');
}
