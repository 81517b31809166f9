import groovy.json.JsonSlurper
import java.security.KeyFactory
import java.security.MessageDigest
import java.security.Signature
import java.security.spec.X509EncodedKeySpec

def repo = new File(basedir, 'target/repo')
def log = new File(basedir, 'build.log').text

// The set's signature, checked with the JDK alone (DSSE PAE over the payload, Ed25519, the release key).
def envelope = new JsonSlurper().parse(new File(repo, 'sets/shop/1.0.0.json'))
def payload = envelope.payload.decodeBase64()
def type = 'application/vnd.upgradekit.release-set+json'
assert envelope.payloadType == type
def der = new File(basedir, 'target/keys/release.pem.pub').text.replaceAll(/-----[A-Z ]+-----/, '')
    .replaceAll(/\s/, '').decodeBase64()
def publicKey = KeyFactory.getInstance('Ed25519').generatePublic(new X509EncodedKeySpec(der))
def pae = new ByteArrayOutputStream()
pae.write("DSSEv1 ${type.getBytes('UTF-8').length} ${type} ${payload.length} ".getBytes('US-ASCII'))
pae.write(payload)
assert envelope.signatures[0].keyid == MessageDigest.getInstance('SHA-256').digest(der).encodeHex().toString()
def signature = Signature.getInstance('Ed25519')
signature.initVerify(publicKey)
signature.update(pae.toByteArray())
assert signature.verify(envelope.signatures[0].sig.decodeBase64()) : 'the set signature must verify'

def set = new JsonSlurper().parse(new String(payload, 'UTF-8').toCharArray())
assert set.type == 'release-set' && set.name == 'shop' && set.version == '1.0.0'
assert set.components.collect { "${it.app} ${it.version} after ${it.depends_on}" } ==
    ['database v2 after []', 'cache v2 after [database]', 'api v2 after [cache]', 'gateway v2 after [api]']
assert set.strategy == 'rolling' && set.rollback_policy == 'auto'
assert set.contracts == [[app: 'api', versions: '2.x', requires: 'cache', range: '>= 2.0']]

def summary = new JsonSlurper().parse(new File(basedir, 'target/upgrade/release-set.json'))
assert summary.status == 'published' && summary.order == ['database', 'cache', 'api', 'gateway']

// The preview: the order, waves of the controller's shape (3 nodes, half stay up: budget 1), durations.
def plan = new JsonSlurper().parse(new File(basedir, 'target/upgrade/plan.json'))
assert plan.kind == 'set' && plan.problems == []
assert plan.steps == [['database'], ['cache'], ['api'], ['gateway']]
plan.components.each { c ->
  assert c.source == 'published' && c.fleet == 3 && c.budget == 1
  assert c.waves.collect { it.nodes.size() } == [1, 1, 1]
  assert c.expectedSeconds == 3 * (60 + 120)
}
assert plan.components.find { it.app == 'gateway' }.startsAtSeconds == 3 * 540
assert plan.expectedSeconds == 4 * 540

// The cyclic descriptor failed before anything was written.
assert !new File(repo, 'sets/shop/2.0.0.json').exists()
assert log.contains('SET_CYCLE') && log.contains('database -> gateway -> api -> cache -> database')
true
