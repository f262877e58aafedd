/**
 * The rules `bulwark slo rules` prints, in a real Prometheus rule engine: `promtool check rules`
 * loads them cleanly, and `promtool test rules` evaluates them over series with a known error
 * ratio: the SLI recording rules give that ratio and the page alert fires at 20× the budget's
 * rate. promtool runs the engine in-process, so this takes well under a second.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { PROMTOOL_BIN } from '../../test/support/prometheus.ts';
import { tmpDir } from '../../test/support/tmp.ts';
import { vectorsAvailable, vectorsDir } from '../../test/support/vectors.ts';
import { rulesYaml } from './slos.ts';

const run = promisify(execFile);
const have = vectorsAvailable() && existsSync(PROMTOOL_BIN);
const DAY = 86_400_000;

let dir: Awaited<ReturnType<typeof tmpDir>>;
let rulesFile: string;
beforeAll(async () => {
  if (!have) return;
  dir = await tmpDir('bulwark-promtool-');
  rulesFile = path.join(dir.path, 'rules.yaml');
  const spec = path.join(vectorsDir, 'slo', 'sloth-in-base.yaml');
  await writeFile(rulesFile, rulesYaml(readFileSync(spec, 'utf8'), spec, 30 * DAY));
});
afterAll(async () => {
  await dir?.cleanup();
});

describe.skipIf(!have)('the generated rules in Prometheus (promtool)', () => {
  it('load cleanly: promtool check rules', async () => {
    const r = await run(PROMTOOL_BIN, ['check', 'rules', rulesFile]);
    expect(r.stdout).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('evaluate to the error ratio of the series, and page at 20× the budget rate', async () => {
    const test = {
      rule_files: [rulesFile],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: [
            // 980 good and 20 bad requests a minute: an error ratio of 2%, 20× a 99.9% objective's budget.
            { series: 'http_request_duration_seconds_count{job="myservice",code="200"}', values: '0+980x180' },
            { series: 'http_request_duration_seconds_count{job="myservice",code="500"}', values: '0+20x180' },
          ],
          promql_expr_test: [
            {
              expr: 'sum(slo:sli_error:ratio_rate5m{sloth_id="svc01-slo1"})',
              eval_time: '90m',
              exp_samples: [{ labels: '{}', value: 0.02 }],
            },
            {
              expr: 'sum(slo:sli_error:ratio_rate1h{sloth_id="svc01-slo1"})',
              eval_time: '90m',
              exp_samples: [{ labels: '{}', value: 0.02 }],
            },
            {
              expr: 'sum(slo:sli_error:ratio_rate5m{sloth_id="svc01-slo02"})',
              eval_time: '90m',
              exp_samples: [{ labels: '{}', value: 0.02 }],
            },
            // 99.9 / 100 in float64, as Sloth records it.
            {
              expr: 'sum(slo:objective:ratio{sloth_id="svc01-slo1"})',
              eval_time: '90m',
              exp_samples: [{ labels: '{}', value: 99.9 / 100 }],
            },
            {
              expr: 'count(ALERTS{alertname="myServiceAlert",sloth_severity="page",alertstate="firing"})',
              eval_time: '90m',
              exp_samples: [{ labels: '{}', value: 1 }],
            },
          ],
        },
      ],
    };
    const testFile = path.join(dir.path, 'test.yaml');
    await writeFile(testFile, stringify(test));
    const r = await run(PROMTOOL_BIN, ['test', 'rules', testFile]).catch((e: { stdout?: string; stderr?: string }) => {
      throw new Error(`promtool test rules failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    });
    expect(r.stdout).toMatch(/SUCCESS/);
  });
});
