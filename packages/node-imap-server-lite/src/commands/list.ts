// LIST (RFC 3501 §6.3.8) with LIST-EXTENDED (RFC 5258): selection options
// SUBSCRIBED, REMOTE, RECURSIVEMATCH, SPECIAL-USE (RFC 6154), several patterns,
// return options SUBSCRIBED, CHILDREN, SPECIAL-USE and STATUS (LIST-STATUS,
// RFC 5819); and LSUB (RFC 3501 §6.3.9).
//
// The backend gives every mailbox and subscription once; matching,
// hierarchy attributes (\HasChildren, \Noselect for implied parents) and
// CHILDINFO are worked out here.

import type { MailboxInfo } from '../backend.ts';
import type { ArgReader } from '../protocol/args.ts';
import { ResponseBuilder, type OutPart } from '../protocol/encode.ts';
import { ParseError } from '../protocol/parser.ts';
import { combineReference, MailboxTree, matchesPattern, type TreeNode } from '../session/mailbox-tree.ts';
import type { Session } from '../session/session.ts';
import { parseStatusItems, writeStatus, type StatusItem } from '../session/status.ts';
import { authenticatedStates, defineCommand } from './types.ts';

interface ListArgs {
  extended: boolean;
  reference: string;
  patterns: string[];
  select: { subscribed: boolean; recursive: boolean; specialUse: boolean };
  returns: { subscribed: boolean; children: boolean; specialUse: boolean; status: StatusItem[] | null };
}

function parseSelection(list: ArgReader): ListArgs['select'] {
  const select = { subscribed: false, recursive: false, specialUse: false };
  while (!list.atEnd()) {
    const option = list.atom('selection option').toUpperCase();
    if (option === 'SUBSCRIBED') select.subscribed = true;
    else if (option === 'RECURSIVEMATCH') select.recursive = true;
    else if (option === 'SPECIAL-USE') select.specialUse = true;
    else if (option !== 'REMOTE') throw new ParseError(`unknown LIST selection option ${option.slice(0, 30)}`);
  }
  // RFC 5258 §3.1: RECURSIVEMATCH needs another option that selects.
  if (select.recursive && !select.subscribed && !select.specialUse) throw new ParseError('RECURSIVEMATCH needs SUBSCRIBED or SPECIAL-USE');
  return select;
}

function parseReturn(list: ArgReader, session: Session): ListArgs['returns'] {
  const returns: ListArgs['returns'] = { subscribed: false, children: false, specialUse: false, status: null };
  while (!list.atEnd()) {
    const option = list.atom('return option').toUpperCase();
    if (option === 'SUBSCRIBED') returns.subscribed = true;
    else if (option === 'CHILDREN') returns.children = true;
    else if (option === 'SPECIAL-USE') returns.specialUse = true;
    else if (option === 'STATUS') returns.status = parseStatusItems(list.list('status items'), session);
    else throw new ParseError(`unknown LIST return option ${option.slice(0, 30)}`);
  }
  return returns;
}

export const listCommand = defineCommand({
  name: 'LIST',
  states: authenticatedStates,
  parse(args, session): ListArgs {
    let extended = false;
    let select: ListArgs['select'] = { subscribed: false, recursive: false, specialUse: false };
    const selection = args.optionalList();
    if (selection) {
      extended = true;
      select = parseSelection(selection);
    }
    const reference = args.listMailbox('reference', session.separator);
    const patterns: string[] = [];
    const patternList = args.optionalList();
    if (patternList) {
      extended = true;
      while (!patternList.atEnd()) patterns.push(patternList.listMailbox('mailbox pattern', session.separator));
      if (patterns.length === 0) throw new ParseError('LIST needs at least one pattern');
    } else {
      patterns.push(args.listMailbox('mailbox pattern', session.separator));
    }
    let returns: ListArgs['returns'] = { subscribed: false, children: false, specialUse: false, status: null };
    if (!args.atEnd()) {
      if (args.atom('RETURN').toUpperCase() !== 'RETURN') throw new ParseError('expected RETURN');
      extended = true;
      returns = parseReturn(args.list('return options'), session);
    }
    args.end();
    return { extended, reference, patterns, select, returns };
  },
  async run(session, args) {
    await list(session, args);
  },
});

export const lsubCommand = defineCommand({
  name: 'LSUB',
  states: authenticatedStates,
  parse(args, session) {
    const reference = args.listMailbox('reference', session.separator);
    const pattern = args.listMailbox('mailbox pattern', session.separator);
    args.end();
    return { reference, pattern };
  },
  async run(session, { reference, pattern }) {
    await lsub(session, combineReference(reference, pattern, session.separator));
  },
});

