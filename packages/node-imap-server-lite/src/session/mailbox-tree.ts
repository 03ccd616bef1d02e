// Mailbox names as a hierarchy, for LIST and LSUB: which names exist, which
// are only implied by their children, which have children, and whether a
// name matches a pattern with "*" and "%" (RFC 3501 §6.3.8).
//
// Pattern matching is a bounded dynamic programme, not a regular expression:
// a hostile pattern of many "*" cannot make it backtrack exponentially.

import type { MailboxInfo } from '../backend.ts';

export interface TreeNode {
  name: string;
  info: MailboxInfo | undefined;
  /** Exists only because a descendant does. */
  implied: boolean;
}

const maxPatternLength = 2000;

export class MailboxTree {
  readonly nodes = new Map<string, TreeNode>();
  private readonly parents = new Set<string>();

  constructor(
    infos: readonly MailboxInfo[],
    readonly separator: string,
  ) {
    for (const info of infos) this.nodes.set(info.name, { name: info.name, info, implied: false });
    for (const info of infos) {
      if (info.nonexistent) continue;
      const parts = info.name.split(separator);
      for (let i = 1; i < parts.length; i++) {
        const parent = parts.slice(0, i).join(separator);
        this.parents.add(parent);
        if (!this.nodes.has(parent)) this.nodes.set(parent, { name: parent, info: undefined, implied: true });
      }
    }
  }

  get(name: string): TreeNode | undefined {
    return this.nodes.get(name);
  }

  hasChildren(name: string): boolean {
    return this.parents.has(name);
  }

  /** Existing descendants of `name`. */
  *descendants(name: string): Generator<TreeNode> {
    const prefix = name + this.separator;
    for (const node of this.nodes.values()) if (node.name.startsWith(prefix)) yield node;
  }

  /** Every name with its ancestors, in hierarchy order (parents before children, INBOX first). */
  sorted(): TreeNode[] {
    return [...this.nodes.values()].sort((a, b) => {
      if (a.name === 'INBOX') return -1;
      if (b.name === 'INBOX') return 1;
      return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
    });
  }
}

/** "*" matches anything, "%" anything but the separator; INBOX matches case-insensitively. */
export function matchesPattern(name: string, pattern: string, separator: string): boolean {
  if (pattern.length > maxPatternLength) return false;
  if (match(name, pattern, separator)) return true;
  // INBOX is case-insensitive (RFC 3501 §5.1) also when a pattern spells it otherwise.
  if (name === 'INBOX' || name.startsWith('INBOX' + separator)) {
    const head = pattern.slice(0, 5);
    if (head.toUpperCase() === 'INBOX' && head !== 'INBOX') return match(name, 'INBOX' + pattern.slice(5), separator);
  }
  return false;
}

function match(name: string, pattern: string, separator: string): boolean {
  // Collapse runs of "*" (and "%" next to "*"): they match the same.
  const p = pattern.replace(/[*%]*\*[*%]*/g, '*');
  const n = name.length;
  const m = p.length;
  // reachable[j] after processing i characters of name: whether p[0..j) can match name[0..i).
  let previous = new Uint8Array(m + 1);
  previous[0] = 1;
  for (let j = 1; j <= m; j++) previous[j] = previous[j - 1]! && (p[j - 1] === '*' || p[j - 1] === '%') ? 1 : 0;
  for (let i = 1; i <= n; i++) {
    const current = new Uint8Array(m + 1);
    const ch = name[i - 1]!;
    for (let j = 1; j <= m; j++) {
      const pc = p[j - 1]!;
      if (pc === '*') current[j] = current[j - 1]! || previous[j]! ? 1 : 0;
      else if (pc === '%') current[j] = current[j - 1]! || (previous[j]! && ch !== separator) ? 1 : 0;
      else current[j] = previous[j - 1]! && pc === ch ? 1 : 0;
    }
    previous = current;
  }
  return previous[m] === 1;
}

/**
 * A LIST pattern with its reference (RFC 3501 §6.3.8): the reference is
 * prefixed, unless the pattern starts at the root (with the separator).
 */
export function combineReference(reference: string, pattern: string, separator: string): string {
  if (reference === '' || pattern.startsWith(separator)) return pattern;
  return reference + pattern;
}
