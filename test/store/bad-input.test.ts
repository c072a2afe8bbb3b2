// Table-driven bad input to the writer: every case must throw a StateError with exactly the
// expected code, name the offending value in its message, and leave the revision and the whole
// state (the live records and the Arrow tables) exactly as they were. The cases are in bad-input/
// by kind: ids, lifecycle, values, transactions, options.
import test from 'ava';
import { StateError } from '../../src/index.js';
import { cases as ids } from './bad-input/ids.js';
import { cases as lifecycle } from './bad-input/lifecycle.js';
import { cases as options } from './bad-input/options.js';
import { cases as transactions } from './bad-input/transactions.js';
import { cases as values } from './bad-input/values.js';
import { fingerprint, populated, probe, task } from './bad-input/support.js';

const cases = [...ids, ...lifecycle, ...values, ...transactions, ...options];

test('the table has at least 120 distinct cases', (t) => {
  t.true(cases.length >= 120, `${cases.length} cases`);
  t.is(new Set(cases.map((c) => c.name)).size, cases.length, 'case names are unique');
  t.is(new Set(cases.map((c) => c.op.toString())).size, cases.length, 'no two cases run the same code');
});

for (const c of cases) {
  test(`bad input: ${c.name}`, async (t) => {
    const f = populated();
    const { s } = f;
    const before = fingerprint(s);
    const revision = s.revision;
    const err = t.throws(() => c.op(s));
    if (!(err instanceof StateError)) {
      if (err !== undefined) t.fail(`expected a StateError, got ${String(err)}`); // (undefined: t.throws already failed)
      await s.close();
      return;
    }
    t.is(err.code, c.code, err.message);
    t.true(err.message.startsWith(`${c.code}: `), err.message);
    t.true(err.message.length > c.code.length + 10, `message too short: ${err.message}`);
    for (const m of Array.isArray(c.msg) ? c.msg : [c.msg]) {
      t.true(err.message.includes(m), `message ${JSON.stringify(err.message.slice(0, 300))} should contain ${JSON.stringify(m)}`);
    }
    t.is(s.revision, revision, 'revision unchanged');
    t.is(fingerprint(s), before, 'state unchanged');
    // A later valid change must produce exactly what it produces on an untouched fixture.
    const ref = populated();
    probe(f);
    probe(ref);
    t.is(fingerprint(s), fingerprint(ref.s), 'no residue of the failed call after a later change');
    await s.close();
    await ref.s.close();
  });
}

// Not a case of the table: a plain Error thrown inside a transaction is rethrown as is.
test('transaction: a plain Error from the function is rethrown unchanged and undoes everything', async (t) => {
  const f = populated();
  const before = fingerprint(f.s);
  const boom = new Error('boom');
  const err = t.throws(() => f.s.transaction((st) => {
    st.removeNode('w2', { requeue: true });
    st.addTask(task({}));
    throw boom;
  }));
  t.is(err, boom);
  t.is(fingerprint(f.s), before);
  await f.s.close();
});
