import test from 'ava';
import { currentParams, hashPassword, needsRehash, verifyPassword } from '../../services/store/password.ts';

const weak = { ln: 10, r: 8, p: 1 };

test('a hash is a PHC string carrying its parameters and a random salt', async (t) => {
  const a = await hashPassword('correct horse', weak);
  const b = await hashPassword('correct horse', weak);
  t.regex(a, /^\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
  t.not(a, b, 'two hashes of one password differ by their salt');
});

test('verification accepts the password and nothing else', async (t) => {
  const hash = await hashPassword('correct horse', weak);
  t.true(await verifyPassword('correct horse', hash));
  t.false(await verifyPassword('correct hors', hash));
  t.false(await verifyPassword('Correct horse', hash));
  t.false(await verifyPassword('', hash));
  t.false(await verifyPassword('correct horse', 'not a hash'));
  t.false(await verifyPassword('correct horse', hash.slice(0, -2)));
});

test('Unicode passwords are compared in NFC', async (t) => {
  const hash = await hashPassword('caf\u00e9', weak);
  t.true(await verifyPassword('cafe\u0301', hash));
});

test('hashes weaker than the current parameters need a rehash', async (t) => {
  t.true(needsRehash(await hashPassword('pw', weak)));
  t.false(needsRehash(await hashPassword('pw', currentParams)));
  t.true(needsRehash('garbage'));
});

test('empty and oversize passwords are refused when hashing', async (t) => {
  await t.throwsAsync(hashPassword('', weak), { message: /empty/ });
  await t.throwsAsync(hashPassword('x'.repeat(1025), weak), { message: /longer than 1024/ });
});
