/**
 * CPace over ristretto255 against the test vectors published in
 * draft-irtf-cfrg-cpace (appendix A.1 for the string functions, B.3 for
 * CPACE-RISTR255-SHA512), then a run of both parties with key confirmation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  calculateGenerator,
  cpace,
  generatorString,
  intermediateSessionKey,
  lvCat,
  prependLen,
  scalarFromBytes,
  scalarMult,
  scalarMultVfy,
  transcriptIr,
} from '../../src/bootstrap/cpace.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

test('string functions: prepend_len and lv_cat (A.1)', () => {
  assert.equal(prependLen(Buffer.alloc(0)).toString('hex'), '00');
  assert.equal(prependLen(Buffer.from('1234')).toString('hex'), '0431323334');
  const r127 = Buffer.from(Array.from({ length: 127 }, (_, i) => i));
  assert.equal(prependLen(r127).subarray(0, 2).toString('hex'), '7f00');
  assert.equal(prependLen(r127).length, 128);
  const r128 = Buffer.from(Array.from({ length: 128 }, (_, i) => i));
  assert.equal(prependLen(r128).subarray(0, 3).toString('hex'), '800100');
  assert.equal(prependLen(r128).length, 130);
  assert.equal(lvCat(Buffer.from('1234'), Buffer.from('5'), Buffer.alloc(0), Buffer.from('678')).toString('hex'), '043132333401350003363738');
  assert.equal(
    transcriptIr(Buffer.from('123'), Buffer.from('PartyA'), Buffer.from('234'), Buffer.from('PartyB')).toString('hex'),
    '03313233065061727479410332333406506172747942',
  );
});

// B.3: the inputs.
const PRS = Buffer.from('Password');
const CI = hex('0b415f696e69746961746f720b425f726573706f6e646572');
const SID = hex('7e4b4791d6a8ef019b936c79fb7f2c57');
const ADA = Buffer.from('ADa');
const ADB = Buffer.from('ADb');
const YA_SCALAR = scalarFromBytes(hex('da3d23700a9e5699258aef94dc060dfda5ebb61f02a5ea77fad53f4ff0976d08'));
const YB_SCALAR = scalarFromBytes(hex('d2316b454718c35362d83d69df6320f38578ed5984651435e2949762d900b80d'));
const YA = 'd6bac480f2c386c394efc7c47adb9925dcd2630b64f240c50f8d0eec482b9157';
const YB = '3ea7e0b19560d7c0b0f5734f63b955286dfa8232b5ebe63324e2d9e7433f7258';
const K = '80b69a8a76457ab6a4d7f887a4bf6b55a2f80ac19c333f917a05fc9887c8b40f';
const ISK_IR =
  'b69effbf61b51d56401c0f65601abe428de8206feaaf0e32198896dcae7b35cd2b38950a39dfd5d4a79164614c2984f7daa460b588c1e80c3fa2068af7900447';

test('generator for ristretto255 (B.3.1)', () => {
  const s = generatorString(PRS, CI, SID);
  assert.equal(s.length, 170);
  assert.equal(
    s.toString('hex'),
    '11435061636552697374726574746f3235350850617373776f726464' +
      '00'.repeat(100) +
      '180b415f696e69746961746f720b425f726573706f6e646572107e4b4791d6a8ef019b936c79fb7f2c57',
  );
  assert.equal(Buffer.from(calculateGenerator(PRS, CI, SID).toBytes()).toString('hex'), '222b6b195fe84b1652badb6f6a3ae3d24341e7306967f0b8115b40d5698c7e56');
});

test('shares, secret point and ISK for ristretto255 (B.3.2 to B.3.5)', () => {
  const g = calculateGenerator(PRS, CI, SID);
  assert.equal(scalarMult(YA_SCALAR, g).toString('hex'), YA);
  assert.equal(scalarMult(YB_SCALAR, g).toString('hex'), YB);
  assert.equal(scalarMultVfy(YA_SCALAR, hex(YB))!.toString('hex'), K);
  assert.equal(scalarMultVfy(YB_SCALAR, hex(YA))!.toString('hex'), K);
  assert.equal(intermediateSessionKey(SID, hex(K), hex(YA), ADA, hex(YB), ADB).toString('hex'), ISK_IR);

  // The same through a whole run of each party.
  const a = cpace('initiator', { prs: PRS, ci: CI, sid: SID, ad: ADA }, YA_SCALAR);
  const b = cpace('responder', { prs: PRS, ci: CI, sid: SID, ad: ADB }, YB_SCALAR);
  assert.equal(a.share.toString('hex'), YA);
  assert.equal(b.share.toString('hex'), YB);
  assert.equal(a.finish(b.share, ADB)!.isk.toString('hex'), ISK_IR);
  assert.equal(b.finish(a.share, ADA)!.isk.toString('hex'), ISK_IR);
});

test('scalar_mult_vfy: a valid point, and the invalid ones that must abort (B.3.10, B.3.11)', () => {
  const s = scalarFromBytes(hex('7cd0e075fa7955ba52c02759a6c90dbbfc10e6d40aea8d283e407d88cf538a05'));
  assert.equal(
    scalarMultVfy(s, hex('2c3c6b8c4f3800e7aef6864025b4ed79bd599117e427c41bd47d93d654b4a51c'))!.toString('hex'),
    '7c13645fe790a468f62c39beb7388e541d8405d1ade69d1778c5fe3e7f6b600e',
  );
  assert.equal(scalarMultVfy(s, hex('2b3c6b8c4f3800e7aef6864025b4ed79bd599117e427c41bd47d93d654b4a51c')), undefined, 'not a valid encoding');
  assert.equal(scalarMultVfy(s, Buffer.alloc(32)), undefined, 'the identity');
  assert.equal(scalarMultVfy(s, Buffer.alloc(31)), undefined, 'too short');
  // A run stops on such a share.
  const a = cpace('initiator', { prs: PRS, ci: CI, sid: SID, ad: ADA });
  assert.equal(a.finish(Buffer.alloc(32), ADB), undefined);
});

test('key confirmation: the same code confirms both ways, another code confirms neither', () => {
  const run = (prsA: string, prsB: string) => {
    const a = cpace('initiator', { prs: Buffer.from(prsA), ci: CI, sid: SID, ad: ADA });
    const b = cpace('responder', { prs: Buffer.from(prsB), ci: CI, sid: SID, ad: ADB });
    const ra = a.finish(b.share, ADB)!;
    const rb = b.finish(a.share, ADA)!;
    return { ra, rb };
  };
  const good = run('apple-river-stone', 'apple-river-stone');
  assert.ok(good.ra.isk.equals(good.rb.isk));
  assert.ok(good.rb.checkTheirTag(good.ra.ownTag));
  assert.ok(good.ra.checkTheirTag(good.rb.ownTag));
  assert.ok(!good.ra.ownTag.equals(good.rb.ownTag), 'each side tags its own message');
  const bad = run('apple-river-stone', 'apple-river-stove');
  assert.ok(!bad.ra.isk.equals(bad.rb.isk));
  assert.ok(!bad.rb.checkTheirTag(bad.ra.ownTag));
  assert.ok(!bad.ra.checkTheirTag(bad.rb.ownTag));
});
