/**
 * The labels conditions read on resources (`resource.labels`). An experiment's are the string
 * values of its file's `x-labels` map (a vendor key, which Chaos Toolkit tools keep and ignore):
 *
 * ```yaml
 * title: WAF blocks SQL injection on checkout
 * x-labels: { team: checkout, tier: staging }
 * ```
 *
 * Values that are not strings are left out, so a condition on them fails and denies.
 */
import { parseYamlBounded } from '../../core/input/bounded-yaml.ts';
import type { AppDeps } from '../deps.ts';

/** The labels key of a file. */
export const LABELS_KEY = 'x-labels';

/** The string labels of a file's `x-labels` map; none when it has none or is not a file that reads. */
export function fileLabels(text: string): Record<string, string> {
  const y = parseYamlBounded(text);
  if (!y.ok || y.value === null || typeof y.value !== 'object' || Array.isArray(y.value)) return {};
  const map = (y.value as Record<string, unknown>)[LABELS_KEY];
  if (map === null || typeof map !== 'object' || Array.isArray(map)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(map)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** An applied experiment's labels; undefined when there is no such experiment. */
export async function experimentLabels(deps: AppDeps, name: string): Promise<Record<string, string> | undefined> {
  const e = await deps.store.experiments.get(name);
  return e ? fileLabels(e.file) : undefined;
}
