// The proof-of-work check (R19) of provider/templates/captcha.html: finds the smallest
// nonce whose SHA-256("salt:nonce") starts with `data-bits` zero bits, as
// core::captcha::solve does, and fills in `captcha=id:nonce`. One run per widget
// (document.currentScript is the widget's own <script> element).
(function () {
  "use strict";
  // SHA-256 (FIPS 180-4), synchronous: Web Crypto's digest() is a promise per hash.
  var K = new Uint32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2]);
  var W = new Uint32Array(64), H = new Int32Array(8);
  function ror(x, n) { return (x >>> n) | (x << (32 - n)); }
  // m: a Uint8Array with the message in its first len bytes and room for the padding
  // (len + 72 bytes); bytes past len are overwritten. Returns the digest as eight
  // 32-bit words, big-endian, in an array reused by the next call.
  function sha256(m, len) {
    var end = (len + 72) & ~63, i, o, a, b, c, d, e, f, g, h, t, u;
    m.fill(0, len, end);
    m[len] = 0x80;
    for (t = Math.floor(len / 0x20000000), i = 5; i <= 8; i++) { m[end - i] = t; t >>>= 8; }
    for (t = len << 3, i = 1; i <= 4; i++) { m[end - i] = t; t >>>= 8; }
    H.set([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
    for (o = 0; o < end; o += 64) {
      a = H[0]; b = H[1]; c = H[2]; d = H[3]; e = H[4]; f = H[5]; g = H[6]; h = H[7];
      for (i = 0; i < 16; i++) W[i] = m[o + 4 * i] << 24 | m[o + 4 * i + 1] << 16 | m[o + 4 * i + 2] << 8 | m[o + 4 * i + 3];
      for (i = 16; i < 64; i++) {
        t = W[i - 15]; u = W[i - 2];
        W[i] = W[i - 16] + (ror(t, 7) ^ ror(t, 18) ^ (t >>> 3)) + W[i - 7] + (ror(u, 17) ^ ror(u, 19) ^ (u >>> 10));
      }
      for (i = 0; i < 64; i++) {
        t = (h + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + W[i]) | 0;
        u = ((ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
        h = g; g = f; f = e; e = (d + t) | 0; d = c; c = b; b = a; a = (t + u) | 0;
      }
      H[0] += a; H[1] += b; H[2] += c; H[3] += d; H[4] += e; H[5] += f; H[6] += g; H[7] += h;
    }
    return H;
  }
  function zeroBits(h) {
    for (var i = 0, n = 0; i < 8; i++) { n += Math.clz32(h[i]); if (h[i] !== 0) break; }
    return n;
  }

  var box = document.currentScript.parentNode, form = box.closest("form");
  var input = box.querySelector("input[name=captcha]"), status = box.querySelector("p[role=status]");
  var id = box.dataset.id, bits = +box.dataset.bits, done = false;
  // The message "salt:nonce": the prefix is written once, the digits per nonce.
  var prefix = new TextEncoder().encode(box.dataset.salt + ":"), at = prefix.length;
  var msg = new Uint8Array(at + 20 + 72), nonce = 0;
  msg.set(prefix);
  function hashOf(n) {
    var s = String(n);
    for (var i = 0; i < s.length; i++) msg[at + i] = s.charCodeAt(i);
    return sha256(msg, at + s.length);
  }
  var buttons = Array.prototype.filter.call(form ? form.elements : [], function (el) { return el.type === "submit"; });
  buttons.forEach(function (el) { el.disabled = true; });
  if (form) form.addEventListener("submit", function (ev) { if (!done) ev.preventDefault(); });
  status.textContent = box.dataset.working;

  // Search in slices of ~50 ms (chunks of 5,000 hashes) so the page stays responsive.
  function slice() {
    var start = Date.now();
    do {
      for (var end = nonce + 5000; nonce < end; nonce++) {
        if (zeroBits(hashOf(nonce)) >= bits) {
          input.value = id + ":" + nonce;
          done = true;
          status.textContent = box.dataset.done;
          buttons.forEach(function (el) { el.disabled = false; });
          return;
        }
      }
    } while (Date.now() - start < 50);
    setTimeout(slice, 0);
  }
  setTimeout(slice, 0);
})();
