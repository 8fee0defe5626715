// embargo: the report form encrypts in the browser before anything is sent.
//
// The message is an RFC 9580 OpenPGP message built on WebCrypto alone:
// a version 6 public-key encrypted session key packet for the team's X25519
// subkey (HKDF-SHA256, AES-128 key wrap; RFC 9580 section 5.1.6), then a
// version 2 symmetrically encrypted integrity protected data packet with
// AES-256-GCM (section 5.13.2) around a literal data packet. The server opens
// it with the intake key; the plaintext never leaves this page.
//
// Without JavaScript, or in a browser without X25519 in WebCrypto, the form
// is sent as it is, over HTTPS, and the server encrypts it on arrival.
'use strict';

(function () {
  const form = document.getElementById('report-form');
  if (!form || !form.dataset.recipientKey || !window.crypto || !window.crypto.subtle) {
    return;
  }
  const subtle = window.crypto.subtle;
  const note = document.getElementById('encryption-note');
  const progress = document.getElementById('report-progress');

  const fromHex = (s) => Uint8Array.from(s.match(/../g).map((b) => parseInt(b, 16)));
  const concat = (...parts) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  };
  const u32 = (n) => new Uint8Array([(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
  const u64 = (n) => concat(u32(Math.floor(n / 4294967296)), u32(n >>> 0));
  const random = (n) => window.crypto.getRandomValues(new Uint8Array(n));
  // A new-format packet with a five-octet length.
  const packet = (tag, body) => concat(new Uint8Array([0xc0 | tag, 0xff]), u32(body.length), body);

  const recipientKey = fromHex(form.dataset.recipientKey);
  const recipientFpr = fromHex(form.dataset.recipientFpr);

  async function hkdf(ikm, salt, info, bits) {
    const base = await subtle.importKey('raw', ikm, 'HKDF', false, ['deriveBits']);
    return new Uint8Array(
      await subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt, info }, base, bits),
    );
  }

  // Public-key encrypted session key, version 6, X25519.
  async function pkesk(sessionKey) {
    const eph = await subtle.generateKey({ name: 'X25519' }, true, ['deriveBits']);
    const ephPublic = new Uint8Array(await subtle.exportKey('raw', eph.publicKey));
    const them = await subtle.importKey('raw', recipientKey, { name: 'X25519' }, false, []);
    const shared = new Uint8Array(
      await subtle.deriveBits({ name: 'X25519', public: them }, eph.privateKey, 256),
    );
    const kek = await hkdf(
      concat(ephPublic, recipientKey, shared),
      new Uint8Array(0),
      new TextEncoder().encode('OpenPGP X25519'),
      128,
    );
    const wrapping = await subtle.importKey('raw', kek, 'AES-KW', false, ['wrapKey']);
    const sk = await subtle.importKey('raw', sessionKey, 'AES-GCM', true, ['encrypt']);
    const wrapped = new Uint8Array(await subtle.wrapKey('raw', sk, wrapping, 'AES-KW'));
    return packet(
      1,
      concat(
        new Uint8Array([6, 1 + recipientFpr.length, 4]),
        recipientFpr,
        new Uint8Array([25]),
        ephPublic,
        new Uint8Array([wrapped.length]),
        wrapped,
      ),
    );
  }

  // Symmetrically encrypted integrity protected data, version 2, AES-256-GCM.
  async function seipd2(sessionKey, plaintext) {
    const chunkOctet = 16; // chunks of 2^(16+6) bytes
    const chunkSize = 2 ** (chunkOctet + 6);
    const header = new Uint8Array([0xd2, 2, 9, 3, chunkOctet]);
    const salt = random(32);
    const derived = await hkdf(sessionKey, salt, header, (32 + 4) * 8);
    const key = await subtle.importKey('raw', derived.slice(0, 32), 'AES-GCM', false, ['encrypt']);
    const iv = derived.slice(32);
    const seal = async (index, data, ad) =>
      new Uint8Array(
        await subtle.encrypt(
          { name: 'AES-GCM', iv: concat(iv, u64(index)), additionalData: ad, tagLength: 128 },
          key,
          data,
        ),
      );
    const chunks = [];
    let index = 0;
    for (let at = 0; at < plaintext.length; at += chunkSize, index += 1) {
      chunks.push(await seal(index, plaintext.slice(at, at + chunkSize), header));
    }
    const final = await seal(index, new Uint8Array(0), concat(header, u64(plaintext.length)));
    return packet(18, concat(header.slice(1), salt, ...chunks, final));
  }

  async function encrypt(bytes) {
    const sessionKey = random(32);
    const literal = packet(11, concat(new Uint8Array([0x62, 0, 0, 0, 0, 0]), bytes));
    return concat(await pkesk(sessionKey), await seipd2(sessionKey, literal));
  }

  function armor(bytes) {
    let text = '';
    const step = 0x8000;
    for (let i = 0; i < bytes.length; i += step) {
      text += String.fromCharCode.apply(null, bytes.subarray(i, i + step));
    }
    const b64 = window.btoa(text).replace(/.{1,76}/g, '$&\n');
    return '-----BEGIN PGP MESSAGE-----\n\n' + b64 + '-----END PGP MESSAGE-----\n';
  }

  // Check that this browser can do it before promising anything.
  subtle
    .generateKey({ name: 'X25519' }, true, ['deriveBits'])
    .then(() => {
      form.dataset.encrypts = 'yes';
      if (note) {
        note.textContent =
          'Your report is encrypted in this browser to the team\u2019s key before it is sent.';
      }
    })
    .catch(() => {});

  form.addEventListener('submit', async (event) => {
    const armored = form.elements.armored.value.trim();
    if (form.dataset.encrypts !== 'yes' || armored !== '') {
      return; // sent as it is: the server encrypts on arrival, or it is already encrypted
    }
    event.preventDefault();
    const value = (name) => (form.elements[name] ? form.elements[name].value : '');
    for (const field of form.querySelectorAll('[data-required]')) {
      if (field.value.trim() === '') {
        progress.textContent = 'Please fill in: ' + form.querySelector('label[for="' + field.id + '"]').textContent;
        field.focus();
        return;
      }
    }
    progress.textContent = 'Encrypting\u2026';
    const fields = {};
    for (const name of ['project', 'title', 'affected_versions', 'description', 'steps', 'impact', 'name', 'email', 'credit']) {
      fields[name] = value(name);
    }
    const body = new FormData();
    body.append('csrf', value('csrf'));
    body.append('encrypted_by', 'browser');
    body.append('armored', armor(await encrypt(new TextEncoder().encode(JSON.stringify(fields)))));
    for (const file of form.elements.attachment.files) {
      const sealed = await encrypt(new Uint8Array(await file.arrayBuffer()));
      body.append('attachment', new Blob([sealed], { type: 'application/octet-stream' }), file.name + '.pgp');
    }
    progress.textContent = 'Sending\u2026';
    const response = await fetch(form.action, { method: 'POST', body, credentials: 'same-origin' });
    const html = await response.text();
    const page = new DOMParser().parseFromString(html, 'text/html');
    if (response.ok) {
      document.replaceChild(document.adoptNode(page.documentElement), document.documentElement);
    } else {
      const error = page.querySelector('.error, main p');
      progress.textContent = error ? error.textContent : 'The report could not be sent (' + response.status + ').';
    }
  });
})();