function line(session: Session, command: 'LIST' | 'LSUB', attributes: string[], name: string, extra?: string): OutPart[] {
  const response = new ResponseBuilder().raw(`* ${command} (${attributes.join(' ')}) `).string(session.separator).raw(' ');
  session.writeMailbox(response, name);
  if (extra) response.raw(' ' + extra);
  return response.end();
}

async function list(session: Session, args: ListArgs): Promise<void> {
  const separator = session.separator;
  // RFC 3501 §6.3.8: an empty pattern asks for the hierarchy separator.
  if (!args.extended && args.patterns.length === 1 && args.patterns[0] === '') {
    await session.send(new ResponseBuilder().raw('* LIST (\\Noselect) ').string(separator).raw(' ""').end());
    return;
  }
  const infos = await session.backend.listMailboxes(session.context());
  const tree = new MailboxTree(infos, separator);
  const patterns = args.patterns.map((pattern) => combineReference(args.reference, pattern, separator));
  const matches = (name: string) => patterns.some((pattern) => matchesPattern(name, pattern, separator));
  const selecting = args.select.subscribed || args.select.specialUse;
  const meets = (node: TreeNode) => {
    if (args.select.subscribed && !node.info?.subscribed) return false;
    if (args.select.specialUse && !node.info?.specialUse) return false;
    return true;
  };
  const showSubscribed = args.returns.subscribed || args.select.subscribed;
  for (const node of tree.sorted()) {
    if (!matches(node.name)) continue;
    const nonexistent = node.info?.nonexistent === true;
    let childInfo = false;
    if (selecting && !meets(node)) {
      // RFC 5258 §3.5: with RECURSIVEMATCH a name that does not qualify is still
      // listed, with CHILDINFO, when a descendant the patterns miss qualifies.
      if (!args.select.recursive) continue;
      for (const child of tree.descendants(node.name)) {
        if (meets(child) && !matches(child.name)) {
          childInfo = true;
          break;
        }
      }
      if (!childInfo) continue;
    } else if (!selecting && nonexistent) {
      continue;
    }
    const attributes: string[] = [];
    if (nonexistent) attributes.push('\\NonExistent');
    else if (node.implied || node.info?.noselect) attributes.push('\\Noselect');
    if (!nonexistent) attributes.push(tree.hasChildren(node.name) ? '\\HasChildren' : '\\HasNoChildren');
    if (showSubscribed && node.info?.subscribed) attributes.push('\\Subscribed');
    if (node.info?.specialUse) attributes.push(node.info.specialUse);
    const extra = childInfo ? `("CHILDINFO" (${[args.select.subscribed ? '"SUBSCRIBED"' : '', args.select.specialUse ? '"SPECIAL-USE"' : ''].filter(Boolean).join(' ')}))` : undefined;
    await session.send(line(session, 'LIST', attributes, node.name, extra));
    if (args.returns.status && !nonexistent && !node.implied && !node.info?.noselect) {
      try {
        await writeStatus(session, node.name, args.returns.status);
      } catch {
        // RFC 5819 §2: a mailbox whose status cannot be read gets no STATUS line.
      }
    }
  }
}

async function lsub(session: Session, pattern: string): Promise<void> {
  const separator = session.separator;
  const infos = await session.backend.listMailboxes(session.context());
  const byName = new Map<string, MailboxInfo>(infos.map((info) => [info.name, info]));
  const subscribed = infos.filter((info) => info.subscribed).map((info) => info.name);
  const subscribedSet = new Set(subscribed);
  const shown = new Map<string, string[]>();
  for (const name of subscribed) {
    if (matchesPattern(name, pattern, separator)) {
      const info = byName.get(name);
      shown.set(name, info?.noselect || info?.nonexistent ? ['\\Noselect'] : []);
      continue;
    }
    // RFC 3501 §6.3.9: "%" stops at a level whose name is not subscribed; that
    // level is listed with \Noselect so that the client can descend into it.
    const parts = name.split(separator);
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join(separator);
      if (subscribedSet.has(parent) || shown.has(parent)) continue;
      if (matchesPattern(parent, pattern, separator)) shown.set(parent, ['\\Noselect']);
    }
  }
  const names = [...shown.keys()].sort((a, b) => (a === 'INBOX' ? -1 : b === 'INBOX' ? 1 : a < b ? -1 : a > b ? 1 : 0));
  for (const name of names) await session.send(line(session, 'LSUB', shown.get(name)!, name));
}
