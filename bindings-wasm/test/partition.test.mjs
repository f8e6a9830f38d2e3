// Partition functions: the wasm build hashes exactly like the core (checked against a
// BigInt reference of FNV-1a + SplitMix64's finaliser and jump consistent hash).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyHash, jumpHash } from 'shardtally-wasm';

const M64 = (1n << 64n) - 1n;

function mix64(z) {
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M64;
  return z ^ (z >> 31n);
}

function referenceKeyHash(key) {
  let h = 0xcbf29ce484222325n;
  for (const b of new TextEncoder().encode(key)) {
    h ^= BigInt(b);
    h = (h * 0x100000001b3n) & M64;
  }
  return mix64(h);
}

function referenceJumpHash(key, buckets) {
  const n = Math.max(buckets, 1);
  let b = -1;
  let j = 0;
  while (j < n) {
    b = j;
    key = (key * 2862933555777941757n + 1n) & M64;
    j = Math.trunc((b + 1) * (2147483648 / (Number(key >> 33n) + 1)));
  }
  return b;
}

test('keyHash matches the reference hash, as a bigint', () => {
  for (const key of ['', 'x', 'y', 'GET /users', 'ключ', '🦀'.repeat(10)]) {
    assert.equal(keyHash(key), referenceKeyHash(key), key);
  }
  assert.equal(typeof keyHash('x'), 'bigint');
});

test('jumpHash matches the reference and stays in range', () => {
  for (let i = 0; i < 200; i++) {
    const h = keyHash(`key-${i}`);
    for (const n of [1, 2, 3, 10, 97]) {
      const b = jumpHash(h, n);
      assert.ok(b >= 0 && b < n);
      assert.equal(b, referenceJumpHash(h, n));
    }
  }
  assert.equal(jumpHash(123, 0), 0, 'zero buckets is treated as one');
  assert.equal(jumpHash(123, 7), jumpHash(123n, 7), 'number and bigint hashes agree');
});

test('jumpHash rejects bad arguments with INVALID_ARGUMENT', () => {
  for (const [hash, buckets] of [[-1, 3], [1.5, 3], [2n ** 64n, 3], ['1', 3], [1n, -1], [1n, 2 ** 32], [1n, 0.5], [1n, NaN]]) {
    assert.throws(() => jumpHash(hash, buckets), (err) => err instanceof Error && err.code === 'INVALID_ARGUMENT', `${hash}, ${buckets}`);
  }
});
