import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { Cidr } from '../config/security.js';

/** `::ffff:1.2.3.4` as `1.2.3.4`; any other address unchanged. */
export function unmapIPv4(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return mapped?.[1] ?? address;
}

/** The eight 16-bit groups of an IPv6 address, or undefined when it is not one. */
function ipv6Groups(address: string): number[] | undefined {
  if (!isIPv6(address)) return undefined;
  let text = address.split('%')[0] ?? '';
  // A trailing dotted IPv4 part counts as two groups.
  const dotted = /(\d{1,3}(?:\.\d{1,3}){3})$/.exec(text);
  if (dotted?.[1]) {
    const [a = 0, b = 0, c = 0, d = 0] = dotted[1].split('.').map(Number);
    text = `${text.slice(0, -dotted[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const zeros = tail === undefined ? [] : new Array(8 - left.length - right.length).fill(0);
  return [...left, ...zeros, ...right];
}

/**
 * The key rate limits count a client under: its IPv4 address, or the /64 network of an IPv6
 * address (one subscriber usually holds a whole /64, so single IPv6 addresses are cheap).
 */
export function clientKey(address: string): string {
  const ip = unmapIPv4(address);
  const groups = ipv6Groups(ip);
  if (!groups) return ip;
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

/** Matches client addresses against a list of CIDRs. */
export class AddressMatcher {
  private readonly list = new BlockList();

  constructor(readonly cidrs: Cidr[]) {
    for (const cidr of cidrs) this.list.addSubnet(cidr.address, cidr.prefix, cidr.family);
  }

  get empty(): boolean {
    return this.cidrs.length === 0;
  }

  matches(address: string): boolean {
    const ip = unmapIPv4(address);
    if (isIPv4(ip)) return this.list.check(ip, 'ipv4');
    if (isIPv6(ip)) return this.list.check(ip, 'ipv6');
    return false;
  }
}
