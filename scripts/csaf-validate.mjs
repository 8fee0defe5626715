// Runs the BSI CSAF validator library's CSAF 2.0 strict schema test and
// every mandatory test (section 6.1 of the standard) on each JSON file
// given, and prints one JSON line per file: {file, isValid, failures}.
// The library comes from the npm registry (scripts/test installs it); its
// location is passed in CSAF_VALIDATOR_LIB.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

const lib = process.env.CSAF_VALIDATOR_LIB
if (!lib) {
  console.error('CSAF_VALIDATOR_LIB must name the installed csaf-validator-lib folder')
  process.exit(2)
}
const load = (file) => import(pathToFileURL(path.join(lib, file)).href)
const validateStrict = (await load('validateStrict.js')).default
const mandatory = await load('mandatoryTests.js')
const { csaf_2_0_strict } = await load('schemaTests.js')
const tests = [csaf_2_0_strict, ...Object.values(mandatory)]

let allValid = true
for (const file of process.argv.slice(2)) {
  const doc = JSON.parse(readFileSync(file, 'utf8'))
  const result = await validateStrict(tests, doc)
  const failures = result.tests
    .filter((t) => !t.isValid)
    .map((t) => ({ test: t.name, errors: t.errors }))
  allValid = allValid && result.isValid
  console.log(JSON.stringify({ file, isValid: result.isValid, failures }))
}
process.exit(allValid ? 0 : 1)
