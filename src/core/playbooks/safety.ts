/**
 * Where a playbook's `http` and `notify` steps may send requests: the hosts its file declares in
 * `safety.allowHosts` (loopback only when it declares none), matched as experiments match their
 * blast radius (names as written, `*.example.com` wildcards, IPv4 CIDR blocks). Link-local and
 * cloud metadata addresses are refused whatever the file says: a playbook never reads instance
 * credentials. Pure: names are not resolved here (the transport checks the resolved address).
 */
import { hostMatches } from '../experiments/blast-radius.ts';

/** What a playbook may call when its file declares no `safety.allowHosts`. */
export const LOOPBACK_HOSTS: readonly string[] = ['localhost', '127.0.0.0/8', '::1'];

/** Host names that answer with cloud instance metadata. */
const METADATA_NAMES = ['metadata.google.internal', 'metadata.goog', 'metadata', 'instance-data', 'instance-data.ec2.internal'];

const HOST_ENTRY =
  /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$|^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?$|^\[?[0-9a-f:.]+\]?$/i;

/** Whether an `allowHosts` entry is well formed: a name, `*.name`, an IP address or an IPv4 CIDR block. */
export const validHostEntry = (entry: string): boolean => entry.length <= 253 && HOST_ENTRY.test(entry.trim());

function ipv4(h: string): number[] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  const parts = m?.slice(1).map(Number);
  return parts && parts.every((p) => p <= 255) ? parts : undefined;
}

/**
 * Whether an address or host name (as the URL parser gives it, IPv6 with or without brackets)
 * is link-local or a cloud metadata endpoint: 169.254.0.0/16, 100.100.100.200, fe80::/10,
 * fd00:ec2::254, and their IPv4-mapped IPv6 forms.
 */
export function isMetadataAddress(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
  if (METADATA_NAMES.includes(h)) return true;
  const v4 = ipv4(h);
  if (v4) return (v4[0] === 169 && v4[1] === 254) || h === '100.100.100.200';
  if (!h.includes(':')) return false;
  let c = h;
  try {
    c = new URL(`http://[${h}]/`).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return false;
  }
  if (/^fe[89ab][0-9a-f]:/.test(c)) return true;
  if (c === 'fd00:ec2::254') return true;
  // IPv4-mapped (::ffff:a9fe:xxxx is 169.254.x.x; ::ffff:6464:64c8 is 100.100.100.200), dotted or not.
  const mapped = /^::ffff:(.+)$/.exec(c)?.[1];
  if (mapped) {
    if (ipv4(mapped)) return isMetadataAddress(mapped);
    return /^a9fe:[0-9a-f]{1,4}$/.test(mapped) || mapped === '6464:64c8';
  }
  return false;
}

/** Why a request to `url` is refused, or undefined when it may be sent. */
export function urlRefusal(url: string, allowHosts: readonly string[]): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `url ${JSON.stringify(url)} is not a valid URL`;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `url ${JSON.stringify(url)} is not an http(s) URL`;
  if (u.username || u.password) return `url ${u.origin} carries credentials in it; send them in a header`;
  const host = u.hostname;
  if (isMetadataAddress(host)) return `${host} is a link-local or cloud metadata address; a playbook never calls it`;
  if (!allowHosts.some((e) => hostMatches(e, host)))
    return `${host} is not in the playbook's safety.allowHosts (${allowHosts.join(', ')}); add it there to allow calls to it`;
  return undefined;
}
