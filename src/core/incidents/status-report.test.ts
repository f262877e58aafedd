import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseIncidentSettings } from './settings.ts';
import { DEFAULT_REPORT_TEMPLATES, fillTemplate, PLACEHOLDERS, unknownPlaceholders, type Placeholder } from './status-report.ts';

const values = Object.fromEntries(PLACEHOLDERS.map((p) => [p, `<${p}>`])) as Record<Placeholder, string>;

describe('status report templates', () => {
  it('ship with known placeholders only, and fill every one', () => {
    for (const t of Object.values(DEFAULT_REPORT_TEMPLATES)) {
      expect(unknownPlaceholders(t)).toEqual([]);
      expect(fillTemplate(t, values)).not.toMatch(/\{\{/);
    }
    expect(fillTemplate('{{ title }}/{{nope}}/{{id}}', values)).toBe('<title>/{{nope}}/<id>');
  });

  it('never throw, and leave no known placeholder unfilled, whatever the template (fuzz)', () => {
    const piece = fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.constantFrom(...PLACEHOLDERS.map((p) => `{{${p}}}`), '{{', '}}', '{{ x }}', '{{{id}}}'),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (parts) => {
        const t = parts.join('');
        const out = fillTemplate(t, values);
        for (const p of PLACEHOLDERS) expect(out).not.toContain(`{{${p}}}`);
        expect(unknownPlaceholders(t).every((u) => !(PLACEHOLDERS as readonly string[]).includes(u))).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('are refused in a settings file when they name an unknown placeholder, with line and column; so is a checklist owner that is no role', () => {
    const r = parseIncidentSettings(`apiVersion: bulwark/v1
kind: IncidentSettings
statusReports:
  tactical: "{{title}} {{severty}}"
checklists:
  - name: x
    items: [{ title: a, owner: boss, due: 1h }]
`);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => [e.line, e.path])).toEqual([[7, 'checklists.0.items.0.owner']]);
    expect(r.errors[0]!.message).toMatch(/a command role \(commander, operations, communications, scribe\)/);
    const t = parseIncidentSettings(
      'apiVersion: bulwark/v1\nkind: IncidentSettings\nstatusReports:\n  tactical: "{{title}} {{severty}}"\n',
    );
    expect(!t.ok && t.errors).toEqual([
      expect.objectContaining({
        line: 4,
        column: 13,
        path: 'statusReports.tactical',
        message: expect.stringMatching(/^unknown placeholder \{\{severty\}\}; use \{\{id\}\}/),
      }),
    ]);
  });
});
