import groovy.json.JsonSlurper
import java.security.KeyFactory
import java.security.MessageDigest
import java.security.Signature
import java.security.spec.X509EncodedKeySpec

def repo = new File(basedir, 'target/repo')
def log = new File(basedir, 'build.log').text

// The manifest's signature, checked here with the JDK alone (DSSE PAE over the payload, Ed25519,
// the release key keygen wrote), so the plan read below is the signed one.
def envelope = new JsonSlurper().parse(new File(repo, 'apps/rollout-plan/releases/1.0.0/release.json'))
def payload = envelope.payload.decodeBase64()
def type = 'application/vnd.upgradekit.release+json'
assert envelope.payloadType == type
def pem = new File(basedir, 'target/keys/release.pem.pub').text
def der = pem.replaceAll(/-----[A-Z ]+-----/, '').replaceAll(/\s/, '').decodeBase64()
def publicKey = KeyFactory.getInstance('Ed25519').generatePublic(new X509EncodedKeySpec(der))
def pae = new ByteArrayOutputStream()
pae.write("DSSEv1 ${type.getBytes('UTF-8').length} ${type} ${payload.length} ".getBytes('US-ASCII'))
pae.write(payload)
assert envelope.signatures.size() == 1
assert envelope.signatures[0].keyid == MessageDigest.getInstance('SHA-256').digest(der).encodeHex().toString()
def signature = Signature.getInstance('Ed25519')
signature.initVerify(publicKey)
signature.update(pae.toByteArray())
assert signature.verify(envelope.signatures[0].sig.decodeBase64()) : 'the manifest signature must verify'

def rollout = new JsonSlurper().parse(new String(payload, 'UTF-8').toCharArray()).rollout
assert rollout.strategy == 'batches'
assert rollout.canaryPercent == 10 && rollout.canaryNodes == null
assert rollout.minAvailablePercent == 75 && rollout.minAvailableNodes == null
assert rollout.bakeSeconds == 600
assert rollout.maxFailures == 1
assert rollout.approval == 'manual' : '-Dupgrade.rollout.approval overrides <approval>'
assert rollout.rollback == [mode: 'auto', errorRateFactor: 2.5, latencyFactor: 2.0, windowSeconds: 900, combine: 'any']
assert rollout.waveLabel == 'zone'

def summary = new JsonSlurper().parse(new File(basedir, 'target/upgrade/release.json'))
assert summary.status == 'published' && summary.rollout == rollout

assert log.contains('rollout: strategy batches, canary 10%, minAvailable 75%, bakeTime 10m, maxFailures 1,'
    + ' approval manual, rollbackPolicy auto (errorRateFactor 2.5, latencyFactor 2, window 15m, combine any),'
    + ' waveLabel zone')
assert log.contains('is sound') : 'upgrade:verify checks the signed manifest too'
true
