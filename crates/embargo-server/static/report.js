// embargo: the report form encrypts in the browser before anything is sent.
//
// Each message is an RFC 9580 OpenPGP message built on WebCrypto alone:
// a version 6 public-key encrypted session key packet for the team's X25519
// subkey (HKDF-SHA256, AES-128 key wrap; RFC 9580 section 5.1.6), then a
// version 2 symmetrically encrypted integrity protected data packet with
// AES-256-GCM (section 5.13.2) around a literal data packet and a padding
// packet (section 5.14) that rounds the plaintext up to a size bucket, so the
// request tells no one how long the report or a file is.
//
// What is sent: the form's fields and, for each attachment, its name and
// type, as one JSON message ("sealed"); each attachment's bytes as its own
// message under the neutral part name "attachment.pgp"; a message the
// reporter encrypted themselves ("armored") as it is. The server opens them
// with the intake key; the plaintext never leaves this page.
//
// Without JavaScript, or in a browser without X25519 in WebCrypto, the form
// is sent as it is, over HTTPS, and the server encrypts it on arrival; the
// page says so, and says which fields go that way when an encrypted message
// is pasted too.
'use strict';

(function () {
  const form = document.getElementById('report-form');
  if (!form) {
    return;
  }
  const note = document.getElementById('encryption-note');
  const armoredNote = document.getElementById('armored-note');
  const progress = document.getElementById('report-progress');
  const button = form.querySelector('button[type=submit]');
  const say = (el, text) => {
    if (el) {
      el.textContent = text;
    }
  };
  // The server renders the field list into the page: one list, no drift.
  const fieldNames = (form.dataset.fields || '').split(' ').filter((n) => n !== '');
  const maxFiles = Number(form.dataset.maxAttachments || 0);
  const maxFileBytes = Number(form.dataset.maxAttachmentBytes || 0);
  const maxTotalBytes = Number(form.dataset.maxMessageBytes || 0);
  const value = (name) => (form.elements[name] ? form.elements[name].value : '');
  const megabytes = (n) =>
    n >= 1024 * 1024 ? (n / (1024 * 1024)).toFixed(1) + ' MB' : Math.ceil(n / 1024) + ' KB (' + n + ' bytes)';

  // Server-side encryption: the form is posted as it is. When an encrypted
  // message is pasted beside other fields or files, those go over HTTPS
  // and are encrypted on arrival, not by the reporter: say which, once,
  // before anything is sent.
  let clearConfirmed = false;
  function inClear() {
    const named = [];
    for (const name of fieldNames) {
      const field = form.elements[name];
      if (field && field.value.trim() !== '') {
        const label = form.querySelector('label[for="' + field.id + '"]');
        named.push(label ? label.firstChild.textContent.trim() : name);
      }
    }
    const files = form.elements.attachment.files.length;
    if (files > 0) {
      named.push(files === 1 ? '1 attachment' : files + ' attachments');
    }
    return named;
  }
  function clearMode(why) {
    form.dataset.encrypts = 'no';
    say(note, why + ' Your report travels over HTTPS and is encrypted on arrival.');
    button.disabled = false;
  }

  if (!form.dataset.recipientKey || !window.crypto || !window.crypto.subtle) {
    form.addEventListener('submit', clearSubmit);
    clearMode('This browser cannot encrypt the report itself.');
    return;
  }
  const subtle = window.crypto.subtle;

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
  // getRandomValues fills at most 65536 bytes a call.
  const random = (n) => {
    const out = new Uint8Array(n);
    for (let at = 0; at < n; at += 65536) {
      window.crypto.getRandomValues(out.subarray(at, Math.min(n, at + 65536)));
    }
    return out;
  };
  // A new-format packet with a five-octet length.
  const packet = (tag, body) => concat(new Uint8Array([0xc0 | tag, 0xff]), u32(body.length), body);

  // The size a plaintext of n bytes is padded to: at least 4 KiB, then
  // Padmé (Nikitin et al., "Reducing Metadata Leakage from Encrypted Files
  // and Communication with PURBs", 2019): the mantissa keeps about log2 of
  // the exponent's bits, so the overhead stays under 12 % and a size
  // reveals O(log log n) bits.
  function bucket(n) {
    const size = Math.max(n, 4096);
    const e = Math.floor(Math.log2(size));
    const s = Math.floor(Math.log2(e)) + 1;
    const step = 2 ** (e - s);
    return Math.ceil(size / step) * step;
  }

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

  // Literal data (binary, no file name, no date), then padding to the bucket.
  async function encrypt(bytes) {
    const sessionKey = random(32);
    const literal = packet(11, concat(new Uint8Array([0x62, 0, 0, 0, 0, 0]), bytes));
    const padded = bucket(literal.length + 7);
    const padding = packet(21, random(padded - literal.length - 6));
    return concat(await pkesk(sessionKey), await seipd2(sessionKey, concat(literal, padding)));
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

  // Until the check below has decided, nothing can be sent: a report sent
  // then would go unencrypted without the reporter having been told.
  form.dataset.encrypts = 'checking';
  button.disabled = true;
  say(note, 'Checking whether this browser can encrypt your report before it is sent\u2026');
  subtle
    .generateKey({ name: 'X25519' }, true, ['deriveBits'])
    .then(() => {
      form.dataset.encrypts = 'yes';
      say(
        note,
        'Your report and its attachments, with their names, are encrypted in this browser to the team\u2019s key before they are sent.',
      );
      say(
        armoredNote,
        'Everything else on this form is encrypted in this browser as well, with your message inside.',
      );
      button.disabled = false;
    })
    .catch(() => clearMode('This browser cannot encrypt the report itself (its WebCrypto has no X25519).'));

  function clearSubmit(event) {
    if (form.elements.armored.value.trim() === '' || clearConfirmed) {
      return;
    }
    const named = inClear();
    if (named.length === 0) {
      return;
    }
    event.preventDefault();
    clearConfirmed = true;
    say(
      progress,
      'Your encrypted message is sent as it is, but these are not encrypted by you: ' +
        named.join(', ') +
        '. They travel over HTTPS and are encrypted on arrival. Press \u201cSend report\u201d again to send them so, or empty them first.',
    );
  }

  let sending = false;
  form.addEventListener('submit', async (event) => {
    if (form.dataset.encrypts === 'no') {
      clearSubmit(event);
      return;
    }
    event.preventDefault();
    if (form.dataset.encrypts !== 'yes') {
      say(progress, 'Still checking whether this browser can encrypt; nothing was sent.');
      return;
    }
    if (sending) {
      return;
    }
    sending = true;
    button.disabled = true;
    try {
      await send();
    } catch (error) {
      say(
        progress,
        'The report could not be encrypted and sent (' + error.message + '). Nothing went in clear; please try again.',
      );
    } finally {
      sending = false;
      button.disabled = false;
    }
  });

  async function send() {
    const armored = form.elements.armored.value.trim();
    if (armored === '') {
      for (const field of form.querySelectorAll('[data-required]')) {
        if (field.value.trim() === '') {
          say(progress, 'Please fill in: ' + form.querySelector('label[for="' + field.id + '"]').textContent);
          field.focus();
          return;
        }
      }
    }
    const files = Array.from(form.elements.attachment.files);
    if (files.length > maxFiles) {
      say(progress, 'At most ' + maxFiles + ' attachments are accepted.');
      return;
    }
    let total = 0;
    for (const file of files) {
      total += file.size;
      if (file.size > maxFileBytes) {
        say(progress, file.name + ' is ' + megabytes(file.size) + '; each attachment may be ' + megabytes(maxFileBytes) + '.');
        return;
      }
    }
    if (total > maxTotalBytes) {
      say(progress, 'The attachments are ' + megabytes(total) + ' in all; the limit is ' + megabytes(maxTotalBytes) + '.');
      return;
    }
    say(progress, 'Encrypting\u2026');
    const fields = {};
    for (const name of fieldNames) {
      fields[name] = value(name);
    }
    const manifest = {
      fields,
      files: files.map((f) => ({ name: f.name, type: f.type || 'application/octet-stream' })),
    };
    const body = new FormData();
    body.append('csrf', value('csrf'));
    body.append('encrypted_by', 'browser');
    body.append('sealed', armor(await encrypt(new TextEncoder().encode(JSON.stringify(manifest)))));
    if (armored !== '') {
      body.append('armored', armored);
    }
    for (const file of files) {
      const sealed = await encrypt(new Uint8Array(await file.arrayBuffer()));
      body.append('attachment', new Blob([sealed], { type: 'application/octet-stream' }), 'attachment.pgp');
    }
    say(progress, 'Sending\u2026');
    const response = await fetch(form.action, { method: 'POST', body, credentials: 'same-origin' });
    const html = await response.text();
    const page = new DOMParser().parseFromString(html, 'text/html');
    if (response.ok) {
      document.replaceChild(document.adoptNode(page.documentElement), document.documentElement);
    } else {
      const error = page.querySelector('.error, main p');
      say(progress, error ? error.textContent : 'The report could not be sent (' + response.status + ').');
    }
  }
})();
