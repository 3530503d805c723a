// The key-based peer of bench_verify.py: verify one key-based Sigstore bundle (a
// messageSignature, publicKey hint) with sigstore-js (@sigstore/verify), offline.
// Usage: node sigstore_js_verify.js ARTIFACT BUNDLE PUBLIC_KEY_PEM   (exit 0 = verified)
// The same work nebsign does: parse the bundle, find the trusted key by its hint (hex
// SHA-256 of the DER SubjectPublicKeyInfo), hash the artifact, check the digest and the
// signature. No transparency log or timestamp is required on either side.
'use strict';
const fs = require('fs');
const crypto = require('crypto');
const { bundleFromJSON } = require('@sigstore/bundle');
const { Verifier, toSignedEntity, toTrustMaterial } = require('@sigstore/verify');

const [artifactPath, bundlePath, pubPath] = process.argv.slice(2);
const pub = crypto.createPublicKey(fs.readFileSync(pubPath));
const keyId = crypto.createHash('sha256').update(pub.export({ type: 'spki', format: 'der' })).digest('hex');
const trust = toTrustMaterial(
  { certificateAuthorities: [], timestampAuthorities: [], tlogs: [], ctlogs: [] },
  (hint) => {
    if (hint !== keyId) throw new Error(`no trusted key for hint ${hint}`);
    return { publicKey: pub, validFor: () => true };
  },
);
const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(bundlePath)));
verifier.verify(toSignedEntity(bundle, fs.readFileSync(artifactPath)));
