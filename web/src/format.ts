/** "2025-01-31 14:03:07 UTC": unambiguous for a team spread over time zones. */
export function formatTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

// Entry data arrives as JSON, so stringify cannot fail in practice; the fallback keeps a
// rendering bug from blanking the table if it ever does.
function jsonOrPlaceholder(value: unknown, indent?: number): string {
  if (value === undefined) return '';
  try {
    return JSON.stringify(value, null, indent) ?? '(no JSON value)';
  } catch {
    return '(not representable as JSON)';
  }
}

export function compactJson(value: unknown): string {
  return jsonOrPlaceholder(value);
}

export function prettyJson(value: unknown): string {
  return jsonOrPlaceholder(value, 2);
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export function formatCount(n: number): string {
  return new Intl.NumberFormat('en').format(n);
}

export function plural(n: number, one: string, many: string): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}
