// OpenPGP.js (npm, installed by scripts/test) as an independent OpenPGP
// implementation for the tests: it checks what embargo's browser script
// and intake key produce without going through embargo's own decryptor.
// The library's folder is passed in OPENPGP_JS.
//
//   decrypt SECRET_KEY FILE...  one JSON line per file:
//                               {file, ok, data (base64) | error, seipd, aead}
//   prefs PUBLIC_KEY            the primary self-signature's AEAD ciphersuites
//   encrypt PUBLIC_KEY          stdin to an armored message on stdout, as
//                               OpenPGP.js picks from the key's preferences
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

const lib = process.env.OPENPGP_JS
if (!lib) {
  console.error('OPENPGP_JS must name the installed openpgp package folder')
  process.exit(2)
}
const openpgp = await import(pathToFileURL(path.join(lib, 'dist/node/openpgp.mjs')).href)
const [command, keyFile, ...files] = process.argv.slice(2)
const keyText = readFileSync(keyFile, 'utf8')

const read = (bytes) =>
  bytes.subarray(0, 10).toString() === '-----BEGIN'
    ? openpgp.readMessage({ armoredMessage: bytes.toString() })
    : openpgp.readMessage({ binaryMessage: new Uint8Array(bytes) })

if (command === 'decrypt') {
  const key = await openpgp.readPrivateKey({ armoredKey: keyText })
  for (const file of files) {
    try {
      const message = await read(readFileSync(file))
      const seipd = message.packets.find((p) => p.constructor.tag === openpgp.enums.packet.symEncryptedIntegrityProtectedData)
      const { data } = await openpgp.decrypt({ message, decryptionKeys: key, format: 'binary' })
      console.log(JSON.stringify({
        file,
        ok: true,
        data: Buffer.from(data).toString('base64'),
        seipd: seipd ? seipd.version : null,
        aead: seipd && seipd.aeadAlgorithm ? openpgp.enums.read(openpgp.enums.aead, seipd.aeadAlgorithm) : null,
      }))
    } catch (e) {
      console.log(JSON.stringify({ file, ok: false, error: String(e.message || e) }))
    }
  }
} else if (command === 'prefs') {
  const key = await openpgp.readKey({ armoredKey: keyText })
  const { selfCertification } = await key.getPrimaryUser()
  const suites = (selfCertification.preferredCipherSuites || []).map(([sym, aead]) => [
    openpgp.enums.read(openpgp.enums.symmetric, sym),
    openpgp.enums.read(openpgp.enums.aead, aead),
  ])
  console.log(JSON.stringify({ suites, seipdv2: Boolean(selfCertification.features && selfCertification.features[0] & openpgp.enums.features.seipdv2) }))
} else if (command === 'encrypt') {
  const key = await openpgp.readKey({ armoredKey: keyText })
  const text = readFileSync(0)
  const message = await openpgp.createMessage({ binary: new Uint8Array(text) })
  process.stdout.write(await openpgp.encrypt({ message, encryptionKeys: key }))
} else {
  console.error('usage: openpgpjs.mjs decrypt|prefs|encrypt KEY [FILE...]')
  process.exit(2)
}
