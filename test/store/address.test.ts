import test from 'ava';
import { AddressError, normalizeAddress, normalizeAliasSource, normalizeDomain, parseAddress, stripTag } from '../../services/store/address.ts';

test('domains are lower-cased and IDN names turned into their ASCII form', (t) => {
  t.is(normalizeDomain('Example.TEST'), 'example.test');
  t.is(normalizeDomain('bücher.example'), 'xn--bcher-kva.example');
  t.is(normalizeDomain('XN--BCHER-KVA.example'), 'xn--bcher-kva.example');
  t.is(normalizeDomain('example.test.'), 'example.test');
});

test('malformed domains are refused with a message naming them', (t) => {
  for (const bad of ['', 'localhost', '-bad.example', 'bad-.example', 'a..example', '1.2.3.4', '[127.0.0.1]', 'exa mple.com', 'x'.repeat(64) + '.com']) {
    const error = t.throws(() => normalizeDomain(bad), { instanceOf: AddressError }, bad);
    t.truthy(error?.message.length, bad);
  }
});

test('addresses are normalised: local part lower-cased and NFC, domain ASCII', (t) => {
  t.is(normalizeAddress('Alice@Example.TEST'), 'alice@example.test');
  t.is(normalizeAddress(' bob.smith@example.test '), 'bob.smith@example.test');
  t.is(normalizeAddress('JOSÉ@bücher.example'), 'josé@xn--bcher-kva.example');
  // U+0065 U+0301 (e + combining acute) and U+00E9 are the same mailbox.
  t.is(normalizeAddress('jose\u0301@example.test'), normalizeAddress('jos\u00e9@example.test'));
  t.deepEqual(parseAddress('user+tag@example.test'), { local: 'user+tag', domain: 'example.test' });
});

test('addresses that hide routing or are malformed are refused', (t) => {
  for (const bad of ['no-at-sign', '@example.test', '.alice@example.test', 'alice.@example.test', 'a..b@example.test', '"quoted"@example.test', '@relay.test:user@example.test', 'a b@example.test', 'alice@', 'x'.repeat(65) + '@example.test', 'alice@[127.0.0.1]']) {
    t.throws(() => normalizeAddress(bad), { instanceOf: AddressError }, bad);
  }
});

test('a tag is what follows the first +', (t) => {
  t.is(stripTag('user+tag'), 'user');
  t.is(stripTag('user+a+b'), 'user');
  t.is(stripTag('user'), 'user');
  t.is(stripTag('+leading'), '+leading');
});

test('alias sources are full addresses or @domain catch-alls', (t) => {
  t.is(normalizeAliasSource('@Example.TEST'), '@example.test');
  t.is(normalizeAliasSource('Postmaster@Example.test'), 'postmaster@example.test');
  t.throws(() => normalizeAliasSource('@'), { instanceOf: AddressError });
});
