// FETCH data items (RFC 3501 §6.4.5, RFC 7162 §3.1.4 MODSEQ) as the client
// asks for them, parsed into what the FETCH command renders.

import type { SectionRequest } from '../backend.ts';
import type { ArgReader } from '../protocol/args.ts';
import { ParseError, type AtomNode, type Node } from '../protocol/parser.ts';

export type FetchItem =
  | { type: 'UID' | 'FLAGS' | 'INTERNALDATE' | 'RFC822.SIZE' | 'ENVELOPE' | 'BODYSTRUCTURE' | 'BODY' | 'MODSEQ' }
  | {
      type: 'section';
      /** The name in the response: "BODY[HEADER.FIELDS (FROM)]<0>", "RFC822.TEXT". */
      label: string;
      section: SectionRequest;
      /** BODY[...] and RFC822/RFC822.TEXT set \Seen; BODY.PEEK and RFC822.HEADER do not. */
      setsSeen: boolean;
    };

const macros: Record<string, string[]> = {
  ALL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE'],
  FAST: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE'],
  FULL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY'],
};
const simple = new Set(['UID', 'FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODYSTRUCTURE', 'BODY', 'MODSEQ']);

/** `fetch-att` / macro / list of fetch-att. */
export function parseFetchItems(args: ArgReader): FetchItem[] {
  const list = args.optionalList();
  if (!list) {
    const node = args.fetchAtt('fetch item');
    const name = node.value.toUpperCase();
    if (!node.section && macros[name]) return macros[name]!.map((type) => ({ type }) as FetchItem);
    return [parseItem(node)];
  }
  const items: FetchItem[] = [];
  while (!list.atEnd()) items.push(parseItem(list.fetchAtt('fetch item')));
  if (items.length === 0) throw new ParseError('FETCH needs at least one item');
  return items;
}

function parseItem(node: AtomNode): FetchItem {
  const name = node.value.toUpperCase();
  if (node.section === undefined) {
    if (node.partial) throw new ParseError('a partial range needs a section');
    if (simple.has(name)) return { type: name } as FetchItem;
    if (name === 'RFC822') return { type: 'section', label: 'RFC822', section: { part: [] }, setsSeen: true };
    if (name === 'RFC822.HEADER') return { type: 'section', label: 'RFC822.HEADER', section: { part: [], text: 'HEADER' }, setsSeen: false };
    if (name === 'RFC822.TEXT') return { type: 'section', label: 'RFC822.TEXT', section: { part: [], text: 'TEXT' }, setsSeen: true };
    throw new ParseError(`unknown FETCH item ${name.slice(0, 30)}`);
  }
  if (name !== 'BODY' && name !== 'BODY.PEEK') throw new ParseError(`${name.slice(0, 30)} is not supported (BINARY is not offered)`);
  const { section, spec } = parseSection(node.section);
  if (node.partial) section.range = { offset: node.partial.offset, count: node.partial.count };
  const label = `BODY[${spec}]${node.partial ? `<${node.partial.offset}>` : ''}`;
  return { type: 'section', label, section, setsSeen: name === 'BODY' };
}

/** `section-spec` (RFC 3501 §9): part numbers, then HEADER, HEADER.FIELDS[.NOT] (list), TEXT or MIME. */
export function parseSection(nodes: readonly Node[]): { section: SectionRequest; spec: string } {
  if (nodes.length === 0) return { section: { part: [] }, spec: '' };
  const first = nodes[0]!;
  if (first.kind !== 'atom') throw new ParseError('a section starts with part numbers or HEADER/TEXT');
  const pieces = first.value.toUpperCase().split('.');
  const part: number[] = [];
  while (pieces.length > 0 && /^\d+$/.test(pieces[0]!)) {
    const n = Number(pieces.shift());
    if (n < 1 || n > 0xffffffff || part.length >= 100) throw new ParseError('section part numbers start at 1');
    part.push(n);
  }
  const text = pieces.join('.');
  const section: SectionRequest = { part };
  let spec = part.join('.');
  if (text === '') {
    if (nodes.length !== 1) throw new ParseError('unexpected data in the section');
    return { section, spec };
  }
  if (text === 'HEADER' || text === 'TEXT' || (text === 'MIME' && part.length > 0)) {
    if (nodes.length !== 1) throw new ParseError('unexpected data in the section');
    section.text = text;
  } else if (text === 'HEADER.FIELDS' || text === 'HEADER.FIELDS.NOT') {
    const list = nodes[1];
    if (nodes.length !== 2 || list?.kind !== 'list' || list.items.length === 0) throw new ParseError(`${text} needs a list of header field names`);
    const fields: string[] = [];
    for (const item of list.items) {
      let field: string;
      if (item.kind === 'atom' && !item.section) field = item.value;
      else if (item.kind === 'string') field = item.bytes.toString('latin1');
      else throw new ParseError('a header field name must be an atom or a string');
      if (!/^[\x21-\x39\x3b-\x7e]+$/.test(field)) throw new ParseError(`"${field.slice(0, 30)}" is not a header field name`);
      fields.push(field.toUpperCase());
    }
    section.text = text;
    section.fields = fields;
    spec += `${spec ? '.' : ''}${text} (${fields.join(' ')})`;
    return { section, spec };
  } else {
    throw new ParseError(`unknown section ${text.slice(0, 30)}`);
  }
  spec += `${spec ? '.' : ''}${text}`;
  return { section, spec };
}
