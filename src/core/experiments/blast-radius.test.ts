import { describe, expect, it } from 'vitest';
import { blastRadiusViolations, effectiveBlastRadius, hostMatches } from './blast-radius.ts';
import { parseExperiment } from './experiment-file.ts';
import type { Experiment } from './types.ts';

function load(text: string): Experiment {
  const r = parseExperiment(text);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.experiment;
}

const plain = (url: string) => `title: t
description: d
method:
  - type: action
    name: call
    provider: {type: http, url: "${url}"}
rollbacks:
  - type: action
    name: undo
    provider: {type: tcp, operation: connect, host: db.internal, port: 5432}
`;

describe('blast radius', () => {
  it('limits a file without a safety block to loopback', () => {
    const exp = load(plain('http://127.0.0.1:8080/x'));
    const v = blastRadiusViolations(exp, effectiveBlastRadius(exp));
    expect(v).toEqual([
      {
        path: 'rollbacks[0].provider',
        message:
          'db.internal is outside the blast radius (localhost, 127.0.0.0/8, ::1); add it to safety.blastRadius.hosts or pass --allow db.internal',
      },
    ]);
    expect(blastRadiusViolations(exp, effectiveBlastRadius(exp, ['db.internal']))).toEqual([]);
  });

  it('accepts IPv6 loopback and refuses an outside host before anything is sent', () => {
    expect(
      blastRadiusViolations(load(plain('http://[::1]:8080/')), effectiveBlastRadius(load(plain('http://[::1]/')), ['db.internal'])),
    ).toEqual([]);
    const exp = load(plain('https://shop.example.com/'));
    expect(blastRadiusViolations(exp, effectiveBlastRadius(exp, ['db.internal'])).map((v) => v.path)).toEqual(['method[0].provider']);
  });

  it('uses the declared hosts and paths, for URLs and files', () => {
    const exp = load(`title: t
description: d
method:
  - type: action
    name: ok
    provider: {type: http, url: "https://shop.example.com/search?q=1"}
  - type: action
    name: other-path
    provider: {type: http, url: "https://api.example.com/searchx"}
  - type: action
    name: write
    provider: {type: file, operation: write, path: /etc/passwd, content: x}
safety:
  blastRadius:
    hosts: ["*.example.com"]
    paths: [/search, /tmp/shop]
`);
    expect(blastRadiusViolations(exp, effectiveBlastRadius(exp)).map((v) => [v.path, v.message])).toEqual([
      ['method[1].provider', 'path /searchx is outside the blast radius paths (/search, /tmp/shop)'],
      ['method[2].provider', 'file /etc/passwd is outside the blast radius paths (/search, /tmp/shop)'],
    ]);
  });

  it('matches hosts exactly, by wildcard or by CIDR', () => {
    expect(hostMatches('127.0.0.0/8', '127.1.2.3')).toBe(true);
    expect(hostMatches('127.0.0.0/8', '128.0.0.1')).toBe(false);
    expect(hostMatches('10.0.0.0/24', '10.0.0.255')).toBe(true);
    expect(hostMatches('10.0.0.0/24', '10.0.1.0')).toBe(false);
    expect(hostMatches('*.example.com', 'a.example.com')).toBe(true);
    expect(hostMatches('*.example.com', 'example.com')).toBe(false);
    expect(hostMatches('*.example.com', 'evil-example.com')).toBe(false);
    expect(hostMatches('Shop.Test', 'shop.test.')).toBe(true);
    expect(hostMatches('::1', '0:0:0:0:0:0:0:1')).toBe(true);
    expect(hostMatches('localhost', 'localhost.evil.com')).toBe(false);
  });
});
