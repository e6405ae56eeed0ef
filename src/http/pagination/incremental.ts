/** A record's `updated since` value: an ISO-8601 timestamp, epoch number, or any ordered string. */
export type UpdatedValue = string | number;

const ISO_DATE = /^\d{4}-\d{2}-\d{2}/;
const DECIMAL = /^-?\d+(?:\.\d+)?$/;

/**
 * The default order of `updated since` values: numbers numerically; ISO-8601 timestamps by instant
 * (so `…T10:00:00Z` and `…T12:00:00+02:00` are equal), then by text for sub-millisecond digits; decimal
 * strings numerically; anything else by text.
 *
 * @example
 * ```ts
 * import { compareUpdated } from 'syncline/http';
 *
 * compareUpdated('2025-03-01T10:00:00Z', '2025-03-01T11:00:00+02:00'); // 1 (10:00Z is after 09:00Z)
 * compareUpdated('9', '10'); // -1
 * ```
 */
export function compareUpdated(a: UpdatedValue, b: UpdatedValue): number {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  const sa = String(a);
  const sb = String(b);
  if (sa === sb) return 0;
  if (ISO_DATE.test(sa) && ISO_DATE.test(sb)) {
    const ta = Date.parse(sa);
    const tb = Date.parse(sb);
    if (Number.isFinite(ta) && Number.isFinite(tb)) {
      if (ta !== tb) return ta < tb ? -1 : 1;
      // Same millisecond: equal unless the API gives finer digits in one format.
      if (sa.length === sb.length) return sa < sb ? -1 : 1;
      return 0;
    }
  }
  if (DECIMAL.test(sa) && DECIMAL.test(sb)) {
    const na = Number(sa);
    const nb = Number(sb);
    if (na !== nb) return na < nb ? -1 : 1;
  }
  return sa < sb ? -1 : 1;
}
